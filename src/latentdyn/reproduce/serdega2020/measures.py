"""Stage 3 of serdega2020: the statistics the claims and the report are built on, from
a :class:`~.stages.FamilyResult` -- the MI bound of each code pooled over seeds and Q
fits, the chosen-minus-unchosen gap per fit, accuracies and ELBOs -- and the rows of
the data files."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from latentdyn.figures.serdega import lam_tag
from latentdyn.models.codes import CAT
from latentdyn.reproduce.serdega2020.stages import FamilyResult


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample sd (0 for one value; nan for none)."""
    values = [float(v) for v in values]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def pooled(*sds: float) -> float:
    """sqrt(sd0² + sd1² + ...)."""
    return math.sqrt(sum(s * s for s in sds))


@dataclass
class Measures:
    """The statistics of one family, per λ (keys ``lams``)."""

    tag: str
    family: str
    lams: tuple[float, float]  # (0, λ > 0)
    n_seeds: int
    codes: list[str]  # every code measured
    chosen: set[str]  # the codes the MI term was put on
    stats: dict[float, dict[str, tuple[float, float]]]  # code -> (mean, sd) over fits × seeds
    gaps: dict[float, list[float]]  # per fit; empty without chosen and unchosen Gaussian units
    test_elbo: dict[float, list[float]]  # per seed
    cat_acc: dict[float, list[float | None]]  # per seed

    @property
    def chosen_gauss(self) -> list[str]:
        return [c for c in self.codes if c != CAT and c in self.chosen]

    @property
    def unchosen_gauss(self) -> list[str]:
        return [c for c in self.codes if c != CAT and c not in self.chosen]


def measure(fr: FamilyResult) -> Measures:
    """The :class:`Measures` of ``fr``: bounds pooled over seeds and Q fits."""
    codes = fr.codes
    chosen = set(fr.chosen)
    gauss = [c for c in codes if c != CAT]
    chosen_g = [c for c in gauss if c in chosen]
    unchosen_g = [c for c in gauss if c not in chosen]

    def bounds(lam, code):
        return [b for r in fr.models[lam] for b in r.mi[code].bounds]

    def gaps(lam):  # per fit: mean chosen-Gaussian bound − mean unchosen-Gaussian bound
        out = []
        for r in fr.models[lam]:
            for f in range(len(r.mi[codes[0]].ce)):
                c = statistics.fmean(r.mi[x].bounds[f] for x in chosen_g)
                u = statistics.fmean(r.mi[x].bounds[f] for x in unchosen_g)
                out.append(c - u)
        return out

    return Measures(
        tag=fr.tag, family=fr.family, lams=fr.lams, n_seeds=len(fr.seeds), codes=codes,
        chosen=chosen, stats={lam: {c: mean_sd(bounds(lam, c)) for c in codes} for lam in fr.lams},
        gaps={lam: gaps(lam) for lam in fr.lams} if chosen_g and unchosen_g else {},
        test_elbo={lam: [r.test_elbo for r in fr.models[lam]] for lam in fr.lams},
        cat_acc={lam: [r.cat_acc for r in fr.models[lam]] for lam in fr.lams})


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
