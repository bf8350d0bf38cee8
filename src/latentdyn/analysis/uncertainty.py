"""How sure a statistic is: seeded bootstrap intervals, the share of resamples in which a
claim's rule holds, and permutation nulls.

Every function here takes the per-unit data (trials, images, ...) as arrays whose first
axis is the unit, and a ``statistic`` function of those arrays; resampling draws units
with replacement (several arrays are resampled together, so paired data stay paired),
from a NumPy generator seeded with ``seed``, so the same call gives the same numbers.
Intervals are percentile intervals of the resampled statistic.

:func:`grouped_bootstrap` is the bootstrap of data made of several independent groups
(labels, noise levels, latent sizes) of n units each: every group draws its units with
its own index. A resample whose statistic is undefined (NaN, e.g. a class absent from
it) is left out of the interval and of the share in which a rule holds, and counted
(``Bootstrap.undefined``); it is never scored as a failure of the rule.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from latentdyn.errors import ConfigError

DEFAULT_RESAMPLES = 1000


@dataclass
class Bootstrap:
    """``estimate`` (the statistic on the data), the percentile ``low``/``high`` at
    ``level``, and the statistic on each resample (``samples``, shape (B, ...))."""

    estimate: Any
    low: Any
    high: Any
    level: float
    samples: np.ndarray
    seed: int
    grouped: bool = False  # each group resampled with its own index (grouped_bootstrap)

    @property
    def interval(self) -> tuple:
        return (_plain(self.low), _plain(self.high))

    def defined(self, columns=None) -> np.ndarray:
        """Per resample, whether its statistic (its ``columns``, when given: indices
        into the flattened statistic) has no NaN."""
        flat = self.samples.reshape(len(self.samples), -1)
        if columns is not None:
            flat = flat[:, np.atleast_1d(columns)]
        return ~np.isnan(flat).any(axis=1)

    @property
    def undefined(self) -> int:
        """How many resamples gave an undefined (NaN) statistic."""
        return int((~self.defined()).sum())

    def share(self, rule: Callable[[Any], bool], columns=None) -> float:
        """The fraction of the resamples whose statistic is defined (no NaN, in
        ``columns`` when given) that satisfy ``rule``; nan when none is defined."""
        keep = self.defined(columns)
        if not keep.any():
            return float("nan")
        return float(np.mean([bool(rule(s)) for s in self.samples[keep]]))

    def point_mass(self, columns=None) -> bool:
        """Whether every defined resample gives the same value (of ``columns``): the
        resampling cannot move the statistic, so its interval and share say nothing
        about how sure it is."""
        flat = self.samples.reshape(len(self.samples), -1)
        flat = flat if columns is None else flat[:, np.atleast_1d(columns)]
        flat = flat[~np.isnan(flat).any(axis=1)]
        return bool(len(flat) > 0 and (flat == flat[0]).all())

    def interval_of(self, derive: Callable[[Any], Any]) -> tuple[float, float]:
        """The percentile interval, at ``level``, of ``derive(statistic)`` over the
        resamples where it is defined: the interval of a number derived from a vector
        statistic (its smallest component, a count of components that pass, ...)."""
        values = np.asarray([derive(s) for s in self.samples], dtype=float)
        tail = 50 * (1 - self.level)
        if np.isnan(values).all():
            return float("nan"), float("nan")
        low, high = np.nanpercentile(values, [tail, 100 - tail])
        return float(low), float(high)

    def describe(self) -> str:
        text = (f"percentile bootstrap, {len(self.samples)} resamples, "
                f"seed {self.seed}, {100 * self.level:g} % interval")
        if self.grouped:
            text += ", each group resampled with its own index"
        if self.undefined:
            text += (f"; {self.undefined} resample(s) with an undefined component (left out "
                     "where a rule or interval reads it)")
        return text


def _as_arrays(data) -> list[np.ndarray]:
    arrays = list(data) if isinstance(data, (tuple, list)) else [data]
    out = []
    for a in arrays:
        a = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
        if a.ndim == 0:
            raise ConfigError("bootstrap data need a first axis of units")
        out.append(a)
    n = {a.shape[0] for a in out}
    if len(n) != 1:
        raise ConfigError(f"paired bootstrap data differ in their number of units: {sorted(n)}")
    if n.pop() < 2:
        raise ConfigError("a bootstrap needs at least two units")
    return out


def _plain(v):
    v = np.asarray(v)
    return float(v) if v.ndim == 0 else v.tolist()


def bootstrap(data, statistic: Callable, *, n_resamples: int = DEFAULT_RESAMPLES,
              level: float = 0.95, seed: int = 0) -> Bootstrap:
    """The statistic of ``data`` (an array, or a tuple of arrays sharing their first
    axis, passed to ``statistic`` as positional arguments) and its percentile interval
    over ``n_resamples`` resamples of the units."""
    if not (isinstance(n_resamples, int) and n_resamples >= 10):
        raise ConfigError(f"n_resamples must be an integer >= 10, got {n_resamples!r}")
    if not 0 < level < 1:
        raise ConfigError(f"level must lie in (0, 1), got {level!r}")
    arrays = _as_arrays(data)
    n = arrays[0].shape[0]
    rng = np.random.default_rng(seed)
    estimate = np.asarray(statistic(*arrays), dtype=float)
    samples = np.stack([np.asarray(statistic(*[a[idx] for a in arrays]), dtype=float)
                        for idx in rng.integers(0, n, size=(n_resamples, n))])
    return _finish(estimate, samples, level, seed)


def grouped_bootstrap(data, statistic: Callable, *, n_resamples: int = DEFAULT_RESAMPLES,
                      level: float = 0.95, seed: int = 0) -> Bootstrap:
    """:func:`bootstrap` of data made of G independent groups of n units: ``data`` (an
    array, or a tuple of arrays) of shape (n, G, ...), axis 1 the group (labels, noise
    levels, latent sizes). Each resample draws every group's n units with its own index
    (units within a group stay paired across the arrays), so the groups' resamples are
    independent, as their trials are."""
    if not (isinstance(n_resamples, int) and n_resamples >= 10):
        raise ConfigError(f"n_resamples must be an integer >= 10, got {n_resamples!r}")
    if not 0 < level < 1:
        raise ConfigError(f"level must lie in (0, 1), got {level!r}")
    arrays = _as_arrays(data)
    if any(a.ndim < 2 for a in arrays) or len({a.shape[1] for a in arrays}) != 1:
        raise ConfigError("grouped bootstrap data need shape (units, groups, ...)")
    n, groups = arrays[0].shape[:2]
    rng = np.random.default_rng(seed)
    cols = np.arange(groups)[None, :]
    estimate = np.asarray(statistic(*arrays), dtype=float)
    samples = np.stack([np.asarray(statistic(*[a[idx, cols] for a in arrays]), dtype=float)
                        for idx in rng.integers(0, n, size=(n_resamples, n, groups))])
    return _finish(estimate, samples, level, seed, grouped=True)


def _finish(estimate, samples, level: float, seed: int, grouped: bool = False) -> Bootstrap:
    tail = 100 * (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column gives NaN
        low, high = np.nanpercentile(samples, [tail, 100 - tail], axis=0)
    return Bootstrap(_plain(estimate), low, high, level, samples, seed, grouped)


def mean_interval(values, **kwargs) -> Bootstrap:
    """The bootstrap of the mean of ``values`` over their first axis."""
    return bootstrap(values, lambda v: v.mean(axis=0), **kwargs)


@dataclass
class Null:
    """The statistic under a null: its value on each permuted copy (``samples``), their
    ``mean`` and the ``quantile`` at ``level`` (what an effect must exceed)."""

    samples: np.ndarray
    mean: float
    quantile: float
    level: float
    seed: int

    def p_value(self, observed: float, larger: bool = True) -> float:
        """The share of null samples at least as extreme as ``observed`` (with the
        usual +1 correction)."""
        s = self.samples
        hits = np.sum(s >= observed) if larger else np.sum(s <= observed)
        return float((hits + 1) / (len(s) + 1))


def permutation_null(labels, statistic: Callable[[np.ndarray], float], *,
                     n_permutations: int = 200, level: float = 0.95, seed: int = 0,
                     larger: bool = True) -> Null:
    """``statistic(permuted labels)`` over ``n_permutations`` seeded shuffles of
    ``labels``: the statistic when labels carry no information."""
    labels = _as_arrays(labels)[0]
    rng = np.random.default_rng(seed)
    samples = np.asarray([float(statistic(rng.permutation(labels)))
                          for _ in range(int(n_permutations))])
    q = np.quantile(samples, level if larger else 1 - level)
    return Null(samples, float(samples.mean()), float(q), level, seed)


def share_holding(values: Sequence, rule: Callable[[Any], bool]) -> float:
    """The fraction of ``values`` (e.g. one statistic per training seed) satisfying
    ``rule``."""
    values = list(values)
    return float(np.mean([bool(rule(v)) for v in values])) if values else float("nan")


__all__ = ["Bootstrap", "DEFAULT_RESAMPLES", "Null", "bootstrap", "grouped_bootstrap",
           "mean_interval",
           "permutation_null", "share_holding"]
