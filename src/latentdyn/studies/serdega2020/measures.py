"""Stage 3 of serdega2020: the statistics the claims and the report are built on, from
a :class:`~.family.FamilyResult` -- the MI bound of each code pooled over seeds and Q
fits, the chosen-minus-unchosen gap per fit, accuracies and ELBOs -- and the rows of
the data files."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import numpy as np

from latentdyn.analysis.uncertainty import Bootstrap
from latentdyn.errors import ConfigError
from latentdyn.models.codes import CAT
from latentdyn.studies.serdega2020.family import FamilyResult
from latentdyn.studies.serdega2020.profiles import lam_tag


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample sd (0 for one value; nan for none)."""
    values = [float(v) for v in values]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def pooled(*sds: float) -> float:
    """sqrt(sd0² + sd1² + ...)."""
    return math.sqrt(sum(s * s for s in sds))


def spread(units) -> tuple[float, float | None]:
    """The two sources of spread of a statistic measured per (training seed, Q fit),
    ``units`` (n_seeds, n_fits), as the one-way random-effects estimates (fits nested in
    seeds): the fit-to-fit sd within a model (pooled over seeds), and the sd of the
    seed-to-seed component -- the variance of the per-model means less the fit-to-fit
    variance they still carry (var(means) − sd_fit² / n_fits, at least 0); None with one
    seed (not measured). Their squares add to the variance of one (seed, fit) unit.

    Before issue 19 the second part was the sd of the per-model means as it was, which
    holds sd_fit² / n_fits of fit variance as well: added to sd_fit² it counted the fit
    variance twice (:func:`spread_old`)."""
    u = np.asarray(units, dtype=float)
    n_fits = u.shape[1]
    var_fit = float(np.mean(u.var(axis=1, ddof=1))) if n_fits > 1 else 0.0
    if u.shape[0] < 2:
        return math.sqrt(var_fit), None
    var_means = float(u.mean(axis=1).var(ddof=1))
    return math.sqrt(var_fit), math.sqrt(max(0.0, var_means - var_fit / n_fits))


def spread_old(units) -> tuple[float, float | None]:
    """:func:`spread` before issue 19: the fit-to-fit sd and the sd of the per-model
    means (which already hold part of the fit-to-fit variance)."""
    u = np.asarray(units, dtype=float)
    sd_fit = float(np.sqrt(np.mean(u.var(axis=1, ddof=1)))) if u.shape[1] > 1 else 0.0
    sd_seed = float(u.mean(axis=1).std(ddof=1)) if u.shape[0] > 1 else None
    return sd_fit, sd_seed


def floor_sd(units0, units1, old: bool = False) -> tuple[float, dict]:
    """S1's and S2's floor: sqrt of the summed variances of one (seed, fit) unit at both
    λ, fit-to-fit and (where measured) seed-to-seed (:func:`spread`); with the parts.
    ``old``: the floor before issue 19 (:func:`spread_old`)."""
    parts_of = spread_old if old else spread
    (f0, s0), (f1, s1) = parts_of(units0), parts_of(units1)
    parts = {"fit sd (λ=0)": f0, "fit sd (λ>0)": f1, "seed sd (λ=0)": s0, "seed sd (λ>0)": s1}
    return pooled(*(v for v in parts.values() if v is not None)), parts


def nested_bootstrap(arrays, statistic, *, n_resamples: int, level: float,
                     seed: int) -> Bootstrap:
    """A two-stage bootstrap of data measured per (training seed, Q fit): each of
    ``arrays`` is (n_seeds, n_fits), all indexed alike (paired: fit f of seed s at both
    λ). A resample draws n_seeds training seeds with replacement (the one seed, when
    there is one: the seed-to-seed variation is then not in the interval), then n_fits
    fits with replacement within each drawn seed, the same draws for every array;
    ``statistic(*resampled arrays)`` gives its value. Percentile interval at ``level``.

    Issue 19: the fits of one trained model are not independent units, so resampling
    (seed, fit) pairs as if they were (the bootstrap before) narrows the interval by
    leaving out most of the seed-to-seed variation."""
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    if not arrays or arrays[0].ndim != 2 or any(a.shape != arrays[0].shape for a in arrays):
        raise ConfigError("nested bootstrap data must be (n_seeds, n_fits) arrays of one shape")
    n_s, n_f = arrays[0].shape
    if n_s * n_f < 2:
        raise ConfigError("a bootstrap needs at least two units")
    rng = np.random.default_rng(seed)
    si = rng.integers(0, n_s, (n_resamples, n_s)) if n_s > 1 else \
        np.zeros((n_resamples, 1), dtype=int)
    fi = rng.integers(0, n_f, (n_resamples, n_s, n_f))
    picked = [a[si[..., None], fi] for a in arrays]  # (B, n_s, n_f) each
    estimate = np.asarray(statistic(*arrays), dtype=float)
    samples = np.stack([np.asarray(statistic(*[p[b] for p in picked]), dtype=float)
                        for b in range(n_resamples)])
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(samples, [tail, 100 - tail], axis=0)
    return Bootstrap(estimate.tolist() if estimate.ndim else float(estimate), low, high,
                     level, samples, seed)


@dataclass
class Measures:
    """The statistics of one family, per λ (keys ``lams``), over the training seeds
    ``seeds``."""

    tag: str
    family: str
    lams: tuple[float, float]  # (0, λ > 0)
    n_seeds: int
    codes: list[str]  # every code measured
    chosen: set[str]  # the codes the MI term was put on
    stats: dict[float, dict[str, tuple[float, float]]]  # code -> (mean, sd) over fits × seeds
    gaps: dict[float, list[float]]  # per fit; empty without chosen and unchosen Gaussian units
    test_elbo: dict[float, list[float]]  # per seed
    cat_acc: dict[float, list[float | None]]  # per seed (the co-trained run's: test purity)
    seeds: list[int] = field(default_factory=list)
    bounds: dict = field(default_factory=dict)  # λ -> code -> (n_seeds, n_fits) array
    gap_units: dict = field(default_factory=dict)  # λ -> (n_seeds, n_fits) array
    code_acc: dict = field(default_factory=dict)  # λ -> per seed CodeAccuracy (or None)

    @property
    def chosen_gauss(self) -> list[str]:
        return [c for c in self.codes if c != CAT and c in self.chosen]

    @property
    def unchosen_gauss(self) -> list[str]:
        return [c for c in self.codes if c != CAT and c not in self.chosen]


def measure(fr: FamilyResult, seeds=None) -> Measures:
    """The :class:`Measures` of ``fr`` (only the models of ``seeds``, default all):
    bounds pooled over seeds and Q fits, and per (seed, fit) for the floors and the
    intervals."""
    seeds = list(fr.seeds if seeds is None else seeds)
    models = {lam: [r for r in fr.models[lam] if r.seed in seeds] for lam in fr.lams}
    codes = fr.codes
    chosen = set(fr.chosen)
    gauss = [c for c in codes if c != CAT]
    chosen_g = [c for c in gauss if c in chosen]
    unchosen_g = [c for c in gauss if c not in chosen]

    def units(lam, code):  # (n_seeds, n_fits)
        return np.array([r.mi[code].bounds for r in models[lam]], dtype=float)

    bounds = {lam: {c: units(lam, c) for c in codes} for lam in fr.lams}
    gap_units = {}
    if chosen_g and unchosen_g:  # per fit: mean chosen-Gaussian − mean unchosen-Gaussian
        gap_units = {lam: np.mean([bounds[lam][c] for c in chosen_g], 0)
                     - np.mean([bounds[lam][c] for c in unchosen_g], 0) for lam in fr.lams}
    return Measures(
        tag=fr.tag, family=fr.family, lams=fr.lams, n_seeds=len(seeds), codes=codes,
        chosen=chosen,
        stats={lam: {c: mean_sd(bounds[lam][c].ravel()) for c in codes} for lam in fr.lams},
        gaps={lam: g.ravel().tolist() for lam, g in gap_units.items()},
        test_elbo={lam: [r.test_elbo for r in models[lam]] for lam in fr.lams},
        cat_acc={lam: [r.cat_acc for r in models[lam]] for lam in fr.lams},
        seeds=seeds, bounds=bounds, gap_units=gap_units,
        code_acc={lam: [r.code_acc for r in models[lam]] for lam in fr.lams})


def seed_image_bootstrap(correct0, correct1, *, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, 2): the mean accuracy at λ = 0 and at λ > 0 over resampled training
    seeds and test images, ``correct*`` (n_seeds, n_images) per-image correctness of
    each seed's model on the same test images (images resampled once for both λ:
    paired; seeds resampled when there are several)."""
    c0, c1 = np.asarray(correct0, dtype=float), np.asarray(correct1, dtype=float)
    rng = np.random.default_rng(seed)
    n_s, n_i = c0.shape
    out = np.empty((n_resamples, 2))
    for b in range(n_resamples):
        si = rng.integers(0, n_s, n_s) if n_s > 1 else np.zeros(1, dtype=int)
        ii = rng.integers(0, n_i, n_i)
        out[b] = c0[si][:, ii].mean(), c1[si][:, ii].mean()
    return out


def mi_rows(fr: FamilyResult) -> list[dict]:
    """One row per model, Q fit and code: entropy, held-out CE and the bound."""
    chosen = set(fr.chosen)
    rows = []
    for lam in fr.lams:
        for r in fr.models[lam]:
            for c in r.mi.codes:
                for f, b in enumerate(c.bounds):
                    rows.append({"dataset": fr.dataset, "family": fr.family, "lam": lam,
                                 "seed": r.seed, "fit": f, "code": c.code,
                                 "chosen": c.code in chosen, "entropy": c.entropy,
                                 "ce": c.ce[f], "bound": b})
    return rows


def summary_rows(fr: FamilyResult) -> list[dict]:
    """One row per model: ELBO, accuracy, mean bound per code, and (first seed) the
    latent geometry and dips of repeated inference."""
    rows = []
    for lam in fr.lams:
        for r in fr.models[lam]:
            row = {"dataset": fr.dataset, "family": fr.family, "lam": lam, "seed": r.seed,
                   "test_elbo": r.test_elbo, "cat_acc": r.cat_acc if r.cat_acc is not None else ""}
            for c in fr.codes:
                row[f"mi_{c}"] = r.mi[c].mean
            if r.seed == fr.seeds[0]:
                dr = fr.dyn[lam]
                row.update(active_units=dr.active_units, offdiag_cos=dr.offdiag_cos,
                           dips=dr.n_dips, labels=len(dr.dips))
            rows.append(row)
    return rows


def manifest_summary(fr: FamilyResult, m: Measures) -> dict:
    """What the manifest records of one family."""
    return {"stats": {lam_tag(lam): {c: list(v) for c, v in s.items()}
                      for lam, s in m.stats.items()},
            "test_elbo": {lam_tag(lam): list(v) for lam, v in m.test_elbo.items()},
            "cat_acc": {lam_tag(lam): list(v) for lam, v in m.cat_acc.items()},
            "runs": {lam_tag(lam): [str(r.run) for r in fr.models[lam]] for lam in fr.lams}}
