"""What the explorer holds while it serves: the models with their hierarchies and
memory maps, the data set, the classifier, and the fixed points to mark.

:func:`build_explorer` takes model *objects* (anything with ``encode``/``decode``), so
the explorer works on any protocol model; :mod:`latentdyn.explore.loading` builds it
from run folders.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import Tensor

from latentdyn.analysis import Hierarchy, build_hierarchy, pca_2d
from latentdyn.data import Dataset
from latentdyn.errors import ConfigError
from latentdyn.models.protocol import check_model

MAP_POINTS = 2000  # memories drawn on the map (a fixed, evenly spaced subset)


@dataclass
class MemoryMap:
    """The 2-D PCA map of the memories (Fig. A.1): ``points`` = (memories − mean) @ basis."""

    mean: Tensor  # (nz,)
    basis: Tensor  # (nz, 2) the first two principal directions
    points: Tensor  # (N, 2) every memory on the map
    explained: Tensor  # (2,) explained-variance ratios

    def project(self, z: Tensor) -> Tensor:
        """Latent points ``(..., nz)`` on the map, ``(..., 2)``."""
        return ((z.double() - self.mean) @ self.basis).float()


def memory_map(memories: Tensor) -> MemoryMap:
    """The map of :func:`latentdyn.analysis.pca_2d`, with the basis that places any
    other latent point (a trajectory, a fixed point) on it.

    ``pca_2d`` returns the embedding ``Xc @ W`` of the centred memories ``Xc``; the
    columns of ``W`` lie in the row space of ``Xc``, so the least-squares solution of
    ``Xc @ W = embedding`` is ``W`` itself, even when ``Xc`` is rank-deficient.
    """
    points, explained = pca_2d(memories)
    m = memories.double()
    mean = m.mean(0)
    basis = torch.linalg.lstsq(m - mean, points.double(), driver="gelsd").solution
    return MemoryMap(mean, basis, points.float(), explained.float())


@dataclass
class ModelEntry:
    """One served model: its name and kind, its hierarchy in its own latent space, the
    map of its memories, and the fixed points (``(F, nz)``) to mark, if any."""

    name: str
    kind: str
    model: Any
    hierarchy: Hierarchy
    map: MemoryMap
    fixed_points: Tensor | None = None
    fixed_info: list[dict] = field(default_factory=list)

    @property
    def nz(self) -> int:
        return self.hierarchy.nz


@dataclass
class Explorer:
    """Everything a request needs; ``lock`` serialises the computations (the models
    are shared, their train/eval state is switched per call)."""

    models: list[ModelEntry]
    data: Dataset
    classifier: Any | None = None
    classifier_name: str | None = None
    sources: list = field(default_factory=list)  # how each model was given (for the page's
    classifier_source: str | None = None  # command and Python call), when known
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def classes(self) -> list[int]:
        return [int(c) for c in torch.unique(self.data.train_labels)]

    def indices(self, split: str, label: int) -> Tensor:
        """Rows of ``split`` holding images of ``label``, in data-set order."""
        labels = self.data.train_labels if split == "train" else self.data.test_labels
        return (labels == int(label)).nonzero().flatten()


def build_explorer(models: Sequence[tuple[str, str, Any]], data: Dataset, classifier=None,
                   classifier_name: str | None = None,
                   fixed_points: Sequence[tuple[Tensor, list[dict]] | None] = ()) -> Explorer:
    """An explorer for ``models`` (``(name, kind, model)`` each) on ``data``: the
    hierarchy of every model over the training images, and its memory map.

    ``fixed_points[k]``: ``(points (F, nz), info per point)`` for model k, or None."""
    if not models:
        raise ConfigError("the explorer needs at least one model")
    entries = []
    for k, (name, kind, model) in enumerate(models):
        check_model(model)
        hier = build_hierarchy(model, data.train_images, data.train_labels)
        fp = fixed_points[k] if k < len(fixed_points) else None
        if fp is not None and fp[0].shape[1] != hier.nz:
            raise ConfigError(f"the fixed points for {name} have {fp[0].shape[1]} latent units "
                              f"but the model has {hier.nz}")
        entries.append(ModelEntry(name, kind, model, hier, memory_map(hier.memories),
                                  None if fp is None else fp[0].float(),
                                  [] if fp is None else list(fp[1])))
    return Explorer(entries, data, classifier, classifier_name)
