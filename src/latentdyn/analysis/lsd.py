"""Latent spectral decomposition (paper 004, SPEC §3): quasi-eigenvectors, LSD
coefficients, LSD classification, truncation denoising and latent rotations.

Everything works on *any* model with the encode/decode protocol of SPEC §4 (the GAN
with its encoder, the paper's VAE, a user's module) and on any classifier that offers
``predict_proba(x)``, ``predict(x)`` or returns logits when called, on the images that
``decode`` produces.

The pure functions of tensors come first:

* :func:`quasi_eigenvectors` -- per-class means of latent vectors labelled by C(G(z)),
  orthonormalised (float64, Householder QR with signs fixed so that ξ_i is positively
  aligned with class mean i: classical Gram–Schmidt's result, computed stably) and
  completed to a full orthonormal basis of R^nz;
* :func:`coefficients` / :func:`reconstruct` -- c_i = ⟨z, ξ_i⟩, z = Σ c_i ξ_i / ‖ξ_i‖²;
* :func:`lsd_classify`, :func:`label_subspace_fraction`, :func:`true_label_rank`,
  :func:`lsd_statistics` -- argmax |c_i| over all nz coefficients, the abstract's 98 %
  claim, the rank of the true label;
* :func:`truncate` -- keep the k largest |c_i|;
* :func:`rotation`, :func:`rotation_path` -- a true rotation (orthogonal, det +1) in
  the plane of (ξ_i, ξ_j), identity on its orthogonal complement.

Then the few functions that call a model: :func:`collect_latents`, :func:`encode_all`,
:func:`decode_all`, :func:`denoise_lsd` / :func:`lsd_truncations`,
:func:`read_rotation`. They run batched, without gradients, in eval mode (restored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import Tensor

from latentdyn.checks import as_float, as_labels
from latentdyn.analysis.geometry import cosine_matrix
from latentdyn.analysis.hierarchy import hierarchy_from_latents
from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.models.inference import (
    decode_all,
    encode_all,
    latent_dim,
    predict_labels,
    predict_proba,
)
from latentdyn.models.protocol import check_model

DEFAULT_KS = (1, 2, 3, 4, 10)
SOURCE_ENCODER = 0
SOURCE_PRIOR = 1


# ------------------------------------------------------------------------- the basis
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


# ------------------------------------------------------------------- coefficients
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


# ---------------------------------------------------------------------- rotations
def _plane(basis_or_vectors, i: int, j: int) -> tuple[Tensor, Tensor]:
    """Orthonormal (u, v) of the plane of vectors i and j, u along vector i."""
    if isinstance(basis_or_vectors, QuasiEigenbasis):
        vecs = basis_or_vectors.vectors
    else:
        vecs = as_float(basis_or_vectors, "vectors", 2).double()
    n = vecs.shape[0]
    i, j = int(i), int(j)
    if not (0 <= i < n and 0 <= j < n):
        raise ConfigError(f"vector indices must lie in [0, {n}), got {i} and {j}")
    if i == j:
        raise ConfigError("a rotation needs two different vectors (i == j)")
    a, b = vecs[i].double(), vecs[j].double()
    if max(abs(float(a @ a) - 1), abs(float(b @ b) - 1), abs(float(a @ b))) < 1e-12:
        return a, b  # already orthonormal (a QuasiEigenbasis): use them exactly
    na = torch.linalg.vector_norm(a)
    if float(na) == 0:
        raise ConfigError(f"vector {i} is zero")
    u = a / na
    w = b - (b @ u) * u
    w = w - (w @ u) * u
    nw = torch.linalg.vector_norm(w)
    if float(nw) <= 1e-12 * float(torch.linalg.vector_norm(b)):
        raise ConfigError(f"vectors {i} and {j} are parallel; they span no plane")
    return u, w / nw


def _cos_sin(angle: float) -> tuple[float, float]:
    c, s = math.cos(angle), math.sin(angle)
    # exact at multiples of pi/2, so that xi_i maps *exactly* onto xi_j
    c = 0.0 if abs(c) < 1e-15 else c
    s = 0.0 if abs(s) < 1e-15 else s
    return c, s


def rotation(basis_or_vectors, i: int, j: int, angle: float) -> Tensor:
    """(nz, nz) float64 rotation by ``angle`` in the plane of (ξ_i, ξ_j), turning ξ_i
    toward ξ_j, the identity on the plane's orthogonal complement (a Givens rotation in
    that plane): R = I + (cos θ − 1)(u uᵀ + v vᵀ) + sin θ (v uᵀ − u vᵀ), orthogonal with
    determinant +1; R ξ_i = ξ_j at θ = π/2. Apply to row vectors as ``z @ R.T``.

    ``basis_or_vectors``: a :class:`QuasiEigenbasis` (its orthonormal ξ) or any (M, nz)
    vectors; non-orthonormal ones (e.g. raw class means) are orthonormalised within
    the pair (u along vector i), so at π/2 vector i's direction maps to the direction
    of vector j's component orthogonal to it.
    """
    u, v = _plane(basis_or_vectors, i, j)
    c, s = _cos_sin(float(angle))
    nz = u.shape[0]
    return (torch.eye(nz, dtype=torch.float64) + (c - 1.0) * (torch.outer(u, u) + torch.outer(v, v))
            + s * (torch.outer(v, u) - torch.outer(u, v)))


@dataclass
class RotationPath:
    """``angles`` (S+1,) from 0 to the end angle; ``z`` (n, S+1, nz) the rotated latents."""

    angles: Tensor
    z: Tensor
    i: int
    j: int


def rotation_path(z, basis_or_vectors, i: int, j: int, steps: int = 8,
                  end: float = math.pi / 2) -> RotationPath:
    """Rotate ``z`` (n, nz) or (nz,) in ``steps`` equal steps from angle 0 to ``end``
    (default π/2, where ξ_i maps exactly onto ξ_j) in the plane of (ξ_i, ξ_j)."""
    z = as_float(z, "z", (1, 2))
    single = z.dim() == 1
    z2 = z[None] if single else z
    steps = int(steps)
    if steps < 1:
        raise ConfigError(f"steps must be >= 1, got {steps}")
    angles = [float(end) * s / steps for s in range(steps + 1)]
    out = torch.stack([(z2.double() @ rotation(basis_or_vectors, i, j, a).T.to(z2.device))
                       for a in angles], 1).to(z.dtype)
    return RotationPath(angles=torch.tensor(angles, dtype=torch.float64), z=out, i=int(i),
                        j=int(j))


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
    if isinstance(generator, int) and not isinstance(generator, bool):
        generator = torch.Generator().manual_seed(generator)
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
    basis = quasi_eigenvectors(lat.z, lat.classes, num_classes, max_per_class,
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


@dataclass
class RotationReading:
    """The classifier's reading along a rotation path: ``images`` (n, S+1, D),
    ``labels`` (n, S+1), ``prob_i`` / ``prob_j`` (n, S+1) the probabilities of the
    classes ``class_i`` / ``class_j`` tied to ξ_i and ξ_j (-1 and NaN for a completing
    vector), ``angles`` (S+1,)."""

    angles: Tensor
    images: Tensor
    labels: Tensor
    prob_i: Tensor
    prob_j: Tensor
    class_i: int
    class_j: int

    def fraction(self, cls: int) -> Tensor:
        """(S+1,) fraction of paths read as ``cls`` at each step."""
        return (self.labels == int(cls)).double().mean(0)


def read_rotation(model, classifier, path: RotationPath, basis: QuasiEigenbasis | None = None,
                  batch_size: int = 1000) -> RotationReading:
    """Decode every latent of ``path`` and classify it. Without ``basis`` the vector
    indices i, j are taken as the classes."""
    n, s1, nz = path.z.shape
    images = decode_all(model, path.z.reshape(n * s1, nz), batch_size)
    probs = predict_proba(classifier, images, batch_size)

    def tied(i: int) -> int:
        if basis is None:
            return i
        return int(basis.classes[i]) if i < basis.num_label else -1

    def prob(k: int) -> Tensor:
        if 0 <= k < probs.shape[1]:
            return probs[:, k].reshape(n, s1)
        return torch.full((n, s1), float("nan"))

    ci, cj = tied(path.i), tied(path.j)
    return RotationReading(angles=path.angles, images=images.reshape(n, s1, -1),
                           labels=probs.argmax(1).reshape(n, s1), prob_i=prob(ci),
                           prob_j=prob(cj), class_i=ci, class_j=cj)


def rotate_digits(model, classifier, basis: QuasiEigenbasis, x: Tensor, class_i: int,
                  class_j: int, steps: int = 8, batch_size: int = 1000) -> RotationReading:
    """Encode ``x`` (images of digit ``class_i``), rotate by π/2 in steps in the plane
    of (ξ_{class_i}, ξ_{class_j}), decode and classify along the path."""
    i, j = basis.index_of(class_i), basis.index_of(class_j)
    z = encode_all(model, x, batch_size)
    path = rotation_path(z, basis, i, j, steps)
    return read_rotation(model, classifier, path, basis, batch_size)


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


__all__ = [
    "DEFAULT_KS", "LSDClassification", "LabelledLatents", "QuasiEigenbasis", "RotationPath",
    "RotationReading", "basis_from_model", "coefficients", "collect_latents",
    "concept_comparison", "denoise_lsd", "first_per_class",
    "analyse", "label_subspace_fraction", "load_basis", "lsd_classify",
    "lsd_statistics",
    "lsd_truncations", "orthonormal_completion",
    "quasi_eigenvectors", "read_rotation", "reconstruct", "rotate_digits", "rotation",
    "rotation_path", "save_basis", "true_label_rank", "truncate",
]
