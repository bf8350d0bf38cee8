"""The times and the law of ``latentdyn transition`` (issue 20), with rules fixed here
before any run:

* τ_concept of a size n: the first snapshot at which the concept picture holds, read as
  the C1 dip (the selection-free rule) for at least :data:`CONCEPT_SHARE` of the
  labels (mean over seeds);
* τ_mem: the first snapshot at which ``memorisation`` (the return share of training
  starts minus that of held-out starts, :mod:`.measure`; mean over seeds) reaches
  :data:`MEMORY_THRESHOLD`;
* each with a bootstrap interval: :data:`BOOT` resamples of the seeds and, within each
  seed and label, of the trials (the same resampled trials at every snapshot, since
  every snapshot runs the same trials); a resample whose statistic never crosses in the
  grid gives τ = inf (beyond the grid);
* the law τ ∝ n^α: least squares of log τ on log n over the sizes whose τ lies inside
  the grid, α's interval the percentiles of the same fit on each resample;
* the prediction: the law fitted on every size but the largest predicts τ at the
  largest (point and interval from the resamples) before that size is evaluated; it
  *holds* when the predicted and measured intervals overlap, and fails otherwise; a
  measured τ beyond the grid fails a prediction inside it and leaves one that reaches
  beyond the grid untested (said so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from latentdyn.analysis.distances import split_halves, split_dip

CONCEPT_SHARE = 0.9
MEMORY_THRESHOLD = 0.2
BOOT = 200
LEVEL = 0.95
BOOT_SEED = 20


@dataclass
class Series:
    """One size's statistics per snapshot, per seed: ``dip`` (S, trials, G, T+1) or
    None, ``train`` (S, n) and ``held_out`` (S, m) returns (0/1)."""

    n: int
    steps: list
    dip: list = field(default_factory=list)  # per seed
    train: list = field(default_factory=list)
    held_out: list = field(default_factory=list)


@dataclass
class Tau:
    point: float  # inf: never within the grid
    lo: float
    hi: float
    reps: np.ndarray

    def as_dict(self) -> dict:
        def f(v):
            return None if not math.isfinite(v) else float(v)

        return {"tau": f(self.point), "lo": f(self.lo), "hi": f(self.hi),
                "inside_share": float(np.isfinite(self.reps).mean()) if self.reps.size else 0.0}


def first_crossing(steps, holds) -> float:
    """The first step at which ``holds`` is true (inf when never)."""
    for s, h in zip(steps, holds):
        if h:
            return float(s)
    return math.inf


def _concept_holds(dips: list, picks=None) -> np.ndarray:
    """(S,) whether the dip holds for CONCEPT_SHARE of labels, mean over seeds."""
    fractions = [_per_step(d, None if picks is None else picks[k]) for k, d in enumerate(dips)]
    return np.mean(fractions, axis=0) >= CONCEPT_SHARE


def _per_step(d: np.ndarray, idx) -> np.ndarray:
    """(S,) share of labels with a dip; ``idx`` (trials, G) resampled trials or None."""
    S, n, G, _ = d.shape
    half = split_halves(n)
    out = []
    for s in range(S):
        if idx is None:
            out.append(split_dip(d[s])["has_dip"].mean())
        else:
            out.append(split_dip(d[s][idx, np.arange(G)], half[idx])["has_dip"].mean())
    return np.asarray(out)


def _memory_holds(train: list, held: list, picks=None) -> np.ndarray:
    vals = []
    for k, (a, b) in enumerate(zip(train, held)):
        if picks is not None:
            a, b = a[:, picks[k][0]], b[:, picks[k][1]]
        vals.append(a.mean(1) - b.mean(1))
    return np.mean(vals, axis=0) >= MEMORY_THRESHOLD


def _interval(reps: np.ndarray) -> tuple[float, float]:
    q = (1 - LEVEL) / 2
    with np.errstate(invalid="ignore"):
        lo, hi = np.quantile(reps, [q, 1 - q], method="inverted_cdf")
    return float(lo), float(hi)


def tau(series: Series, kind: str, boot: int = BOOT, seed: int = BOOT_SEED) -> Tau:
    """τ_concept (``kind="concept"``) or τ_mem (``"memory"``) of one size (module doc)."""
    if kind == "concept" and any(d is None for d in series.dip):
        return Tau(math.inf, math.inf, math.inf, np.full(0, math.inf))
    rng = np.random.default_rng(seed)
    seeds = len(series.train)
    holds = (_concept_holds(series.dip) if kind == "concept"
             else _memory_holds(series.train, series.held_out))
    point = first_crossing(series.steps, holds)
    reps = np.empty(boot)
    for b in range(boot):
        ks = rng.integers(seeds, size=seeds)
        if kind == "concept":
            dips = [series.dip[k] for k in ks]
            picks = [rng.integers(d.shape[1], size=(d.shape[1], d.shape[2])) for d in dips]
            h = _concept_holds(dips, picks)
        else:
            tr, ho = [series.train[k] for k in ks], [series.held_out[k] for k in ks]
            picks = [(rng.integers(a.shape[1], size=a.shape[1]),
                      rng.integers(c.shape[1], size=c.shape[1])) for a, c in zip(tr, ho)]
            h = _memory_holds(tr, ho, picks)
        reps[b] = first_crossing(series.steps, h)
    lo, hi = _interval(reps)
    return Tau(point, lo, hi, reps)


def fit_power(ns, taus) -> tuple[float, float] | None:
    """(α, log c) of τ = c n^α by least squares in logs over the finite τ (None when
    fewer than two sizes have one)."""
    ns, taus = np.asarray(ns, float), np.asarray(taus, float)
    ok = np.isfinite(taus) & (taus > 0)
    if ok.sum() < 2 or len(set(ns[ok])) < 2:
        return None
    alpha, c = np.polyfit(np.log(ns[ok]), np.log(taus[ok]), 1)
    return float(alpha), float(c)


@dataclass
class Law:
    alpha: float | None
    lo: float | None
    hi: float | None
    sizes: list  # the sizes fitted
    fitted: int  # how many of them have τ inside the grid

    def as_dict(self) -> dict:
        return {"alpha": self.alpha, "interval": [self.lo, self.hi], "sizes": self.sizes,
                "sizes_inside_grid": self.fitted}


def fit_law(taus: dict) -> Law:
    """The law over ``taus`` (n -> :class:`Tau`), α's interval from the resamples."""
    ns = sorted(taus)
    point = fit_power(ns, [taus[n].point for n in ns])
    fitted = sum(math.isfinite(taus[n].point) for n in ns)
    if point is None:
        return Law(None, None, None, ns, fitted)
    boots = min(len(taus[n].reps) for n in ns)
    alphas = [f[0] for b in range(boots)
              if (f := fit_power(ns, [taus[n].reps[b] for n in ns])) is not None]
    lo, hi = _interval(np.asarray(alphas)) if alphas else (None, None)
    return Law(point[0], lo, hi, ns, fitted)


def predict(taus: dict, n_big: int) -> dict:
    """τ at ``n_big`` predicted by the law fitted on ``taus`` (the smaller sizes):
    point and interval (from the fits of the resamples), before ``n_big`` is measured."""
    ns = sorted(taus)
    point = fit_power(ns, [taus[n].point for n in ns])
    if point is None:
        return {"n": n_big, "fitted_on": ns, "tau": None, "lo": None, "hi": None,
                "alpha": None, "possible": False}
    boots = min(len(taus[n].reps) for n in ns)
    preds = [math.exp(f[1] + f[0] * math.log(n_big)) for b in range(boots)
             if (f := fit_power(ns, [taus[n].reps[b] for n in ns])) is not None]
    lo, hi = _interval(np.asarray(preds)) if preds else (None, None)
    return {"n": n_big, "fitted_on": ns, "alpha": point[0], "possible": True,
            "tau": math.exp(point[1] + point[0] * math.log(n_big)), "lo": lo, "hi": hi}


def check_prediction(pred: dict, measured: Tau, last_step: float | None = None) -> dict:
    """The prediction against the measurement: holds when the intervals overlap. A τ
    measured beyond the grid is only known to exceed its ``last_step``: it fails a
    prediction wholly inside the grid, and cannot test one that reaches beyond it
    (``holds`` None, said so)."""
    out = {**pred, "measured": measured.as_dict()}
    if not pred.get("possible"):
        out.update(holds=None, verdict="no prediction: τ inside the grid at fewer than two "
                   "of the smaller sizes")
        return out
    m_lo, m_hi = measured.lo, measured.hi
    if not math.isfinite(m_lo) and last_step is not None:
        if pred["hi"] > last_step:
            out.update(holds=None, verdict=(
                f"not tested: the measured τ lies beyond the grid's last snapshot "
                f"({last_step:g} steps) and the predicted interval reaches beyond it too; "
                f"consistent, but the grid cannot tell"))
        else:
            out.update(holds=False, verdict=(
                "the prediction fails (predicted inside the grid, measured beyond its last "
                f"snapshot, {last_step:g} steps)"))
        return out
    holds = bool(pred["lo"] <= m_hi and m_lo <= pred["hi"])
    out.update(holds=holds, verdict="the prediction holds (the intervals overlap)" if holds
               else "the prediction fails (the intervals do not overlap)")
    return out


__all__ = ["BOOT", "CONCEPT_SHARE", "Law", "MEMORY_THRESHOLD", "Series", "Tau",
           "check_prediction", "first_crossing", "fit_law", "fit_power", "predict", "tau"]
