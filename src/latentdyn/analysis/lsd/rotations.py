"""Rotations in the plane of two quasi-eigenvectors (paper 004): a true rotation
(orthogonal, determinant +1, the identity on the plane's orthogonal complement) that
maps ξ_i exactly onto ξ_j at π/2, paths of rotated latents, and a classifier's reading
of their decodings."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from latentdyn.analysis.lsd.basis import QuasiEigenbasis
from latentdyn.checks import as_float
from latentdyn.errors import ConfigError
from latentdyn.models.inference import decode_all, encode_all, predict_proba


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
