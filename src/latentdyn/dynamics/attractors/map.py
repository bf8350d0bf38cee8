"""The deterministic latent map F(z) = E_q[z | E_p[x | z]] of a protocol model, its
iteration, and its Jacobians.

One step of the deterministic dynamics (paper 001, eqs. 6-7) seen from the latent
space: decode z to the data mean, encode that to the latent mean. Fixed points of F
are the points repeated inference can come to rest at; the Jacobian J_F(z) (nz × nz)
tells whether such a point attracts (spectral radius ρ(J_F) < 1) or repels.

* :func:`apply_map` -- F of many rows, batched, in eval mode without gradients;
* :func:`iterate_map` -- z ← F(z) until the step ‖F(z) − z‖ falls below a tolerance,
  each row frozen once it has converged;
* :func:`jacobians` -- J_F at many points in one batched computation with
  :mod:`torch.func` (``jacrev`` or ``jacfwd`` under ``vmap``), chunked;
  :func:`jacobians_loop` is the per-point loop (``torch.autograd.functional.jacobian``)
  it is measured against, and the fallback for a model ``vmap`` cannot trace;
* :func:`spectral_radius` -- max |eigenvalue| of each Jacobian.

Any object with ``encode``/``decode`` works (:mod:`latentdyn.models.protocol`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm.auto import tqdm

from latentdyn.checks import as_float
from latentdyn.errors import ConfigError
from latentdyn.models.inference import inference_mode, model_dtype, normalise_device
from latentdyn.models.protocol import check_model, data_mean, latent_mean, model_device

JACOBIAN_METHODS = ("rev", "fwd", "loop")


def _device(model, device) -> torch.device:
    return normalise_device(torch.device(device) if device is not None else model_device(model))


def _points(z, name: str = "z") -> Tensor:
    z = as_float(z, name, 2)
    if z.shape[0] == 0 or z.shape[1] == 0:
        raise ConfigError(f"{name} must be a non-empty (n, nz) batch, got {tuple(z.shape)}")
    return z


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def map_batch(model, z: Tensor) -> Tensor:
    """F(z) for a batch ``z`` (n, nz) on the model's device, as (n, nz); no mode or
    gradient handling (the caller's)."""
    x = data_mean(model, z)
    return latent_mean(model, x).reshape(z.shape[0], -1)


def apply_map(model, z, batch_size: int = 1024, device=None) -> Tensor:
    """F(z) of every row of ``z`` (n, nz): batched, eval mode, no gradients, CPU result."""
    check_model(model)
    z = _points(z)
    batch_size = _positive(batch_size, "batch_size")
    dev = _device(model, device)
    with inference_mode(model, device=dev):
        dt = model_dtype(model, z.dtype)
        out = [map_batch(model, z[s:s + batch_size].to(dev, dt)).cpu()
               for s in range(0, z.shape[0], batch_size)]
    fz = torch.cat(out)
    if fz.shape != z.shape:
        raise ConfigError(f"F(z) = encode(decode(z)) has shape {tuple(fz.shape)} but z has "
                          f"{tuple(z.shape)}; the latent map needs encode's output to have "
                          "decode's input size")
    return fz


@dataclass
class Iteration:
    """Where :func:`iterate_map` left every row."""

    z: Tensor  # (n, nz) the last iterate
    steps: Tensor  # (n,) int64: iterations taken (the step at which a row converged)
    converged: Tensor  # (n,) bool: last step ‖F(z) − z‖ below the tolerance
    step_size: Tensor  # (n,) the last ‖F(z) − z‖


def iterate_map(model, z0, max_steps: int = 500, tol: float = 1e-4, batch_size: int = 2048,
                device=None, progress: bool = False) -> Iteration:
    """Iterate z ← F(z) from each row of ``z0`` for at most ``max_steps`` steps; a row
    stops (and is no longer computed) once its step ‖F(z) − z‖ is below ``tol``."""
    check_model(model)
    z = _points(z0, "z0").clone()
    max_steps = _positive(max_steps, "max_steps")
    batch_size = _positive(batch_size, "batch_size")
    if not tol > 0:
        raise ConfigError(f"tol must be positive, got {tol!r}")
    n = z.shape[0]
    steps = torch.zeros(n, dtype=torch.int64)
    size = torch.full((n,), float("inf"), dtype=torch.float64)
    active = torch.ones(n, dtype=torch.bool)
    dev = _device(model, device)
    with inference_mode(model, device=dev), tqdm(total=max_steps, disable=not progress,
                                                 desc="fixed points", unit="step") as bar:
        dt = model_dtype(model, z.dtype)
        work = z.to(dev, dt)
        for _ in range(max_steps):
            idx = active.nonzero().flatten()
            if idx.numel() == 0:
                break
            idx_dev = idx.to(dev)
            cur = work[idx_dev]
            new = torch.cat([map_batch(model, cur[s:s + batch_size])
                             for s in range(0, cur.shape[0], batch_size)])
            delta = torch.linalg.vector_norm((new - cur).double(), dim=1).cpu()
            work[idx_dev] = new
            steps[idx] += 1
            size[idx] = delta
            active[idx[delta < tol]] = False
            bar.update()
        z = work.cpu()
    if not bool(torch.isfinite(z).all()):
        raise ConfigError("the latent map produced NaN or infinite values")
    return Iteration(z, steps, size < tol, size.to(z.dtype))


# ----------------------------------------------------------------------- Jacobians
def _single(model):
    def f(v: Tensor) -> Tensor:
        return latent_mean(model, data_mean(model, v[None])).reshape(-1)
    return f


def jacobians(model, z, method: str = "rev", chunk_size: int = 128, device=None,
              progress: bool = False) -> Tensor:
    """J_F(z_i) = ∂F/∂z at every row of ``z`` (n, nz): (n, nz, nz), row i of J the
    gradient of F_i. ``method``: ``rev`` (``vmap(jacrev(F))``), ``fwd``
    (``vmap(jacfwd(F))``), or ``loop`` (one point at a time). A model that ``vmap``
    cannot trace falls back to the loop, and so does one whose batched passes would
    not fit in memory (:func:`_points_per_call`). Eval mode; CPU result."""
    check_model(model)
    z = _points(z)
    if method not in JACOBIAN_METHODS:
        raise ConfigError(f"unknown Jacobian method {method!r}; choose from "
                          f"{', '.join(JACOBIAN_METHODS)}")
    if method == "loop":
        return jacobians_loop(model, z, device=device, progress=progress)
    from torch.func import jacfwd, jacrev, vmap

    chunk_size = _positive(chunk_size, "chunk_size")
    _check_room(z, chunk_size)
    dev = _device(model, device)
    parts = []
    with inference_mode(model, device=dev), torch.enable_grad():
        dt = model_dtype(model, z.dtype)
        chunk_size = _points_per_call(model, z[:1].to(dev, dt), chunk_size, dev)
        transform = jacrev if method == "rev" else jacfwd
        batched = vmap(transform(_single(model)))
        try:
            if not chunk_size:  # not even one point's nz passes fit at once
                raise ValueError("one row at a time")
            for s in tqdm(range(0, z.shape[0], chunk_size), disable=not progress,
                          desc="Jacobians", unit="chunk"):
                parts.append(batched(z[s:s + chunk_size].to(dev, dt)).detach().cpu())
        except (RuntimeError, NotImplementedError, TypeError, ValueError):
            parts = None  # an op vmap cannot batch, or too large: the loop instead
    if parts is None:
        return jacobians_loop(model, z, device=device, progress=progress)
    return _check_square(torch.cat(parts), z)


#: the share of the available memory the batched derivative passes of :func:`jacobians`
#: may take (a convolutional decoder of 64 x 64 images keeps megabytes per pass)
JACOBIAN_MEMORY_SHARE = 0.25
#: the memory of one derivative pass under ``vmap(jacrev)``, in units of what one
#: evaluation of F saves for its backward pass: measured 7x for a diffusers
#: AutoencoderKL (16, 32, 32) on 64 x 64 images (16.7 GB peak for 185 passes of 12 MB)
PASS_FACTOR = 8


def _saved_bytes(model, v: Tensor) -> int:
    """Bytes autograd keeps from one evaluation of F at the point ``v`` (1, nz) for its
    backward pass, the model's own parameters and buffers left out: what each
    derivative pass of ``vmap(jacrev)`` holds once more."""
    own = [getattr(model, name, None) for name in ("parameters", "buffers")]
    params = {p.untyped_storage().data_ptr() for f in own if callable(f) for p in f()}
    total = 0

    def pack(t: Tensor) -> Tensor:
        nonlocal total
        if t.untyped_storage().data_ptr() not in params:
            total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        _single(model)(v[0].detach().requires_grad_())
    return total


def _points_per_call(model, v: Tensor, chunk_size: int, dev) -> int:
    """Points per batched call of :func:`jacobians` (at most ``chunk_size``): as many
    as let their nz derivative passes each fit in :data:`JACOBIAN_MEMORY_SHARE` of the
    available memory, one pass taking :data:`PASS_FACTOR` times what one evaluation
    saves; 0 when not even one point's passes fit (the loop then takes one row at a
    time). ``vmap(jacrev)`` over 128 points of a 4 x 16 x 16 latent of a diffusers
    AutoencoderKL ran 131 072 passes at once (out of memory at 20 GB); row chunks
    (``jacrev(chunk_size=...)``) did not bound it (17 GB for chunks of 6 rows), and the
    row-by-row loop took 0.46 GB and half the time."""
    from latentdyn import checks

    nz = v.shape[1]
    free = (torch.cuda.mem_get_info(dev)[0] if dev.type == "cuda" else
            checks.available_memory())
    per_point = nz * (PASS_FACTOR * _saved_bytes(model, v) + 8 * nz)
    return min(chunk_size, int(JACOBIAN_MEMORY_SHARE * free) // per_point)


def _check_room(z: Tensor, chunk_size: int) -> None:
    """One line, before any work, when full Jacobians would not fit in memory."""
    from latentdyn.checks import check_memory

    n, nz = z.shape
    check_memory(4 * nz * nz * (n + 3 * min(n, chunk_size)),
                 f"full Jacobians of {n} points of {nz} latent units (--method matrix-free "
                 "needs none)")


def jacobians_loop(model, z, device=None, progress: bool = False) -> Tensor:
    """J_F at every row of ``z``, one point at a time with
    ``torch.autograd.functional.jacobian`` (the per-point baseline)."""
    check_model(model)
    z = _points(z)
    _check_room(z, 1)
    dev = _device(model, device)
    out = []
    with inference_mode(model, device=dev), torch.enable_grad():
        dt = model_dtype(model, z.dtype)
        f = _single(model)
        try:
            for i in tqdm(range(z.shape[0]), disable=not progress, desc="Jacobians",
                          unit="pt"):
                out.append(torch.autograd.functional.jacobian(f, z[i].to(dev, dt))
                           .detach().cpu())
        except (RuntimeError, ValueError, TypeError, IndexError) as e:
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ConfigError(f"cannot differentiate the latent map of {type(model).__name__}: "
                              f"{reason}") from None
    return _check_square(torch.stack(out), z)


def _check_square(J: Tensor, z: Tensor) -> Tensor:
    nz = z.shape[1]
    if J.shape != (z.shape[0], nz, nz):
        raise ConfigError(f"the Jacobian of F has shape {tuple(J.shape[1:])} per point, "
                          f"expected ({nz}, {nz}); encode must return nz values per input")
    if not bool(torch.isfinite(J).all()):
        raise ConfigError("the Jacobian of the latent map has NaN or infinite entries")
    return J


def spectral_radius(J) -> Tensor:
    """max_k |λ_k(J_i)| of each square matrix of ``J`` (n, nz, nz) (float64 eigenvalues),
    in ``J``'s dtype."""
    J = as_float(J, "J", 3)
    if J.shape[1] != J.shape[2]:
        raise ConfigError(f"J must hold square matrices, got {tuple(J.shape)}")
    return torch.linalg.eigvals(J.double()).abs().amax(-1).to(J.dtype)
