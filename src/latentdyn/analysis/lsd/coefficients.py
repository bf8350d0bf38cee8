"""LSD coefficients of latents in a basis of quasi-eigenvectors: c_i = ⟨z, ξ_i⟩, the
reconstruction z = Σ c_i ξ_i / ‖ξ_i‖², truncation to the k largest |c_i|, LSD
classification (argmax |c_i| over all nz coefficients), the abstract's label-sub-space
fraction, and the rank of the true label."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from latentdyn.analysis.lsd.basis import QuasiEigenbasis
from latentdyn.checks import as_float, as_labels
from latentdyn.errors import ConfigError


def _basis_vectors(basis) -> Tensor:
    if isinstance(basis, QuasiEigenbasis):
        return basis.vectors
    v = as_float(basis, "basis", 2)
    if v.shape[0] != v.shape[1]:
        raise ConfigError(f"a basis must be square (nz, nz), got {tuple(v.shape)}")
    return v.double()


def coefficients(z, basis) -> Tensor:
    """LSD coefficients c_i = ⟨z, ξ_i⟩ of ``z`` (..., nz), shape (..., nz), computed in
    float64 and returned in z's floating dtype."""
    z = as_float(z, "z")
    v = _basis_vectors(basis).to(z.device)
    if z.shape[-1] != v.shape[1]:
        raise ConfigError(f"z has {z.shape[-1]} latent units but the basis {v.shape[1]}")
    return (z.double() @ v.T).to(z.dtype)


def reconstruct(c, basis) -> Tensor:
    """z = Σ c_i ξ_i / ‖ξ_i‖² from coefficients ``c`` (..., nz) (exact for any basis of
    mutually orthogonal vectors; ‖ξ_i‖ = 1 for a :class:`QuasiEigenbasis`)."""
    c = as_float(c, "c")
    v = _basis_vectors(basis).to(c.device)
    if c.shape[-1] != v.shape[0]:
        raise ConfigError(f"c has {c.shape[-1]} coefficients but the basis {v.shape[0]} vectors")
    sq = (v * v).sum(1)
    return ((c.double() / sq) @ v).to(c.dtype)


def truncate(c, k: int) -> Tensor:
    """Keep the ``k`` largest |c_i| of each row of ``c`` (n, nz), zero the others (ties
    broken by torch.topk's order)."""
    c = as_float(c, "c", (1, 2))
    k = int(k)
    if not 1 <= k <= c.shape[-1]:
        raise ConfigError(f"k must be in [1, {c.shape[-1]}], got {k}")
    idx = torch.topk(c.abs(), k, dim=-1).indices
    mask = torch.zeros_like(c, dtype=torch.bool).scatter_(-1, idx, True)
    return torch.where(mask, c, torch.zeros_like(c))


@dataclass
class LSDClassification:
    """``index`` (n,): argmax_i |c_i| over all nz coefficients; ``in_label``: whether it
    falls in the label sub-space (index < K); ``label``: the class tied to it (-1 when
    it is a completing vector)."""

    index: Tensor
    in_label: Tensor
    label: Tensor


def _label_map(basis_or_k) -> tuple[int, Tensor | None]:
    if isinstance(basis_or_k, QuasiEigenbasis):
        return basis_or_k.num_label, basis_or_k.classes
    k = int(basis_or_k)
    if k < 0:
        raise ConfigError(f"K must be >= 0, got {k}")
    return k, None


def lsd_classify(c, basis_or_k) -> LSDClassification:
    """LSD classification of coefficients ``c`` (n, nz): argmax_i |c_i|. ``basis_or_k``:
    the :class:`QuasiEigenbasis` or K (then vector k < K stands for class k)."""
    c = as_float(c, "c", 2)
    k, classes = _label_map(basis_or_k)
    index = c.abs().argmax(1)
    in_label = index < k
    if classes is None:
        label = torch.where(in_label, index, torch.full_like(index, -1))
    else:
        lookup = torch.full((c.shape[1],), -1, dtype=torch.int64, device=c.device)
        lookup[:k] = classes.to(c.device)
        label = lookup[index]
    return LSDClassification(index=index, in_label=in_label, label=label)


def label_subspace_fraction(c, basis_or_k) -> float:
    """Fraction of rows of ``c`` whose largest |c_i| is on a label vector (i < K)."""
    cls = lsd_classify(c, basis_or_k)
    return float(cls.in_label.double().mean()) if cls.index.numel() else float("nan")


def true_label_rank(c, labels, basis_or_k) -> Tensor:
    """(n,) int64: rank (1 = largest) of |c| on the true label's vector among all nz
    |c_i|; -1 where the label has no tied vector."""
    c = as_float(c, "c", 2)
    labels = as_labels(labels).to(c.device)
    k, classes = _label_map(basis_or_k)
    if labels.shape[0] != c.shape[0]:
        raise ConfigError(f"c has {c.shape[0]} rows but labels has {labels.shape[0]}")
    if classes is None:
        classes = torch.arange(k, device=c.device)
    col = torch.full_like(labels, -1)
    for row, cls in enumerate(classes.tolist()):
        col[labels == cls] = row
    a = c.abs()
    ok = col >= 0
    own = a.gather(1, col.clamp(min=0)[:, None])
    rank = (a > own).sum(1) + 1
    return torch.where(ok, rank, torch.full_like(rank, -1))


def lsd_statistics(c, labels, basis_or_k) -> dict:
    """Summary of LSD on labelled data: ``n``, ``label_subspace_fraction`` (the
    abstract's claim), ``lsd_accuracy`` (argmax |c_i| is the true label's vector),
    ``rank_counts`` (rank -> count of the true label's rank; -1 = no tied vector),
    ``mean_rank``, ``top_k_accuracy`` for k = 1, 2, 3, 5, 10, and per class the
    label-sub-space fraction and accuracy."""
    c = as_float(c, "c", 2)
    labels = as_labels(labels).to(c.device)
    cls = lsd_classify(c, basis_or_k)
    rank = true_label_rank(c, labels, basis_or_k)
    n = int(c.shape[0])
    ranked = rank[rank > 0].double()
    per_class = {}
    for lab in torch.unique(labels).tolist():
        m = labels == lab
        per_class[int(lab)] = {
            "n": int(m.sum()),
            "label_subspace_fraction": float(cls.in_label[m].double().mean()),
            "lsd_accuracy": float((cls.label[m] == lab).double().mean()),
        }
    values, counts = torch.unique(rank, return_counts=True)
    return {
        "n": n,
        "label_subspace_fraction": float(cls.in_label.double().mean()) if n else float("nan"),
        "lsd_accuracy": float((cls.label == labels).double().mean()) if n else float("nan"),
        "rank_counts": {int(v): int(k) for v, k in zip(values.tolist(), counts.tolist())},
        "mean_rank": float(ranked.mean()) if ranked.numel() else float("nan"),
        "top_k_accuracy": {kk: float(((rank > 0) & (rank <= kk)).double().mean()) if n
                           else float("nan") for kk in (1, 2, 3, 5, 10)},
        "per_class": per_class,
    }
