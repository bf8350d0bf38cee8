"""How sure a statistic is: seeded bootstrap intervals, the share of resamples in which a
claim's rule holds, and permutation nulls.

Every function here takes the per-unit data (trials, images, ...) as arrays whose first
axis is the unit, and a ``statistic`` function of those arrays; resampling draws units
with replacement (several arrays are resampled together, so paired data stay paired),
from a NumPy generator seeded with ``seed``, so the same call gives the same numbers.
Intervals are percentile intervals of the resampled statistic.
"""

from __future__ import annotations

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

    @property
    def interval(self) -> tuple:
        return (_plain(self.low), _plain(self.high))

    def share(self, rule: Callable[[Any], bool]) -> float:
        """The fraction of resamples whose statistic satisfies ``rule``."""
        return float(np.mean([bool(rule(s)) for s in self.samples]))

    def interval_of(self, derive: Callable[[Any], Any]) -> tuple[float, float]:
        """The percentile interval, at ``level``, of ``derive(statistic)`` over the
        resamples: the interval of a number derived from a vector statistic (its
        smallest component, a count of components that pass, ...)."""
        values = np.asarray([derive(s) for s in self.samples], dtype=float)
        tail = 50 * (1 - self.level)
        low, high = np.percentile(values, [tail, 100 - tail])
        return float(low), float(high)

    def describe(self) -> str:
        return (f"percentile bootstrap, {len(self.samples)} resamples, "
                f"seed {self.seed}, {100 * self.level:g} % interval")


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
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(samples, [tail, 100 - tail], axis=0)
    return Bootstrap(_plain(estimate), low, high, level, samples, seed)


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


__all__ = ["Bootstrap", "DEFAULT_RESAMPLES", "Null", "bootstrap", "mean_interval",
           "permutation_null", "share_holding"]
