"""The hierarchy in latent space (paper 001, eqs. 8, 9, 12).

* memory ξ⁽ⁱ⁾_num = E_q[z | x⁽ⁱ⁾] of the i-th *training* image of label num (eq. 9);
* concept ξ̄_num = mean of the memories of that label (eq. 8);
* abstract concept ξ̄_all = mean of the concepts (eq. 12) -- every label weighs the
  same, so with unbalanced classes this is *not* the mean of all memories.

:func:`hierarchy_from_latents` is a pure function of tensors; :func:`build_hierarchy`
is the only place in :mod:`latentdyn.analysis` that touches a model, and it does so
through :func:`latentdyn.models.protocol.latent_mean` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from latentdyn.checks import as_float, as_labels, need_rows
from latentdyn.errors import ConfigError
from latentdyn.models.inference import inference_mode
from latentdyn.models.protocol import check_model, latent_mean, model_device


@dataclass
class Hierarchy:
    """Memories, concepts and the abstract concept of one latent space.

    ``memories`` (N, nz), ``labels`` (N,) int64, ``classes`` (K,) int64 sorted,
    ``concepts`` (K, nz) with row k the concept of ``classes[k]``, ``abstract`` (nz,).
    """

    memories: Tensor
    labels: Tensor
    classes: Tensor
    concepts: Tensor
    abstract: Tensor

    @property
    def nz(self) -> int:
        return int(self.memories.shape[1])

    @property
    def num_classes(self) -> int:
        return int(self.classes.shape[0])

    def index_of(self, label) -> int:
        """Row of ``concepts`` that holds the concept of ``label``."""
        hits = (self.classes == int(label)).nonzero()
        if hits.numel() == 0:
            raise ConfigError(f"label {label} is not one of the classes "
                              f"{self.classes.tolist()}")
        return int(hits[0, 0])

    def concept(self, label) -> Tensor:
        """ξ̄_label, shape (nz,)."""
        return self.concepts[self.index_of(label)]

    def memories_of(self, label) -> Tensor:
        """The memories ξ⁽ⁱ⁾_label, shape (N_label, nz)."""
        self.index_of(label)
        return self.memories[self.labels == int(label)]

    def concepts_for(self, labels) -> Tensor:
        """The concept of each label in ``labels`` (n,), shape (n, nz)."""
        labels = as_labels(labels).to(self.classes.device)
        rows = torch.searchsorted(self.classes, labels)
        rows = rows.clamp(max=self.num_classes - 1)
        bad = self.classes[rows] != labels
        if bool(bad.any()):
            raise ConfigError(f"label {int(labels[bad][0])} is not one of the classes "
                              f"{self.classes.tolist()}")
        return self.concepts[rows]

    def to(self, device) -> "Hierarchy":
        return Hierarchy(*(t.to(device) for t in (self.memories, self.labels, self.classes,
                                                  self.concepts, self.abstract)))


def hierarchy_from_latents(memories, labels, classes=None) -> Hierarchy:
    """Concepts (eq. 8) and the abstract concept (eq. 12) of the given memories.

    ``memories`` (N, nz) are E_q[z | x] of training images, ``labels`` (N,) their labels.
    ``classes`` (optional) lists the labels expected; a listed class without memories
    is an error (its concept would be undefined). By default the classes are the labels
    present. Means are taken in float64 and returned in the memories' dtype.
    """
    memories = as_float(memories, "memories", 2)
    labels = as_labels(labels).to(memories.device)
    need_rows(memories, 1, "memories")
    if labels.shape[0] != memories.shape[0]:
        raise ConfigError(f"memories has {memories.shape[0]} rows but labels has "
                          f"{labels.shape[0]}")
    present = torch.unique(labels)
    if classes is None:
        classes = present
    else:
        classes = torch.unique(as_labels(classes, "classes").to(memories.device))
        missing = classes[~torch.isin(classes, present)]
        if missing.numel():
            raise ConfigError(f"class(es) {missing.tolist()} have no memories; a concept "
                              "is the mean of at least one memory")
        extra = present[~torch.isin(present, classes)]
        if extra.numel():
            raise ConfigError(f"labels {extra.tolist()} are not among classes "
                              f"{classes.tolist()}")
    rows = torch.searchsorted(classes, labels)
    m64 = memories.double()
    sums = torch.zeros(len(classes), m64.shape[1], dtype=torch.float64, device=m64.device)
    sums.index_add_(0, rows, m64)
    counts = torch.bincount(rows, minlength=len(classes)).to(torch.float64)
    concepts64 = sums / counts[:, None]
    abstract64 = concepts64.mean(0)
    return Hierarchy(memories=memories, labels=labels, classes=classes,
                     concepts=concepts64.to(memories.dtype),
                     abstract=abstract64.to(memories.dtype))


def build_hierarchy(model, images, labels, batch_size: int = 2048, device=None,
                    classes=None) -> Hierarchy:
    """Encode the *training* ``images`` to memories E_q[z | x] (eq. 9), then concepts.

    Batched, in :func:`~latentdyn.models.inference.inference_mode` (eval mode, no
    gradients, train/eval states restored afterwards). ``device`` defaults to the model's; the
    returned tensors are on the CPU.
    """
    check_model(model)
    if isinstance(images, np.ndarray) or not isinstance(images, Tensor):
        images = torch.as_tensor(np.asarray(images))
    if images.dim() < 2 or images.shape[0] == 0:
        raise ConfigError(f"images must be (N, ...) with N > 0, got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        images = images.float()
    if not bool(torch.isfinite(images).all()):
        raise ConfigError("images contain NaN or infinite values")
    labels = as_labels(labels)
    if labels.shape[0] != images.shape[0]:
        raise ConfigError(f"images has {images.shape[0]} rows but labels has {labels.shape[0]}")
    if int(batch_size) < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device) if device is not None else model_device(model)
    with inference_mode(model):
        parts = [latent_mean(model, images[i:i + batch_size].to(device)).detach().cpu()
                 for i in range(0, images.shape[0], int(batch_size))]
    memories = torch.cat(parts, 0)
    if memories.dim() != 2 or memories.shape[0] != images.shape[0]:
        raise ConfigError(f"encode() gave latent means of shape {tuple(memories.shape)}; "
                          f"expected ({images.shape[0]}, nz)")
    if not bool(torch.isfinite(memories).all()):
        raise ConfigError(f"{type(model).__name__}.encode gives non-finite latent means (NaN "
                          "or inf) for the training images: the model's weights are damaged "
                          "or too large")
    return hierarchy_from_latents(memories, labels.cpu(), classes=classes)


def posterior_logvars(model, images, batch_size: int = 2048) -> Tensor | None:
    """log Var_q[z | x] of the training ``images`` (N, nz) on the CPU, for the per-unit KL
    criterion of the active units; None when ``encode`` gives only a mean."""
    check_model(model)
    images = torch.as_tensor(np.asarray(images)) if not isinstance(images, Tensor) else images
    if images.dim() < 2 or images.shape[0] == 0:
        raise ConfigError(f"images must be (N, ...) with N > 0, got shape {tuple(images.shape)}")
    device = model_device(model)
    parts = []
    with inference_mode(model):
        for i in range(0, images.shape[0], int(batch_size)):
            encoded = model.encode(images[i:i + batch_size].float().to(device))
            if not isinstance(encoded, (tuple, list)) or len(encoded) < 2:
                return None
            parts.append(encoded[1].detach().cpu())
    return torch.cat(parts, 0)
