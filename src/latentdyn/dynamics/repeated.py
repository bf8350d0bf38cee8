"""Repeated inference: data -> latent -> data -> ... (SPEC §1, "Dynamics").

From x(0) = x0 the model is iterated ``steps`` = T times through the encode/decode
protocol of :mod:`latentdyn.models.protocol`, so any model that offers it works.

* ``deterministic`` (paper 001, eqs. 6-7): z(t) = E_q[z | x(t)] and
  x(t+1) = E_p[x | z(t)], for t = 0 .. T.
* ``sampling`` (paper 002, eqs. 2-3): x(t+1) ~ p(x | z(t)) and z(t+1) ~ q(z | x(t+1)).
  The paper generates {z(0), .., z(T)} "by sampling conditioned on x0" without
  spelling out z(0); we apply eq. 3 at t = 0 as well, z(0) ~ q(z | x0), so every z(t)
  is a posterior sample and t = 0 is treated like every later step. The recorded x(t)
  (t >= 1) are the sampled data states.

All trials of a chunk run as one batch; chunks of ``chunk_size`` trials bound the
memory for any number of trials. Deterministic results do not depend on the chunk
size; sampling results are reproducible for a given (seed, chunk size).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Callable, Iterable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from latentdyn.checks import as_generator
from latentdyn.errors import ConfigError
from latentdyn.models.inference import inference_mode, model_dtype, normalise_device
from latentdyn.models.protocol import (
    check_model,
    data_mean,
    latent_mean,
    model_device,
    sample_data,
    sample_latent,
)

MODES = ("deterministic", "sampling")


class RecordedChain:
    """What a chain of repeated inference offers from its fields ``z`` (trials, T + 1,
    nz), ``x`` (trials, len(x_steps), D) or None, and ``x_steps``: shared by
    :class:`Trajectory` and the sampled chain of :mod:`latentdyn.dynamics.sampling`."""

    @property
    def n_trials(self) -> int:
        return self.z.shape[0]

    @property
    def steps(self) -> int:
        return self.z.shape[1] - 1

    def x_at(self, t: int) -> Tensor:
        """The recorded data states x(t), ``(trials, D)``."""
        if self.x is None or t not in self.x_steps:
            raise ConfigError(f"x({t}) was not recorded; recorded steps: {list(self.x_steps)}")
        return self.x[:, self.x_steps.index(t)]


@dataclass
class Trajectory(RecordedChain):
    """Latent (and optionally data) states of repeated inference, on the CPU."""

    z: Tensor  # (trials, T + 1, nz): z(0) .. z(T)
    x: Tensor | None  # (trials, len(x_steps), D): data states at x_steps, or None
    x_steps: tuple[int, ...]  # which t the x entries are; x(0) is the input
    mode: str


def step_maps(model, mode: str = "deterministic", generator: torch.Generator | None = None
              ) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
    """The ``(x -> z, z -> x)`` maps of one inference step in ``mode``."""
    if mode == "deterministic":
        return (lambda x: latent_mean(model, x)), (lambda z: data_mean(model, z))
    if mode == "sampling":
        return (lambda x: sample_latent(model, x, generator)), (
            lambda z: sample_data(model, z, generator))
    raise ConfigError(f"unknown dynamics mode {mode!r}; choose from {', '.join(MODES)}")


def run_dynamics(
    model,
    x0: Tensor,
    steps: int = 80,
    mode: str = "deterministic",
    record_x: Iterable[int] | str = (),
    chunk_size: int = 2048,
    generator: torch.Generator | int | None = None,
    device=None,
    progress: bool = False,
) -> Trajectory:
    """Run ``steps`` steps of repeated inference from each row of ``x0`` (see module doc).

    ``x0``: ``(trials, ...)`` inputs as the model's ``encode`` takes them. ``record_x``:
    the steps t in [0, steps] whose data states to keep, or ``"all"``. ``generator``:
    a ``torch.Generator`` or an int seed for the sampling mode; one on another device
    than the computation seeds a fresh generator there, deterministically. ``device``:
    where to compute (default: the model's device; a module is moved there for the run
    and moved back). The model runs in eval mode without gradients; its mode is
    restored afterwards. Results are returned on the CPU.
    """
    check_model(model)
    if mode not in MODES:
        raise ConfigError(f"unknown dynamics mode {mode!r}; choose from {', '.join(MODES)}")
    steps = count_arg(steps, "steps", minimum=0)
    chunk_size = count_arg(chunk_size, "chunk_size", minimum=1)
    check_inputs(x0)
    x_steps = record_steps(record_x, steps)
    dev = normalise_device(torch.device(device) if device is not None else model_device(model))
    gen = as_generator(generator, dev)
    n = x0.shape[0]
    slot = {t: k for k, t in enumerate(x_steps)}
    encode, decode = step_maps(model, mode, gen)
    with inference_mode(model, device=dev):
        dtype = model_dtype(model, x0.dtype)
        nz, d, z_dtype, x_dtype = _probe(model, x0[:2].to(dev, dtype))
        z_out = torch.empty((n, steps + 1, nz), dtype=z_dtype)
        x_out = torch.empty((n, len(x_steps), d), dtype=x_dtype) if x_steps else None
        n_chunks = -(-n // chunk_size)
        with tqdm(total=n_chunks * steps, disable=not progress, desc="dynamics",
                  unit="step") as bar:
            for start in range(0, n, chunk_size):
                x = x0[start:start + chunk_size].to(dev, dtype)
                m = x.shape[0]
                zs = torch.empty((m, steps + 1, nz), device=dev, dtype=z_dtype)
                xs = torch.empty((m, len(x_steps), d), device=dev, dtype=x_dtype)
                if 0 in slot:
                    xs[:, slot[0]] = x.reshape(m, -1)
                z = encode(x)
                zs[:, 0] = z.reshape(m, -1)
                for t in range(1, steps + 1):
                    x = decode(z)
                    if t in slot:
                        xs[:, slot[t]] = x.reshape(m, -1)
                    z = encode(x)
                    zs[:, t] = z.reshape(m, -1)
                    bar.update()
                z_out[start:start + m] = zs
                if x_out is not None:
                    x_out[start:start + m] = xs
    return Trajectory(z=z_out, x=x_out, x_steps=x_steps, mode=mode)


# --- helpers ----------------------------------------------------------------------------

def count_arg(value, name: str, minimum: int) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_inputs(x0) -> None:
    if not isinstance(x0, Tensor):
        raise ConfigError(f"x0 must be a torch.Tensor, got {type(x0).__name__}")
    if not x0.is_floating_point():
        raise ConfigError(f"x0 must be a floating-point tensor, got {x0.dtype}")
    if x0.ndim < 2 or x0.shape[0] == 0:
        raise ConfigError(
            f"x0 must be a non-empty batch of shape (trials, ...), got {tuple(x0.shape)}; "
            "use x0[None] for a single input")
    if not bool(torch.isfinite(x0).all()):
        raise ConfigError("x0 contains NaN or infinite values")


def record_steps(record_x, steps: int) -> tuple[int, ...]:
    if record_x is None:
        return ()
    if isinstance(record_x, str):
        if record_x == "all":
            return tuple(range(steps + 1))
        raise ConfigError(f"record_x must be steps in [0, {steps}] or 'all', got {record_x!r}")
    try:
        ts = sorted({operator.index(t) for t in ([record_x] if isinstance(record_x, int)
                                                 else record_x)})
    except TypeError:
        raise ConfigError(f"record_x must be integer steps or 'all', got {record_x!r}") from None
    bad = [t for t in ts if not 0 <= t <= steps]
    if bad:
        raise ConfigError(f"record_x steps must be in [0, {steps}], got {bad}")
    return tuple(ts)


def _probe(model, x: Tensor) -> tuple[int, int, torch.dtype, torch.dtype]:
    """One deterministic x -> z -> x -> z round on a few inputs: check the model accepts
    x0 and its own decodings; return (nz, D, z dtype, x dtype)."""
    name = type(model).__name__
    try:
        z = latent_mean(model, x)
        xr = data_mean(model, z)
        latent_mean(model, xr)
    except (RuntimeError, ValueError, TypeError, IndexError) as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(
            f"{name} cannot run on x0 of shape (trials, {', '.join(map(str, x.shape[1:]))}): "
            f"{reason}") from None
    if not isinstance(z, Tensor) or z.ndim < 1 or z.shape[0] != x.shape[0]:
        raise ConfigError(f"{name}.encode must return one latent row per input")
    if not isinstance(xr, Tensor) or xr.shape[0] != x.shape[0] or xr[0].numel() != x[0].numel():
        raise ConfigError(
            f"{name}.decode gives {tuple(getattr(xr, 'shape', ()))[1:]} per trial but x0 has "
            f"{tuple(x.shape[1:])}; they must have the same number of values")
    return z[0].numel(), x[0].numel(), z.dtype, xr.dtype
