"""The sampling chain of paper 002 (eqs. 2-3), with the posterior it samples from.

From x(0) = x0: z(0) ~ q(z | x0), then for t = 1 .. T x(t) ~ p(x | z(t-1)) and
z(t) ~ q(z | x(t)) -- the chain of ``run_dynamics(mode="sampling")``. Beside each
sample z(t) it keeps the diagonal Gaussian posterior q(z | x(t)) = N(μ(x(t)),
diag σ²(x(t))) that z(t) was drawn from:

* ``mu`` -- the posterior mean μ(x(t)) of the sampled state x(t);
* ``floor`` -- its total variance Σ_u σ_u²(x(t)) = E‖z(t) − μ(x(t))‖₂² (a squared
  distance): the expected squared distance of a sample from its own posterior mean,
  the noise floor of the distance readings of :mod:`latentdyn.analysis.sampling`.

One encoder call per step gives all three: z = μ + σ ε with ε ~ N(0, I) drawn from
the chain's generator, and x ~ p(x | z) from the protocol's :func:`sample_data` (the
model's own sampler, else Bernoulli pixels). The random numbers are drawn in the same
order as :func:`~latentdyn.dynamics.run_dynamics` draws them, so for a model whose
``sample_latent`` is the reparameterised Gaussian of its ``encode`` (the paper's VAE,
the VMI VAE, the GAN's encoder) the samples z(t) are those of ``run_dynamics(...,
mode="sampling")`` with the same generator, bit for bit. The model's own
``sample_latent`` is never called: the floor is that of the Gaussian posterior, so the
model's ``encode`` must return ``(mu, logvar)``.

Trials run as one batch per chunk of ``chunk_size``; results are reproducible for a
given (seed, chunk size), as in ``run_dynamics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from latentdyn.checks import as_generator
from latentdyn.dynamics.repeated import RecordedChain, check_inputs, count_arg, record_steps
from latentdyn.errors import ConfigError
from latentdyn.models.distributions import reparameterise
from latentdyn.models.inference import inference_mode, model_dtype, normalise_device
from latentdyn.models.protocol import check_model, model_device, sample_data


@dataclass
class SampledChain(RecordedChain):
    """A batch of sampling chains, on the CPU: the samples z(t), the posterior means
    μ(x(t)) and noise floors Σσ²(x(t)) they were drawn with, and the recorded x(t)."""

    z: Tensor  # (trials, T + 1, nz): z(t) ~ q(z | x(t))
    mu: Tensor  # (trials, T + 1, nz): μ(x(t)) = E_q[z | x(t)]
    floor: Tensor  # (trials, T + 1): Σ_u σ_u²(x(t)), squared latent units
    x: Tensor | None  # (trials, len(x_steps), D): x(t) at x_steps (x(0) is the input)
    x_steps: tuple[int, ...]


def gaussian_posterior(model, x: Tensor) -> tuple[Tensor, Tensor]:
    """``(mu, logvar)`` of q(z | x) from ``model.encode``, or a one-line error when the
    model's posterior is not a diagonal Gaussian."""
    encoded = model.encode(x)
    if not (isinstance(encoded, (tuple, list)) and len(encoded) >= 2):
        raise ConfigError(f"{type(model).__name__}.encode gives no log-variance; the sampling "
                          "chain needs a diagonal Gaussian posterior, encode(x) -> (mu, logvar)")
    mu, logvar = encoded[0], encoded[1]
    if not (isinstance(mu, Tensor) and isinstance(logvar, Tensor)) or mu.shape != logvar.shape:
        raise ConfigError(f"{type(model).__name__}.encode must give mu and logvar of one shape")
    return mu, logvar


def finite_posterior(model, x: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`gaussian_posterior`, refused in one line when its mean or log-variance is
    not finite (NaN weights, or weights so large that the encoder overflows): the chain
    would otherwise end in torch's complaint about Bernoulli probabilities."""
    mu, logvar = gaussian_posterior(model, x)
    if not (bool(torch.isfinite(mu).all()) and bool(torch.isfinite(logvar.exp()).all())):
        raise ConfigError(f"{type(model).__name__}.encode gives a non-finite posterior (NaN or "
                          "inf in its mean or variance): the model's weights are damaged or "
                          "too large; the sampling chain cannot run on it")
    return mu, logvar


def sample_chain(
    model,
    x0: Tensor,
    steps: int = 80,
    record_x: Iterable[int] | str = (),
    chunk_size: int = 2048,
    generator: torch.Generator | int | None = None,
    device=None,
    progress: bool = False,
) -> SampledChain:
    """``steps`` steps of the sampling chain from each row of ``x0`` (see the module doc).

    Arguments as :func:`~latentdyn.dynamics.run_dynamics`: ``record_x`` the steps whose
    x(t) to keep (or ``"all"``), ``generator`` a ``torch.Generator`` or an int seed,
    ``device`` where to compute (default: the model's). Results are on the CPU.
    """
    check_model(model)
    steps = count_arg(steps, "steps", minimum=0)
    chunk_size = count_arg(chunk_size, "chunk_size", minimum=1)
    check_inputs(x0)
    x_steps = record_steps(record_x, steps)
    dev = normalise_device(torch.device(device) if device is not None else model_device(model))
    gen = as_generator(generator, dev)
    n = x0.shape[0]
    with inference_mode(model, device=dev):
        dtype = model_dtype(model, x0.dtype)
        nz, d, z_dtype = _probe(model, x0[:2].to(dev, dtype))
        out = _empty(n, steps, nz, len(x_steps), d, z_dtype, dtype, "cpu")
        with tqdm(total=-(-n // chunk_size) * steps, disable=not progress,
                  desc="sampling chain", unit="step") as bar:
            for start in range(0, n, chunk_size):
                x = x0[start:start + chunk_size].to(dev, dtype)
                part = _run_chunk(model, x, steps, x_steps, gen, nz, d, z_dtype, bar)
                for name, value in part.items():
                    if out[name] is not None:
                        out[name][start:start + x.shape[0]] = value.cpu()
    return SampledChain(out["z"], out["mu"], out["floor"], out["x"], x_steps)


def _empty(n, steps, nz, n_x, d, z_dtype, x_dtype, dev) -> dict:
    return {"z": torch.empty((n, steps + 1, nz), dtype=z_dtype, device=dev),
            "mu": torch.empty((n, steps + 1, nz), dtype=z_dtype, device=dev),
            "floor": torch.empty((n, steps + 1), dtype=z_dtype, device=dev),
            "x": torch.empty((n, n_x, d), dtype=x_dtype, device=dev) if n_x else None}


def _run_chunk(model, x: Tensor, steps: int, x_steps: tuple, gen, nz: int, d: int,
               z_dtype, bar) -> dict:
    """One chunk of chains, on the computing device."""
    m = x.shape[0]
    out = _empty(m, steps, nz, len(x_steps), d, z_dtype, x.dtype, x.device)
    slot = {t: k for k, t in enumerate(x_steps)}
    z = None
    for t in range(steps + 1):
        if t > 0:
            x = sample_data(model, z, gen)
            bar.update()
        if t in slot:
            out["x"][:, slot[t]] = x.reshape(m, -1)
        mu, logvar = finite_posterior(model, x)
        # the draw of protocol.sample_latent / models.distributions.gaussian_sample
        eps = torch.randn(mu.shape, generator=gen, device=mu.device, dtype=mu.dtype)
        z = reparameterise(mu, logvar, eps)
        out["z"][:, t] = z.reshape(m, -1)
        out["mu"][:, t] = mu.reshape(m, -1)
        out["floor"][:, t] = logvar.exp().reshape(m, -1).sum(-1)
    return out


def _probe(model, x: Tensor) -> tuple[int, int, torch.dtype]:
    """One x -> (mu, logvar) -> x round on a few inputs; return (nz, D, z dtype)."""
    name = type(model).__name__
    try:
        mu, _ = gaussian_posterior(model, x)
        xr = model.decode(mu)
        gaussian_posterior(model, xr)
    except (RuntimeError, ValueError, TypeError, IndexError) as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(
            f"{name} cannot run on x0 of shape (trials, {', '.join(map(str, x.shape[1:]))}): "
            f"{reason}") from None
    if mu.ndim < 1 or mu.shape[0] != x.shape[0]:
        raise ConfigError(f"{name}.encode must return one latent row per input")
    if not isinstance(xr, Tensor) or xr.shape[0] != x.shape[0] or xr[0].numel() != x[0].numel():
        raise ConfigError(
            f"{name}.decode gives {tuple(getattr(xr, 'shape', ()))[1:]} per trial but x0 has "
            f"{tuple(x.shape[1:])}; they must have the same number of values")
    return mu[0].numel(), x[0].numel(), mu.dtype


__all__ = ["SampledChain", "finite_posterior", "gaussian_posterior", "sample_chain"]
