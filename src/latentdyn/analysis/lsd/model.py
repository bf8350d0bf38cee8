"""LSD of a model: latent vectors labelled by a classifier's reading of their
decodings, the basis built from them, truncation denoising, and the LSD summary of a
labelled test set (:func:`analyse`). These call the model (batched, in eval mode,
without gradients); everything else in :mod:`latentdyn.analysis.lsd` is a pure
function of tensors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch
from torch import Tensor

from latentdyn.analysis.geometry import cosine_matrix
from latentdyn.analysis.hierarchy import hierarchy_from_latents
from latentdyn.analysis.lsd.basis import QuasiEigenbasis, quasi_eigenvectors
from latentdyn.analysis.lsd.coefficients import (
    coefficients,
    lsd_statistics,
    reconstruct,
    truncate,
)
from latentdyn.checks import as_float, as_generator, as_labels
from latentdyn.errors import ConfigError
from latentdyn.models.inference import decode_all, encode_all, latent_dim, predict_labels
from latentdyn.models.protocol import check_model

DEFAULT_KS = (1, 2, 3, 4, 10)
SOURCE_ENCODER = 0
SOURCE_PRIOR = 1


@dataclass
class LabelledLatents:
    """Latent vectors ``z`` (N, nz) with their classes C(decode(z)) (N,) and ``source``
    (N,) int64: 0 from the encoder over images, 1 from prior samples."""

    z: Tensor
    classes: Tensor
    source: Tensor
    num_classes: int
    prior_drawn: int = 0

    def counts(self) -> list[int]:
        return torch.bincount(self.classes, minlength=self.num_classes).tolist()


def collect_latents(model, classifier, images: Tensor | None = None, n_prior: int = 20000,
                    *, num_classes: int = 10, max_per_class: int = 5000,
                    batch_size: int = 1000, generator: torch.Generator | int | None = None,
                    nz: int | None = None,
                    prior: Callable[[int, torch.Generator | None], Tensor] | None = None,
                    progress: bool = False) -> LabelledLatents:
    """Latent vectors labelled by the classifier's reading of their decodings.

    First z = E(x) over ``images`` (the training set), then z ~ N(0, I) (or
    ``prior(n, generator)``) in batches until every class has ``max_per_class`` vectors
    or ``n_prior`` samples were drawn; each z is labelled C(decode(z)) and kept while
    its class has fewer than ``max_per_class``. Prior samples are drawn on the CPU from
    ``generator`` (an int seeds one), so the result does not depend on the device.
    """
    check_model(model)
    max_per_class = int(max_per_class)
    if max_per_class < 1:
        raise ConfigError(f"max_per_class must be >= 1, got {max_per_class}")
    n_prior = int(n_prior)
    if n_prior < 0:
        raise ConfigError(f"n_prior must be >= 0, got {n_prior}")
    if images is None and n_prior == 0:
        raise ConfigError("collect_latents needs images or prior samples (n_prior > 0)")
    generator = as_generator(generator)
    zs, cs, ss = [], [], []
    counts = torch.zeros(num_classes, dtype=torch.int64)

    def take(z: Tensor, source: int) -> None:
        cls = predict_labels(classifier, decode_all(model, z, batch_size), batch_size)
        if cls.numel() and (int(cls.min()) < 0 or int(cls.max()) >= num_classes):
            raise ConfigError(f"the classifier predicted class {int(cls.max())}, outside "
                              f"[0, {num_classes}); set num_classes")
        onehot = torch.nn.functional.one_hot(cls, num_classes)
        rank = (onehot.cumsum(0) * onehot).sum(1) - 1 + counts[cls]
        keep = rank < max_per_class
        counts.add_(torch.bincount(cls[keep], minlength=num_classes))
        zs.append(z[keep].cpu())
        cs.append(cls[keep])
        ss.append(torch.full((int(keep.sum()),), source, dtype=torch.int64))

    from tqdm.auto import tqdm

    if images is not None:
        x = as_float(images, "images")
        for s in tqdm(range(0, x.shape[0], batch_size), disable=not progress,
                      desc="encode", unit="batch"):
            take(encode_all(model, x[s:s + batch_size], batch_size), SOURCE_ENCODER)
            if bool((counts >= max_per_class).all()):
                break
    drawn = 0
    if n_prior:
        nz = int(nz) if nz is not None else latent_dim(
            model, None if images is None else as_float(images, "images")[:2])
        with tqdm(total=n_prior, disable=not progress, desc="prior", unit="z") as bar:
            while drawn < n_prior and not bool((counts >= max_per_class).all()):
                m = min(batch_size, n_prior - drawn)
                z = (prior(m, generator) if prior is not None
                     else torch.randn((m, nz), generator=generator))
                take(z.float().cpu(), SOURCE_PRIOR)
                drawn += m
                bar.update(m)
    if not zs:
        raise ConfigError("no latent vectors were collected")
    return LabelledLatents(z=torch.cat(zs), classes=torch.cat(cs), source=torch.cat(ss),
                           num_classes=num_classes, prior_drawn=drawn)


def basis_from_model(model, classifier, images: Tensor | None = None, n_prior: int = 20000,
                     *, num_classes: int = 10, max_per_class: int = 5000,
                     batch_size: int = 1000, generator=None, require_all: bool = False,
                     progress: bool = False) -> QuasiEigenbasis:
    """:func:`collect_latents` then :func:`quasi_eigenvectors`."""
    lat = collect_latents(model, classifier, images, n_prior, num_classes=num_classes,
                          max_per_class=max_per_class, batch_size=batch_size,
                          generator=generator, progress=progress)
    return basis_from_latents(lat, max_per_class, require_all=require_all)


def basis_from_latents(lat: LabelledLatents, max_per_class: int = 5000, *,
                       require_all: bool = False) -> QuasiEigenbasis:
    """:func:`quasi_eigenvectors` of labelled latents, with where they came from in its
    ``meta`` (what :func:`basis_from_model` returns, for callers that keep the latents,
    e.g. for the shuffled-label null of :mod:`~latentdyn.analysis.lsd.nulls`)."""
    basis = quasi_eigenvectors(lat.z, lat.classes, lat.num_classes, max_per_class,
                               require_all=require_all)
    basis.meta.update({
        "from_encoder": int((lat.source == SOURCE_ENCODER).sum()),
        "from_prior": int((lat.source == SOURCE_PRIOR).sum()),
        "prior_drawn": lat.prior_drawn,
    })
    return basis


def lsd_truncations(model, basis: QuasiEigenbasis, x: Tensor, ks: Iterable[int] = DEFAULT_KS,
                    batch_size: int = 1000) -> dict[int, Tensor]:
    """k -> decode(z_k) (n, D), z_k keeping the k largest |c_i| of z = E(x)."""
    ks = [int(k) for k in ks]
    z = encode_all(model, x, batch_size)
    c = coefficients(z.double(), basis)
    return {k: decode_all(model, reconstruct(truncate(c, k), basis).to(z.dtype), batch_size)
            for k in ks}


def denoise_lsd(model, basis: QuasiEigenbasis, x: Tensor, k: int,
                batch_size: int = 1000) -> Tensor:
    """LSD denoising: decode(z_k), z_k keeping the k largest |c_i| of z = E(x)."""
    return lsd_truncations(model, basis, x, (k,), batch_size)[int(k)]


# ------------------------------------------------------------------- LSD of a test set
def concept_comparison(basis: QuasiEigenbasis, concepts, concept_classes) -> dict:
    """Cosine matrices between the model's concepts (means of E(x) by true label, paper
    001 eq. 8) and its class means / quasi-eigenvectors, rows = concepts, columns =
    the basis' classes; with their mean diagonals (matched classes)."""
    con = as_float(concepts, "concepts", 2).double()
    cc = as_labels(concept_classes, "concept_classes").tolist()
    units = lambda m: m / torch.linalg.vector_norm(m, dim=1, keepdim=True)  # noqa: E731
    to_means = (units(con) @ units(basis.class_means).T).clamp(-1, 1)
    to_vecs = (units(con) @ basis.vectors[: basis.num_label].T).clamp(-1, 1)
    bcls = basis.classes.tolist()
    pairs = [(r, bcls.index(c)) for r, c in enumerate(cc) if c in bcls]

    def diag(m: Tensor) -> float:
        return float(np.mean([float(m[r, k]) for r, k in pairs])) if pairs else float("nan")

    return {
        "concept_classes": cc,
        "basis_classes": bcls,
        "cos_concepts_class_means": to_means.tolist(),
        "cos_concepts_quasi_eigenvectors": to_vecs.tolist(),
        "mean_matched_cos_class_means": diag(to_means),
        "mean_matched_cos_quasi_eigenvectors": diag(to_vecs),
        "cos_concepts": cosine_matrix(con).tolist(),
    }


def analyse(model, classifier, train_images: Tensor, test_images: Tensor, test_labels: Tensor,
            train_labels: Tensor | None = None, *, n_prior: int = 20000,
            max_per_class: int = 5000, num_classes: int = 10, batch_size: int = 1000,
            generator=0, basis: QuasiEigenbasis | None = None,
            progress: bool = False) -> tuple[QuasiEigenbasis, dict]:
    """The LSD of a model on a data set: the basis (built from ``train_images`` and
    ``n_prior`` prior samples unless ``basis`` is given) and a JSON-able summary --
    the label-sub-space fraction and LSD accuracy on the test images, the rank of the
    true label, the classifier's accuracy on the test images and on their
    reconstructions, the Gram matrices, the mean |c_i| per vector, and (with
    ``train_labels``) the cosines between the model's concepts (paper 001: means of
    E(x) by true label) and its quasi-eigenvectors."""
    from latentdyn.analysis.geometry import mean_abs_offdiagonal

    if basis is None:
        basis = basis_from_model(model, classifier, train_images, n_prior,
                                 num_classes=num_classes, max_per_class=max_per_class,
                                 batch_size=batch_size, generator=generator, progress=progress)
    test_labels = as_labels(test_labels)
    z = encode_all(model, test_images, batch_size)
    c = coefficients(z.double(), basis)
    stats = lsd_statistics(c, test_labels, basis)
    recon = decode_all(model, z, batch_size)
    k = basis.num_label
    gram_v = basis.gram_vectors(basis.nz)
    summary = {
        "nz": basis.nz,
        "num_label_vectors": k,
        "classes": basis.classes.tolist(),
        "missing_classes": basis.missing_classes,
        "latents_per_class": basis.counts.tolist(),
        "basis_sources": {key: basis.meta[key] for key in ("from_encoder", "from_prior",
                                                           "prior_drawn") if key in basis.meta},
        "max_per_class": int(basis.meta.get("max_per_class", max_per_class)),
        "test": {key: stats[key] for key in ("n", "label_subspace_fraction", "lsd_accuracy",
                                            "mean_rank", "top_k_accuracy", "rank_counts",
                                            "per_class")},
        "classifier_accuracy": {
            "test_images": float((predict_labels(classifier, test_images, batch_size)
                                  == test_labels).double().mean()),
            "reconstructions": float((predict_labels(classifier, recon, batch_size)
                                      == test_labels).double().mean()),
        },
        "gram": {
            "class_means_cosine": basis.gram_means().tolist() if k else [],
            "class_means_mean_abs_offdiagonal":
                mean_abs_offdiagonal(basis.gram_means()) if k >= 2 else float("nan"),
            "basis_max_deviation_from_identity":
                float((gram_v - torch.eye(basis.nz, dtype=gram_v.dtype)).abs().max()),
        },
        "mean_abs_coefficient": c.abs().mean(0).tolist(),
    }
    if train_labels is not None:
        h = hierarchy_from_latents(encode_all(model, train_images, batch_size).double(),
                                   as_labels(train_labels))
        summary["concepts"] = concept_comparison(basis, h.concepts, h.classes)
    return basis, summary
