"""Distances of latent trajectories from a point of the hierarchy (paper 001, eqs. 10, 13).

Trajectories are ``z`` of shape (n, T+1, nz): n independent trials, times 0..T.
``d = distance_to(z, target)`` is ‖z(t) − ξ‖₂ per trial and time, shape (n, T+1).

The dip of claim C1 (Fig. 2), the rule of every verdict that asks for a dip (C1, C6,
C8, paper 002's S1/S2, the conditions map, serdega2020's dynamics), issue 19:

* the trials are split in two fixed halves (:func:`split_halves`: even and odd
  positions; trials are drawn at random, so this is a random split);
* t* is the argmin over t of the mean distance of the *first* half;
* on the *second* half alone, depth = mean of d_i(0) − d_i(t*) and rise = mean of
  d_i(T) − d_i(t*), each with the SEM of those paired differences, std(ddof=1)/sqrt(n);
* a dip when 0 < t* < T, depth > :data:`DIP_SEMS` SEM, rise > :data:`DIP_SEMS` SEM, and
  depth and rise are each at least :data:`MIN_RELATIVE_CHANGE` of the second half's
  mean d(0).

Choosing t* on the trials that then test it (the rule before issue 19, kept as
:func:`old_dip_np` and reported beside the new one) makes the rise >= 0 by
construction: on curves that fall and then stay flat it reported a dip in about a third
of the experiments, at any number of trials. With t* chosen on independent trials, the
rise of a flat curve is a mean-zero quantity and one-sided at 2 SEM it passes about
2.3 % of the time (less with the minimum relative change); the price is that the test
sees half the trials. The minimum relative change makes a dip of 0.03 on a distance of
10, significant with thousands of trials, not count as one.

:func:`dip_statistic` (a curve given only as mean ± SEM, as in a figure) has no trials
to split: it is the descriptive reading (t* from the same curve, SEM at t*) and decides
no verdict. :func:`dip_power` is the share of fresh samples of n trials (drawn with
replacement) that show the dip: the power of the test at n trials (C8 judges a dip in a
few kept trials).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from latentdyn.checks import as_float, need_rows
from latentdyn.errors import ConfigError

# the dip rule, fixed in code before any run (issue 19)
DIP_SEMS = 2.0  # depth and rise each above this many SEMs of their paired differences
MIN_RELATIVE_CHANGE = 0.02  # ... and each at least 2 % of d(0)


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
    """The descriptive dip of a mean curve (T+1,) and its per-time SEM (T+1,), for a
    curve without its trials (a figure's mean ± SEM). It decides no verdict: t* comes
    from the curve it then tests (see the module doc); use
    :func:`dip_statistic_from_trials` wherever the trials are at hand.

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


# ------------------------------------------------- the selection-free rule (issue 19)
def split_halves(n: int) -> np.ndarray:
    """The fixed split of n trials: 0 (t* is chosen on these) for even positions, 1
    (the dip is tested on these) for odd ones. Trials are drawn at random, so the
    positions' parity is a random split; a resample keeps each trial's half."""
    return np.arange(int(n)) % 2


def _as_groups(d, half) -> tuple[np.ndarray, np.ndarray, bool]:
    """``d`` as (n, G, T+1) float64 and ``half`` as (n, G) ints; whether d was 2-D."""
    d = np.asarray(d, dtype=np.float64)
    single = d.ndim == 2
    if d.ndim not in (2, 3):
        raise ConfigError(f"d must be (n, T+1) or (n, G, T+1), got shape {d.shape}")
    d = d[:, None, :] if single else d
    h = split_halves(d.shape[0]) if half is None else np.asarray(half)
    if h.ndim == 1:
        h = np.broadcast_to(h[:, None], d.shape[:2])
    if h.shape != d.shape[:2] or not np.isin(h, (0, 1)).all():
        raise ConfigError(f"half must hold 0 or 1 per trial ({d.shape[0]} trials), got "
                          f"shape {h.shape}")
    return d, h.astype(np.int64), single


def _masked_mean_sem(x: np.ndarray, w: np.ndarray, n: np.ndarray):
    """Mean and SEM over axis 0 of ``x`` (n, G) where ``w`` (n, G) is 1 (``n`` per group)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (x * w).sum(0) / n
        var = (((x - mean) ** 2) * w).sum(0) / (n - 1)
        return mean, np.sqrt(var / n)


def split_dip(d, half=None) -> dict:
    """The C1 dip test, free of selection: arrays per group (numpy).

    ``d`` (n, T+1) or (n, G, T+1) per-trial distances; ``half`` (n,) or (n, G), 0 or 1
    per trial (default :func:`split_halves`). t* = the argmin of the mean curve of the
    half-0 trials; on the half-1 trials alone, depth = mean of d_i(0) − d_i(t*) and rise
    = mean of d_i(T) − d_i(t*), each with the SEM of those paired differences. A dip
    when 0 < t* < T, depth > :data:`DIP_SEMS` · SEM and rise > :data:`DIP_SEMS` · SEM,
    and both depth and rise are at least :data:`MIN_RELATIVE_CHANGE` of the half-1 mean
    d(0). Returns a dict of (G,) arrays (t_star, T, d0, d_min, d_T, depth, rise,
    sem_depth, sem_rise, n_select, n_test, has_dip)."""
    d, h, _ = _as_groups(d, half)
    n_groups, T = d.shape[1], d.shape[2] - 1
    sel, tst = (h == 0).astype(np.float64), (h == 1).astype(np.float64)
    n0, n1 = sel.sum(0), tst.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = (d * sel[..., None]).sum(0) / n0[:, None]  # (G, T+1)
    t = np.where(n0 > 0, np.argmin(np.nan_to_num(curve, nan=np.inf), axis=1), 0)
    at_t = d[:, np.arange(n_groups), t]  # (n, G)
    depth, sem_depth = _masked_mean_sem(d[:, :, 0] - at_t, tst, n1)
    rise, sem_rise = _masked_mean_sem(d[:, :, -1] - at_t, tst, n1)
    d0, _ = _masked_mean_sem(d[:, :, 0], tst, n1)
    d_min, _ = _masked_mean_sem(at_t, tst, n1)
    d_T, _ = _masked_mean_sem(d[:, :, -1], tst, n1)
    floor = MIN_RELATIVE_CHANGE * np.abs(d0)
    with np.errstate(invalid="ignore"):
        has = ((n0 >= 1) & (n1 >= 2) & (t > 0) & (t < T)
               & (depth > DIP_SEMS * sem_depth) & (rise > DIP_SEMS * sem_rise)
               & (depth >= floor) & (rise >= floor))
    return {"t_star": t, "T": np.full(n_groups, T), "d0": d0, "d_min": d_min, "d_T": d_T,
            "depth": depth, "rise": rise, "sem_depth": sem_depth, "sem_rise": sem_rise,
            "n_select": n0.astype(int), "n_test": n1.astype(int), "has_dip": has}


def old_dip_np(d) -> np.ndarray:
    """The rule before issue 19, kept to be shown beside the new one: t* = argmin of the
    mean of *all* trials, then depth and rise > 2 SEM on the same trials (chosen and
    tested on the same data, so the rise is >= 0 by construction). ``d`` (n, G, T+1)
    or (n, T+1); one bool per group."""
    d, _, _ = _as_groups(d, None)
    n, T1 = d.shape[0], d.shape[2]
    if n < 2:
        return np.zeros(d.shape[1], dtype=bool)
    t = np.argmin(d.mean(0), axis=1)
    at_t = d[:, np.arange(d.shape[1]), t]
    depth, rise = d[:, :, 0] - at_t, d[:, :, -1] - at_t
    two_sem = 2 / math.sqrt(n)
    return ((t > 0) & (t < T1 - 1) & (depth.mean(0) > two_sem * depth.std(0, ddof=1))
            & (rise.mean(0) > two_sem * rise.std(0, ddof=1)))


def dip_statistic_from_trials(d, half=None) -> dict:
    """The C1 dip test on per-trial distances ``d`` (n, T+1), n >= 2: :func:`split_dip`
    (t* chosen on half the trials, the dip tested on the other half, each side at least
    :data:`MIN_RELATIVE_CHANGE` of d(0)), as plain Python numbers, with the relative
    depth and rise (of the tested half's d(0)), ``n_trials``, and the rule before issue
    19 on all trials beside it (``old_t_star``, ``old_has_dip``, ``old_relative_depth``,
    ``old_relative_rise``)."""
    d = as_float(d, "d", 2).double()
    need_rows(d, 2, "d (a standard error needs trials)")
    if d.shape[1] == 0:
        raise ConfigError("d has no time steps")
    arr = d.cpu().numpy()
    out = {k: v[0].item() for k, v in split_dip(arr, half).items()}
    out["has_dip"] = bool(out["has_dip"])
    d0 = out["d0"]
    for key in ("depth", "rise"):
        out[f"relative_{key}"] = out[key] / d0 if d0 > 0 else float("nan")
    old = _dip(torch.from_numpy(arr.mean(0)), int(np.argmin(arr.mean(0))), math.nan, math.nan)
    out.update(old_t_star=old["t_star"], old_has_dip=bool(old_dip_np(arr)[0]),
               old_relative_depth=old["relative_depth"], old_relative_rise=old["relative_rise"],
               n_trials=int(d.shape[0]))
    return out


def has_dip_np(d, half=None):
    """:func:`dip_statistic_from_trials`' verdict alone on numpy arrays, fast enough to
    repeat over thousands of resamples: ``d`` (n, T+1) gives a bool, ``d`` (n, G, T+1)
    (G groups of n trials each, e.g. labels) one bool per group; ``half`` as in
    :func:`split_dip` (a resample passes each drawn trial's own half)."""
    single = np.ndim(d) == 2
    out = split_dip(d, half)["has_dip"]
    return bool(out[0]) if single else out


def dip_power(d, n: int, *, draws: int = 1000, seed: int = 0) -> float:
    """The share of ``draws`` samples of ``n`` trials, drawn *with replacement* from the
    trials ``d`` (N, T+1) (each keeping its half of :func:`split_halves`), whose dip
    test finds a dip: the power of the test on ``n`` fresh trials from the distribution
    the N trials estimate (drawing without replacement from the same N would reuse
    most of them and overstate it)."""
    d = np.asarray(as_float(d, "d", 2).double())
    if not 2 <= int(n) <= d.shape[0]:
        raise ConfigError(f"n must lie in [2, {d.shape[0]}] (the trials), got {n}")
    rng = np.random.default_rng(seed)
    half = split_halves(d.shape[0])
    idx = rng.integers(0, d.shape[0], size=(int(draws), int(n)))
    hits = sum(has_dip_np(d[i], half[i]) for i in idx)
    return float(hits / int(draws))
