"""Distances of latent trajectories from a point of the hierarchy (paper 001, eqs. 10, 13).

Trajectories are ``z`` of shape (n, T+1, nz): n independent trials, times 0..T.
``d = distance_to(z, target)`` is ‖z(t) − ξ‖₂ per trial and time, shape (n, T+1).

The dip of claim C1 (Fig. 2): with t* the argmin over t of the trial-mean distance,
a dip is present when 0 < t* < T and both d(0) − d(t*) and d(T) − d(t*) exceed 2 SEM.
Two readings of "SEM" are offered:

* :func:`dip_statistic_from_trials` (preferred; used whenever per-trial distances are
  at hand): the SEM of the *paired* per-trial differences d_i(0) − d_i(t*) and
  d_i(T) − d_i(t*), i.e. std(ddof=1)/sqrt(n) of each difference. This is the standard
  error of exactly the quantity being tested.
* :func:`dip_statistic` (for a curve given only as mean ± SEM, as in the figure): the
  SEM of the mean distance at t*, sem[t*].

t* is chosen from the same data that the test uses; with hundreds of trials this
selection has negligible effect on the 2-SEM rule.

Both readings also give the dip's size relative to the start, ``relative_depth`` =
(d(0) − d(t*)) / d(0) and ``relative_rise`` = (d(T) − d(t*)) / d(0) (issue 11: a dip of
0.03 on a distance of 10 is significant with 300 trials but small).
:func:`dip_power` is the share of random subsets of n trials that show the dip: the
power of the test at n trials (C8 judges a dip in a few kept trials).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from latentdyn.checks import as_float, need_rows
from latentdyn.errors import ConfigError


def distance_to(z, targets) -> Tensor:
    """‖z_i(t) − ξ_i‖₂ for trajectories ``z`` (n, T+1, nz), shape (n, T+1).

    ``targets`` is one point ξ (nz,) shared by all trials, or one per trial (n, nz).
    """
    z = as_float(z, "z", 3)
    targets = as_float(targets, "targets", (1, 2)).to(device=z.device, dtype=z.dtype)
    n, _, nz = z.shape
    if targets.shape[-1] != nz:
        raise ConfigError(f"targets have {targets.shape[-1]} latent units but z has {nz}")
    if targets.dim() == 2:
        if targets.shape[0] != n:
            raise ConfigError(f"targets has {targets.shape[0]} rows but z has {n} trials")
        targets = targets[:, None, :]
    return torch.linalg.vector_norm(z - targets, dim=-1)


def mean_sem(d) -> tuple[Tensor, Tensor]:
    """Mean and standard error of the mean over trials (dim 0): std(ddof=1)/sqrt(n).

    ``d`` (n, ...) with n >= 2; returns two tensors of shape ``d.shape[1:]``.
    """
    d = as_float(d, "d")
    if d.dim() == 0:
        raise ConfigError("d must have a trial dimension, got a scalar")
    need_rows(d, 2, "d (a standard error needs trials)")
    n = d.shape[0]
    return d.mean(0), d.std(0, correction=1) / math.sqrt(n)


def min_distance(d) -> tuple[Tensor, Tensor]:
    """min_t d_i(t) (eq. 13) and its time step, for ``d`` (n, T+1): two (n,) tensors."""
    d = as_float(d, "d", 2)
    if d.shape[1] == 0:
        raise ConfigError("d has no time steps")
    values, steps = d.min(dim=1)
    return values, steps


def dip_statistic(mean, sem) -> dict:
    """The C1 dip test on a mean curve (T+1,) and its per-time SEM (T+1,).

    t* = argmin of ``mean``; depth = d(0) − d(t*), rise = d(T) − d(t*); has_dip when
    0 < t* < T and both depth and rise exceed 2 · sem[t*] (the SEM of the minimum).
    Returns plain Python numbers: t_star, T, d0, d_min, d_T, depth, rise, sem_depth,
    sem_rise (both sem[t*]) and has_dip.
    """
    mean = as_float(mean, "mean", 1)
    sem = as_float(sem, "sem", 1)
    if mean.shape != sem.shape or mean.numel() == 0:
        raise ConfigError(f"mean and sem must be equal-length 1-D curves, got "
                          f"{tuple(mean.shape)} and {tuple(sem.shape)}")
    if bool((sem < 0).any()):
        raise ConfigError("sem must be non-negative")
    t_star = int(torch.argmin(mean))
    s = float(sem[t_star])
    return _dip(mean, t_star, s, s)


def dip_statistic_from_trials(d) -> dict:
    """The C1 dip test on per-trial distances ``d`` (n, T+1), n >= 2.

    t* = argmin of the trial-mean distance. depth and rise are the means of the paired
    differences d_i(0) − d_i(t*) and d_i(T) − d_i(t*); sem_depth and sem_rise their
    standard errors std(ddof=1)/sqrt(n). has_dip when 0 < t* < T, depth > 2·sem_depth and
    rise > 2·sem_rise. Keys as :func:`dip_statistic`, plus n_trials.
    """
    d = as_float(d, "d", 2).double()
    need_rows(d, 2, "d (a standard error needs trials)")
    if d.shape[1] == 0:
        raise ConfigError("d has no time steps")
    mean = d.mean(0)
    t_star = int(torch.argmin(mean))
    _, sem_depth = mean_sem(d[:, 0] - d[:, t_star])
    _, sem_rise = mean_sem(d[:, -1] - d[:, t_star])
    out = _dip(mean, t_star, float(sem_depth), float(sem_rise))
    out["n_trials"] = int(d.shape[0])
    return out


def _dip(mean: Tensor, t_star: int, sem_depth: float, sem_rise: float) -> dict:
    T = int(mean.shape[0]) - 1
    d0, d_min, d_T = float(mean[0]), float(mean[t_star]), float(mean[-1])
    depth, rise = d0 - d_min, d_T - d_min
    has_dip = 0 < t_star < T and depth > 2 * sem_depth and rise > 2 * sem_rise
    rel = (lambda v: v / d0) if d0 > 0 else (lambda v: float("nan"))
    return {"t_star": t_star, "T": T, "d0": d0, "d_min": d_min, "d_T": d_T,
            "depth": depth, "rise": rise, "sem_depth": sem_depth, "sem_rise": sem_rise,
            "relative_depth": rel(depth), "relative_rise": rel(rise),
            "has_dip": bool(has_dip)}


def has_dip_np(d):
    """:func:`dip_statistic_from_trials`' verdict alone on numpy arrays, fast enough to
    repeat over thousands of resamples: ``d`` (n, T+1) gives a bool, ``d`` (n, G, T+1)
    (G groups of n trials each, e.g. labels) one bool per group."""
    import numpy as np

    d = np.asarray(d, dtype=float)
    single = d.ndim == 2
    d = d[:, None, :] if single else d
    n, T1 = d.shape[0], d.shape[2]
    if n < 2:
        out = np.zeros(d.shape[1], dtype=bool)
        return bool(out[0]) if single else out
    t = np.argmin(d.mean(0), axis=1)  # (G,)
    g = np.arange(d.shape[1])
    at_t = d[:, g, t]  # (n, G)
    depth, rise = d[:, :, 0] - at_t, d[:, :, -1] - at_t
    two_sem = 2 / math.sqrt(n)
    out = ((t > 0) & (t < T1 - 1) & (depth.mean(0) > two_sem * depth.std(0, ddof=1))
           & (rise.mean(0) > two_sem * rise.std(0, ddof=1)))
    return bool(out[0]) if single else out


def dip_power(d, n: int, *, draws: int = 1000, seed: int = 0) -> float:
    """The share of ``draws`` random subsets of ``n`` of the trials ``d`` (N, T+1), drawn
    without replacement, whose mean distance has a dip (the C1 rule): the power of the
    dip test at ``n`` trials, where the dip of all N trials is the truth."""
    import numpy as np

    d = np.asarray(as_float(d, "d", 2).double())
    if not 2 <= int(n) <= d.shape[0]:
        raise ConfigError(f"n must lie in [2, {d.shape[0]}] (the trials), got {n}")
    rng = np.random.default_rng(seed)
    hits = sum(has_dip_np(d[rng.choice(d.shape[0], int(n), replace=False)])
               for _ in range(int(draws)))
    return float(hits / int(draws))
