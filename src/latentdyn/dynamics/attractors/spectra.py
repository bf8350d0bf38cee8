"""Stability without full Jacobians: the leading eigenvalues of J_F by Arnoldi
iteration on vector–Jacobian products.

A full Jacobian of the latent map F costs nz backward passes and nz² numbers per point,
which a 4 × 64 × 64 latent (nz = 16 384) cannot afford. The spectral radius ρ(J_F) --
whether a point attracts -- needs only the few eigenvalues of largest modulus. Arnoldi
iteration (ARPACK, through :func:`scipy.sparse.linalg.eigs` on a
:class:`~scipy.sparse.linalg.LinearOperator`) finds them from products with the matrix
alone. The products here are vector–Jacobian products u ↦ Jᵀu (:func:`torch.func.vjp`:
one forward pass per point, then one backward pass per product); Jᵀ has the eigenvalues
of J. Newton's method on F(z) − z without a Jacobian solves (J − I) δ = −g by GMRES on
Jacobian–vector products (:func:`torch.func.jvp`).

* :func:`resolve_method` -- ``auto``: full Jacobians (``rev``) up to
  :data:`FULL_JACOBIAN_MAX` latent units, matrix-free above;
* :func:`leading_eigenvalues` -- the ``k`` eigenvalues of largest modulus at each point;
* :func:`spectral_radii` -- ρ(J_F) at each point, by the method asked for;
* :func:`newton_direction` -- the Newton step at each point, matrix-free.

On small models the matrix-free radius agrees with the full one to about 1e-5
(relative; ``tests/test_adapters_stability.py`` holds it to 1e-4).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from latentdyn.errors import ConfigError
from latentdyn.models.inference import inference_mode, model_dtype
from latentdyn.dynamics.attractors.map import (JACOBIAN_METHODS, _device, _points, _single,
                                               jacobians, spectral_radius)

STABILITY_METHODS = ("auto", *JACOBIAN_METHODS, "matrix-free")
FULL_JACOBIAN_MAX = 512  # auto: full Jacobians up to this many latent units
LEADING = 6  # eigenvalues asked of Arnoldi at each point
TOL = 1e-6  # ARPACK's relative accuracy of the Ritz values


def resolve_method(method: str, nz: int) -> str:
    """The method that runs: ``auto`` is ``rev`` up to :data:`FULL_JACOBIAN_MAX` latent
    units and ``matrix-free`` above; the others are themselves."""
    if method not in STABILITY_METHODS:
        raise ConfigError(f"unknown --method {method!r}; choose from "
                          f"{', '.join(STABILITY_METHODS)}")
    if method == "auto":
        return "rev" if nz <= FULL_JACOBIAN_MAX else "matrix-free"
    return method


def _operator(f, z: Tensor, transpose: bool):
    """A scipy LinearOperator of Jᵀ (``transpose``) or J of ``f`` at ``z``."""
    from scipy.sparse.linalg import LinearOperator
    from torch.func import jvp, vjp

    n = z.numel()
    if transpose:
        _, pull = vjp(f, z)

        def product(v):
            u = torch.as_tensor(np.asarray(v).reshape(-1), dtype=z.dtype, device=z.device)
            return pull(u)[0].detach().double().cpu().numpy()
    else:
        def product(v):
            u = torch.as_tensor(np.asarray(v).reshape(-1), dtype=z.dtype, device=z.device)
            return jvp(f, (z,), (u,))[1].detach().double().cpu().numpy()
    return LinearOperator((n, n), matvec=product, dtype=np.float64)


def _math_attention():
    """Attention by its plain formula while Jacobian–vector products run: the fused CPU
    kernels of scaled dot-product attention have no forward-mode derivative."""
    import contextlib

    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # torch < 2.3 has no choice to make
        return contextlib.nullcontext()
    return sdpa_kernel([SDPBackend.MATH])


def _eigs(op, k: int, tol: float, seed: int) -> np.ndarray:
    from scipy.sparse.linalg import ArpackNoConvergence, eigs

    v0 = np.random.default_rng(seed).standard_normal(op.shape[0])
    try:
        vals = eigs(op, k=k, which="LM", tol=tol, v0=v0, return_eigenvectors=False)
    except ArpackNoConvergence:
        raise ConfigError("the Arnoldi iteration for the Jacobian's leading eigenvalues did not "
                          "converge; try --method rev (full Jacobians) on a smaller latent"
                          ) from None
    return vals[np.argsort(-np.abs(vals), kind="stable")]


def leading_eigenvalues(model, z, k: int = LEADING, tol: float = TOL, device=None,
                        progress: bool = False, seed: int = 0) -> Tensor:
    """The ``k`` eigenvalues of J_F of largest modulus at every row of ``z`` (n, nz),
    largest first, as complex128 (n, k). Matrix-free (module doc); a latent of at most
    ``k + 1`` units takes the full Jacobian's eigenvalues instead."""
    z = _points(z)
    nz = z.shape[1]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    k = min(k, nz)
    if nz <= k + 1:
        vals = torch.linalg.eigvals(jacobians(model, z, device=device).double())
        order = torch.argsort(vals.abs(), dim=1, descending=True, stable=True)
        return torch.gather(vals, 1, order)[:, :k]
    dev = _device(model, device)
    out = []
    with inference_mode(model, device=dev), torch.enable_grad():
        dt = model_dtype(model, z.dtype)
        f = _single(model)
        for i in tqdm(range(z.shape[0]), disable=not progress, desc="eigenvalues", unit="pt"):
            point = z[i].to(dev, dt)
            probe = f(point)
            if probe.shape != point.shape:
                raise ConfigError(f"F(z) has {probe.numel()} values but z has {nz}; encode "
                                  "must return nz values per input")
            out.append(_eigs(_operator(f, point, transpose=True), k, tol, seed))
    vals = torch.from_numpy(np.stack(out)).to(torch.complex128)
    if not bool(torch.isfinite(vals.abs()).all()):
        raise ConfigError("the Jacobian of the latent map has NaN or infinite eigenvalues")
    return vals


def spectral_radii(model, z, method: str = "auto", chunk_size: int = 128, device=None,
                   progress: bool = False) -> Tensor:
    """ρ(J_F) at every row of ``z`` (n, nz), in ``z``'s dtype: from full Jacobians
    (``rev``, ``fwd``, ``loop``) or matrix-free (``matrix-free``); ``auto`` chooses by the
    latent size (:func:`resolve_method`)."""
    z = _points(z)
    chosen = resolve_method(method, z.shape[1])
    if chosen == "matrix-free":
        return leading_eigenvalues(model, z, k=2, device=device,
                                   progress=progress).abs()[:, 0].to(z.dtype)
    return spectral_radius(jacobians(model, z, method=chosen, chunk_size=chunk_size,
                                     device=device, progress=progress))


def newton_direction(model, z, g, device=None, tol: float = 1e-6) -> Tensor:
    """δ solving (J_F(z_i) − I) δ_i = −g_i at every row, by GMRES on Jacobian–vector
    products (float64 result; a row GMRES cannot solve keeps its best iterate)."""
    from scipy.sparse.linalg import LinearOperator, gmres

    z = _points(z)
    g = torch.as_tensor(g, dtype=torch.float64)
    dev = _device(model, device)
    out = []
    with inference_mode(model, device=dev), torch.enable_grad(), _math_attention():
        dt = model_dtype(model, z.dtype)
        f = _single(model)
        for i in range(z.shape[0]):
            jac = _operator(f, z[i].to(dev, dt), transpose=False)
            shifted = LinearOperator(jac.shape, matvec=lambda v, J=jac: J.matvec(v) - v,
                                     dtype=np.float64)
            try:
                delta, _ = gmres(shifted, -g[i].numpy(), rtol=tol, maxiter=50)
            except (NotImplementedError, RuntimeError) as exc:
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ConfigError("cannot take Jacobian-vector products of the latent map of "
                                  f"{type(model).__name__} ({reason}); try --method rev") from None
            out.append(torch.from_numpy(np.asarray(delta, dtype=np.float64)))
    return torch.stack(out)


__all__ = ["FULL_JACOBIAN_MAX", "LEADING", "STABILITY_METHODS", "leading_eigenvalues",
           "newton_direction", "resolve_method", "spectral_radii"]
