"""Distances along the sampling chain of paper 002, read three ways.

A sample z ~ q(z | x) = N(μ(x), diag σ²(x)) lies, from any fixed point ξ, at

    E‖z − ξ‖₂² = ‖μ(x) − ξ‖₂² + Σ_u σ_u²(x)                         (*)

so the distance of a sample carries a noise floor Σσ² that has nothing to do with
where the chain is. Along a chain (:func:`latentdyn.dynamics.sampling.sample_chain`:
samples z(t), posterior means μ(x(t)), floors Σσ²(x(t))) each distance is read as

* ``raw`` -- ‖z(t) − ξ‖₂, the distance of the sample: paper 002's literal quantity
  (unsquared, latent units);
* ``mean`` -- ‖μ(x(t)) − ξ‖₂, the distance of the posterior mean of the sampled state
  x(t) (unsquared, latent units);
* ``corrected`` -- ‖z(t) − ξ‖₂² − Σ_u σ_u²(x(t)): the *squared* raw distance minus the
  *squared* noise floor of the same step (squared latent units; a single trial may be
  negative). By (*) its expectation over the draw of z(t) given x(t) is
  ‖μ(x(t)) − ξ‖₂², the square of the ``mean`` reading, so it is what the paper's
  quantity says once its noise floor is removed. The floor itself is kept beside it
  (``floor``, squared units). Nothing unsquared is ever subtracted from anything
  squared: the floor is subtracted from the squared distance, never from the distance.

The minimum over t (Fig. 3; paper 001, eq. 13) is taken per trial for ``raw`` and
``mean``. For ``corrected`` the per-trial minimum of a noisy estimate would be pulled
down by the very noise the reading removes, so the minimum is that of the trial-mean
curve, and each trial contributes its value at that step (:func:`level_values`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from latentdyn.analysis.distances import (
    dip_statistic_from_trials,
    distance_to,
    mean_sem,
    split_dip,
    split_halves,
)
from latentdyn.analysis.hierarchy import Hierarchy
from latentdyn.analysis.stages import LEVELS
from latentdyn.analysis.uncertainty import Bootstrap, bootstrap
from latentdyn.checks import as_float, as_labels
from latentdyn.errors import ConfigError

READINGS = ("raw", "mean", "corrected")
SQUARED = {"raw": False, "mean": False, "corrected": True}
READING_NAMES = {
    "raw": "raw: ||z(t) - xi|| of the sample (the paper's quantity)",
    "mean": "posterior mean: ||mu(x(t)) - xi||",
    "corrected": "floor-corrected: ||z(t) - xi||^2 - sum sigma^2(x(t)) (squared)",
}


def check_reading(reading: str) -> str:
    if reading not in READINGS:
        raise ConfigError(f"unknown reading {reading!r}; choose from {', '.join(READINGS)}")
    return reading


# ------------------------------------------------------------------- the readings
@dataclass
class DistanceReadings:
    """The three readings of the distance of n chains to one target each, (n, T+1)
    each, and the noise floor Σσ²(x(t)) (squared units)."""

    raw: Tensor
    mean: Tensor
    corrected: Tensor
    floor: Tensor

    def of(self, reading: str) -> Tensor:
        return getattr(self, check_reading(reading))


def _check_chain(z, mu, floor) -> tuple[Tensor, Tensor, Tensor]:
    z, mu = as_float(z, "z", 3), as_float(mu, "mu", 3)
    floor = as_float(floor, "floor", 2)
    if mu.shape != z.shape or floor.shape != z.shape[:2]:
        raise ConfigError(f"z {tuple(z.shape)}, mu {tuple(mu.shape)} and floor "
                          f"{tuple(floor.shape)} must be (n, T+1, nz), (n, T+1, nz), (n, T+1)")
    if bool((floor < 0).any()):
        raise ConfigError("floor is a sum of variances and cannot be negative")
    return z, mu, floor


def squared_distance_to(z, targets) -> Tensor:
    """‖z_i(t) − ξ_i‖₂² (n, T+1), summed in float64 (``targets`` as :func:`distance_to`)."""
    z = as_float(z, "z", 3).double()
    return distance_to(z, as_float(targets, "targets", (1, 2)).double()).pow(2)


def distance_readings(z, mu, floor, targets) -> DistanceReadings:
    """The three readings (module doc) of chains ``z``, ``mu`` (n, T+1, nz) with floors
    ``floor`` (n, T+1) against ``targets``: one point (nz,) or one per trial (n, nz)."""
    z, mu, floor = _check_chain(z, mu, floor)
    raw = distance_to(z, targets)
    corrected = squared_distance_to(z, targets) - floor.double()
    return DistanceReadings(raw, distance_to(mu, targets), corrected.to(z.dtype), floor)


def readings_of(chain, targets) -> DistanceReadings:
    """:func:`distance_readings` of a :class:`~latentdyn.dynamics.sampling.SampledChain`."""
    return distance_readings(chain.z, chain.mu, chain.floor, targets)


# ------------------------------------------------------------- Fig. 2b: the dip
@dataclass
class ReadingCourse:
    """One reading's time course: mean ± SEM over trials and the dip of claim C1
    (:func:`~latentdyn.analysis.dip_statistic_from_trials`) with its approach and
    escape rates."""

    mean: Tensor  # (T+1,)
    sem: Tensor  # (T+1,)
    dip: dict


def approach_escape(dip: dict) -> dict:
    """The mean speed of approach, (d(0) − d(t*)) / t*, and of escape,
    (d(T) − d(t*)) / (T − t*), per step (``nan`` where t* is 0 or T); ``fast_slow``
    when the dip holds and the approach is faster than the escape; and
    ``old_fast_slow``, the same under the dip rule before issue 19 (t* chosen on the
    trials that test it), when ``dip`` carries it."""
    t, T = dip["t_star"], dip["T"]
    rate_in = dip["depth"] / t if t > 0 else math.nan
    rate_out = dip["rise"] / (T - t) if t < T else math.nan
    fast = bool(dip["has_dip"] and rate_in > rate_out)
    out = {"approach_rate": rate_in, "escape_rate": rate_out, "fast_slow": fast}
    if "old_has_dip" in dip:
        t0 = dip["old_t_star"]
        out["old_fast_slow"] = bool(dip["old_has_dip"] and 0 < t0 < T and
                                    dip["old_relative_depth"] / t0
                                    > dip["old_relative_rise"] / (T - t0))
    return out


def reading_course(d) -> ReadingCourse:
    """Mean ± SEM and the dip (with :func:`approach_escape`) of per-trial curves d (n, T+1)."""
    d = as_float(d, "d", 2)
    mean, sem = mean_sem(d)
    dip = dip_statistic_from_trials(d)
    dip.update(approach_escape(dip))
    return ReadingCourse(mean, sem, dip)


def dip_flags(d: np.ndarray, half=None) -> np.ndarray:
    """[has_dip, fast_slow] of curves d (n, T+1) as floats: the rule of
    :func:`reading_course` (the selection-free dip of
    :func:`~latentdyn.analysis.distances.split_dip`, ``half`` as there) in NumPy, for
    the bootstrap (same verdicts)."""
    r = {k: v[0] for k, v in split_dip(np.asarray(d, dtype=np.float64), half).items()}
    t, T = int(r["t_star"]), int(r["T"])
    has = bool(r["has_dip"])
    fast = has and r["depth"] / t > r["rise"] / (T - t)
    return np.asarray([float(has), float(fast)])


def dip_bootstrap(d, n_resamples: int = 1000, seed: int = 0) -> Bootstrap:
    """Resamples of the trials of d (n, T+1), each trial keeping its half of
    :func:`~latentdyn.analysis.distances.split_halves` (so a trial drawn twice never
    both chooses t* and tests it): each gives [has_dip, fast_slow]."""
    d = np.asarray(as_float(d, "d", 2).double())
    return bootstrap((d, split_halves(d.shape[0])), dip_flags, n_resamples=n_resamples,
                     seed=seed)


# ---------------------------------------------------- escape into a memory (at T)
@dataclass
class MemoryEscape:
    """At one step: each trial's distance (in one reading) to its nearest training
    memory and to its concept; ``margin`` = to_concept − to_memory (> 0: closer to a
    memory than to the concept); ``nearest`` the row of that memory."""

    to_memory: Tensor  # (n,)
    to_concept: Tensor  # (n,)
    nearest: Tensor  # (n,) int64

    @property
    def margin(self) -> Tensor:
        return self.to_concept - self.to_memory


def nearest_memory(points, memories, batch_size: int = 512) -> tuple[Tensor, Tensor]:
    """Squared distance (float64) from each of ``points`` (n, nz) to its nearest row
    of ``memories`` (N, nz), and that row's index."""
    points = as_float(points, "points", 2).double()
    memories = as_float(memories, "memories", 2).double()
    if memories.shape[0] == 0 or memories.shape[1] != points.shape[1]:
        raise ConfigError(f"memories {tuple(memories.shape)} do not fit points "
                          f"{tuple(points.shape)}")
    m2 = memories.pow(2).sum(1)
    best, where = [], []
    for s in range(0, points.shape[0], batch_size):
        p = points[s:s + batch_size]
        d2 = (p.pow(2).sum(1, keepdim=True) + m2 - 2 * p @ memories.T).clamp_min(0)
        v, i = d2.min(1)
        best.append(v)
        where.append(i)
    return torch.cat(best), torch.cat(where)


SELECT = ("mean", "sample")  # what picks the nearest memory: mu(x(t)), or the sample z(t)


def memory_escape(z, mu, floor, memories, concepts, reading: str,
                  select: str = "mean") -> MemoryEscape:
    """:class:`MemoryEscape` of one step's states in ``reading``: samples z (n, nz),
    posterior means mu (n, nz), floors (n,), each trial's concept (n, nz).

    The nearest memory is chosen by the posterior mean mu (``select="mean"``, issue 19);
    the distance to it is then read in ``reading`` like the distance to the concept.
    Chosen by the noisy sample z itself (``select="sample"``, the rule before issue 19)
    the nearest of N memories is the one the sampling noise happens to point to, so
    min_j ‖z − ξ_j‖² − Σσ² is biased low (by up to the noise's share of the floor) and
    the raw distance too, and the margin to the concept is biased in favour of the
    memory. Chosen by mu, which does not depend on the draw of z given x, the corrected
    reading's expectation is ‖mu − ξ‖² exactly, as for the concept. The ``mean``
    reading reads mu itself, so both choices are the memory nearest mu there."""
    check_reading(reading)
    if select not in SELECT:
        raise ConfigError(f"select must be one of {', '.join(SELECT)}, got {select!r}")
    z, mu = as_float(z, "z", 2).double(), as_float(mu, "mu", 2).double()
    floor = as_float(floor, "floor", 1).double()
    concepts = as_float(concepts, "concepts", 2).double()
    memories = as_float(memories, "memories", 2).double()
    points = mu if reading == "mean" else z
    _, idx = nearest_memory(mu if select == "mean" else points, memories)
    d2_mem = (points - memories[idx]).pow(2).sum(1)
    d2_con = (points - concepts).pow(2).sum(1)
    if reading == "corrected":
        return MemoryEscape(d2_mem - floor, d2_con - floor, idx)
    return MemoryEscape(d2_mem.sqrt(), d2_con.sqrt(), idx)


# ------------------------------------------------------------ Fig. 3: the stages
def level_readings(z, mu, floor, hierarchy: Hierarchy, memory_index) -> dict:
    """``{level: DistanceReadings}`` of chains started from the training memories
    ``memory_index`` (n,) against their own memory, their concept and the abstract
    concept."""
    idx = as_labels(memory_index, "memory_index")
    if idx.shape[0] != as_float(z, "z", 3).shape[0]:
        raise ConfigError("memory_index needs one entry per trial")
    targets = {"memory": hierarchy.memories[idx],
               "concept": hierarchy.concepts_for(hierarchy.labels[idx]),
               "abstract": hierarchy.abstract}
    return {lv: distance_readings(z, mu, floor, t) for lv, t in targets.items()}


def level_values(curves, reading: str) -> np.ndarray:
    """Per-trial values (n,) whose mean is Fig. 3's minimum distance, from one level's
    curves (n, T+1) in ``reading``: the per-trial min over t (``raw``, ``mean``), or
    each trial's value at the argmin of the trial-mean curve (``corrected``)."""
    d = np.asarray(as_float(curves, "curves", 2).double())
    if check_reading(reading) == "corrected":
        return d[:, int(np.argmin(d.mean(0)))]
    return d.min(1)


def level_summary(curves: dict, reading: str) -> dict:
    """``{level: (mean, sem)}`` of :func:`level_values`."""
    out = {}
    for lv in LEVELS:
        v = level_values(curves[lv], reading)
        out[lv] = (float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))))
    return out


@dataclass
class StageBootstrap:
    """Fig. 3 over resamples of the trials of every noise level: the closest level per
    resample and level (``closest``, (B, L)), the share of resamples whose stages are
    exactly memory → concept → abstract (``ordered``), and the number of noise levels
    at which the concept is closest (``concept_width``, (B,))."""

    closest: list
    ordered: float
    concept_width: np.ndarray
    method: str


def stage_bootstrap(curves_by_p, reading: str, n_resamples: int = 1000,
                    seed: int = 0) -> StageBootstrap:
    """Resample the trials of each noise level independently (seeded ``[seed, k]`` for
    level k) and redo :func:`level_summary`'s means and the closest level.

    ``curves_by_p``: per noise level, ``{level: (n, T+1) curves}`` in ``reading``. A
    resample is a row of counts over the n trials, so each mean is one product."""
    from itertools import groupby

    check_reading(reading)
    if not (isinstance(n_resamples, int) and n_resamples >= 10):
        raise ConfigError(f"n_resamples must be an integer >= 10, got {n_resamples!r}")
    per_p = []
    for k, curves in enumerate(curves_by_p):
        rng = np.random.default_rng([seed, k])
        means = []
        for lv in LEVELS:
            d = np.asarray(as_float(curves[lv], f"curves[{lv!r}]", 2).double())
            n = d.shape[0]
            counts = np.zeros((n_resamples, n))
            np.add.at(counts, (np.arange(n_resamples)[:, None],
                               rng.integers(0, n, (n_resamples, n))), 1.0)
            if reading == "corrected":
                means.append((counts @ d / n).min(1))  # the trial-mean curve's minimum
            else:
                means.append(counts @ d.min(1) / n)
        per_p.append(np.argmin(np.stack(means, 1), 1))  # (B,), ties to the finer level
    closest = np.stack(per_p, 1) if per_p else np.zeros((n_resamples, 0), dtype=int)
    ordered = [[LEVELS[i] for i, _ in groupby(row)] == list(LEVELS) for row in closest]
    return StageBootstrap([[LEVELS[i] for i in row] for row in closest],
                          float(np.mean(ordered)), (closest == 1).sum(1),
                          f"percentile bootstrap over the trials of each noise level, "
                          f"{n_resamples} resamples, seed {seed}")


__all__ = ["DistanceReadings", "LEVELS", "MemoryEscape", "READINGS", "READING_NAMES",
           "ReadingCourse", "SELECT", "SQUARED", "StageBootstrap", "approach_escape", "check_reading", "dip_bootstrap",
           "dip_flags", "distance_readings", "level_readings", "level_summary",
           "level_values", "memory_escape", "nearest_memory", "reading_course",
           "readings_of", "squared_distance_to", "stage_bootstrap"]
