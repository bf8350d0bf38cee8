"""The quasi-eigenvectors (paper 004, SPEC §3): per-class means of latent vectors
labelled by C(G(z)), orthonormalised in float64 (Householder QR with signs fixed, so
that ξ_i is positively aligned with class mean i: classical Gram–Schmidt's result,
computed stably) and completed to a full orthonormal basis of R^nz; saved and loaded as
safetensors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from latentdyn.analysis.geometry import cosine_matrix
from latentdyn.analysis.hierarchy import hierarchy_from_latents
from latentdyn.checks import as_float, as_labels
from latentdyn.errors import CheckpointError, ConfigError


@dataclass
class QuasiEigenbasis:
    """A full orthonormal basis of R^nz whose first K vectors are tied to classes.

    ``vectors`` (nz, nz) float64: row i is ξ_i; rows ``0..K-1`` are the orthonormalised
    class means, row k tied to ``classes[k]``; rows ``K..nz-1`` complete the basis.
    ``class_means`` (K, nz) float64: the raw per-class means (for Gram-matrix figures).
    ``classes`` (K,) int64 sorted; ``counts`` (K,) int64: latent vectors per class.
    ``num_classes``: the classifier's number of classes (classes with no latent vector
    have no tied vector; see :attr:`missing_classes`).
    """

    vectors: Tensor
    class_means: Tensor
    classes: Tensor
    counts: Tensor
    num_classes: int
    meta: dict = field(default_factory=dict)

    @property
    def nz(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def num_label(self) -> int:
        """K, the dimension of the label sub-space (the first K vectors)."""
        return int(self.classes.shape[0])

    @property
    def missing_classes(self) -> list[int]:
        present = set(self.classes.tolist())
        return [c for c in range(self.num_classes) if c not in present]

    @property
    def vector_labels(self) -> Tensor:
        """(nz,) int64: the class tied to each vector, -1 for the completing vectors."""
        out = torch.full((self.nz,), -1, dtype=torch.int64)
        out[: self.num_label] = self.classes
        return out

    def index_of(self, label: int) -> int:
        """Index of the vector tied to class ``label``."""
        hits = (self.classes == int(label)).nonzero()
        if hits.numel() == 0:
            raise ConfigError(f"class {label} has no quasi-eigenvector (classes with one: "
                              f"{self.classes.tolist()})")
        return int(hits[0, 0])

    def gram_means(self) -> Tensor:
        """(K, K) cosine similarities of the raw class means."""
        return cosine_matrix(self.class_means)

    def gram_vectors(self, k: int | None = None) -> Tensor:
        """(k, k) Gram matrix ξ_i·ξ_j of the first ``k`` vectors (default K): ≈ identity."""
        v = self.vectors[: self.num_label if k is None else int(k)]
        return v @ v.T

    def to_tensors(self) -> dict[str, Tensor]:
        return {"vectors": self.vectors, "class_means": self.class_means,
                "classes": self.classes, "counts": self.counts}


def quasi_eigenvectors(latents, classes, num_classes: int = 10, max_per_class: int = 5000,
                       *, require_all: bool = False, tol: float = 1e-8) -> QuasiEigenbasis:
    """Quasi-eigenvectors from latent vectors ``latents`` (N, nz) labelled ``classes`` (N,)
    by a classifier of their decodings, C(G(z)).

    The first ``max_per_class`` vectors of each class (in the given order: put the
    encoder's latents before the prior samples, as :func:`collect_latents` does) are
    averaged; the K class means (K = classes present, sorted) are orthonormalised in
    float64 by Householder QR with the signs fixed so that R_kk > 0 -- the Gram–Schmidt
    vectors, ξ_k ∈ span(m_0..m_k) with ⟨ξ_k, m_k⟩ > 0, computed stably -- then the basis
    is completed deterministically by pivoted Gram–Schmidt (twice) of the standard basis
    vectors projected off the label sub-space. A class without latents is an error with
    ``require_all``, else it simply has no tied vector. Class means that are (nearly)
    linearly dependent (residual below ``tol`` × ‖m_k‖) are an error.
    """
    z = as_float(latents, "latents", 2)
    labels = as_labels(classes, "classes").to(z.device)
    if labels.shape[0] != z.shape[0]:
        raise ConfigError(f"latents has {z.shape[0]} rows but classes has {labels.shape[0]}")
    if z.shape[0] == 0:
        raise ConfigError("no latent vectors to average")
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ConfigError(f"num_classes must be >= 1, got {num_classes}")
    if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        raise ConfigError(f"classes must lie in [0, {num_classes}), got "
                          f"[{int(labels.min())}, {int(labels.max())}]")
    keep = first_per_class(labels, max_per_class)
    z, labels = z[keep], labels[keep]
    h = hierarchy_from_latents(z.double().cpu(), labels.cpu())
    present, means = h.classes, h.concepts
    counts = torch.bincount(labels.cpu(), minlength=num_classes)[present]
    missing = [c for c in range(num_classes) if c not in set(present.tolist())]
    if missing and require_all:
        raise ConfigError(f"class(es) {missing} got no latent vectors; draw more prior "
                          "samples or check the classifier")
    vectors = orthonormal_completion(means, tol=tol)
    return QuasiEigenbasis(vectors=vectors, class_means=means, classes=present.long(),
                           counts=counts.long(), num_classes=num_classes,
                           meta={"max_per_class": int(max_per_class)})


def orthonormal_completion(vectors, tol: float = 1e-8) -> Tensor:
    """(nz, nz) float64 orthonormal rows: the Gram–Schmidt vectors of the K rows of
    ``vectors`` (K, nz) (signs fixed so row k is positively aligned with input row k),
    then nz − K vectors completing the basis (see :func:`quasi_eigenvectors`)."""
    m = as_float(vectors, "vectors", 2).double().cpu()
    k, nz = m.shape
    if k > nz:
        raise ConfigError(f"{k} class means cannot be orthonormalised in a {nz}-dimensional "
                          "latent space; LSD needs nz >= the number of classes")
    norms = torch.linalg.vector_norm(m, dim=1)
    if k and bool((norms == 0).any()):
        raise ConfigError(f"class mean(s) {(norms == 0).nonzero().flatten().tolist()} are the "
                          "zero vector")
    if k:
        q, r = torch.linalg.qr(m.T, mode="reduced")  # (nz, k), (k, k)
        diag = torch.diagonal(r)
        bad = (diag.abs() <= tol * norms).nonzero().flatten().tolist()
        if bad:
            raise ConfigError(f"class mean(s) {bad} are (nearly) linear combinations of the "
                              "earlier ones; their quasi-eigenvectors are undefined")
        q = q * torch.sign(diag)[None, :]
        label_part = q.T.contiguous()
        # one more projection pass keeps the label rows orthonormal to machine precision
        label_part = _reorthonormalise(label_part)
    else:
        label_part = torch.zeros(0, nz, dtype=torch.float64)
    rest = _complete(label_part, nz)
    return torch.cat([label_part, rest], 0)


def _reorthonormalise(rows: Tensor) -> Tensor:
    out = rows.clone()
    for i in range(out.shape[0]):
        v = out[i]
        for _ in range(2):
            v = v - out[:i].T @ (out[:i] @ v)
        out[i] = v / torch.linalg.vector_norm(v)
    return out


def _complete(q: Tensor, nz: int) -> Tensor:
    """Rows completing the orthonormal rows ``q`` to a basis of R^nz: pivoted modified
    Gram–Schmidt (twice) on the residuals of e_0..e_{nz-1}; row picked from e_j has a
    positive j-th component. Deterministic."""
    need = nz - q.shape[0]
    if need == 0:
        return torch.zeros(0, nz, dtype=torch.float64)
    resid = torch.eye(nz, dtype=torch.float64)
    for _ in range(2):
        resid = resid - (resid @ q.T) @ q
    out = []
    for _ in range(need):
        norms = torch.linalg.vector_norm(resid, dim=1)
        j = int(torch.argmax(norms))
        v = resid[j].clone()
        for _ in range(2):
            v = v - q.T @ (q @ v)
            if out:
                prev = torch.stack(out)
                v = v - prev.T @ (prev @ v)
        v = v / torch.linalg.vector_norm(v)
        out.append(v)
        resid = resid - torch.outer(resid @ v, v)
        resid[j] = 0.0
    return torch.stack(out)


def first_per_class(labels, max_per_class: int) -> Tensor:
    """Boolean mask keeping the first ``max_per_class`` entries of each label."""
    labels = as_labels(labels)
    max_per_class = int(max_per_class)
    if max_per_class < 1:
        raise ConfigError(f"max_per_class must be >= 1, got {max_per_class}")
    if labels.numel() == 0:
        return torch.zeros(0, dtype=torch.bool)
    lab = labels - int(labels.min())
    onehot = torch.nn.functional.one_hot(lab, int(lab.max()) + 1)
    rank = (onehot.cumsum(0) * onehot).sum(1) - 1
    return rank < max_per_class


# --------------------------------------------------------------------------- files
def save_basis(path: str | Path, basis: QuasiEigenbasis, meta: dict | None = None) -> Path:
    """Write the basis as safetensors (atomically), ``meta`` in its metadata."""
    from latentdyn.io import save_tensors

    info = {"kind": "lsd-basis", "num_classes": basis.num_classes, **basis.meta, **(meta or {})}
    save_tensors(path, basis.to_tensors(), info)
    return Path(path)


def load_basis(path: str | Path) -> QuasiEigenbasis:
    """Read a basis written by :func:`save_basis` (or ``latentdyn lsd``)."""
    from latentdyn.io import load_tensors

    path = Path(path)
    if path.is_dir():
        path = path / "basis.safetensors"
    tensors, meta = load_tensors(path)
    need = {"vectors", "class_means", "classes", "counts"}
    if not need <= set(tensors) or meta.get("kind") != "lsd-basis":
        raise CheckpointError(f"{path}: not an LSD basis file")
    return QuasiEigenbasis(vectors=tensors["vectors"].double(),
                           class_means=tensors["class_means"].double(),
                           classes=tensors["classes"].long(), counts=tensors["counts"].long(),
                           num_classes=int(meta.get("num_classes", 10)), meta=meta)
