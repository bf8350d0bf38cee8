"""The thresholds and shared helpers of the claims C1-C8 (:mod:`.claims`,
:mod:`.claims_latent_size`): every number a rule compares with is fixed here, in code,
before any run (SPEC §1, "Claims"; the reasons are in docs/reproduction.md)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from latentdyn.analysis.stages import STAGE_MARGIN_SEM  # noqa: F401  (re-exported)
from latentdyn.reporting.claims import Claim

# --- claim thresholds, fixed before any run ------------------------------------------
PAPER_ACTIVE_UNITS = 14
PAPER_DIMS_70, PAPER_DIMS_99 = 9, 14
FACTOR = 2.0  # C2/C3/C8: "a few" / "as many" = within a factor of two of the paper's count
# C4 (issue 19): below the NULL_LEVEL (5 %) quantile of the Monte-Carlo null of concepts
# with random directions (analysis.geometry.random_concepts_null); beside it issue 11's
# rule (below the mean |cosine| of random directions in the participation ratio) and
# the first rule (below 0.2, the random level of the paper's 14 active dimensions)
OLD_ORTHOGONAL_BELOW = 0.2
ORTHOGONAL_BELOW = OLD_ORTHOGONAL_BELOW  # the old name
# C5 (issue 11): the reading of min_t the verdict uses, and the lead each stage must
# have over the runner-up at one of its noise levels at least, in paired SEMs
STAGE_READING, LITERAL_READING = "t>=1", "t>=0"
# the lead itself (STAGE_MARGIN_SEM) and stage_margins live in analysis.stages (issue 19:
# the conditions map reads the stages by the same rule)
# C6: no dip for the smallest Nz, a dip for the larger ones; "orthogonality grows with
# Nz" (issue 19): Spearman correlation between Nz and the mean |off-diagonal cosine|
# over its own null's mean, over FIG6_NZ, at most this value, and the largest Nz of
# FIG6_NZ below its null's 5 % quantile (before: rho of the raw cosines, which random
# directions satisfy too)
DIP_ABSENT_NZ, DIP_PRESENT_NZ = (2, 5), (10, 20, 100)
ORTHOGONALITY_RHO = -0.7
# C6, C7 (issue 19): evaluated only when the sweep trains at least this many epochs, the
# first-phase convergence epoch of the pilot (pilot.py: E1 = 91; at epoch 10 its Nz = 100
# model had 100 of 100 units active); a shorter sweep is reported as not evaluated
SWEEP_MIN_EPOCHS = 91
# C7: the best Nz within a factor of two of the paper's 14, and Nz = 100 within 1 % of
# the best test ELBO ("flat beyond")
PAPER_BEST_NZ, BEST_FACTOR, FLAT_FRACTION = 14, 2.0, 0.01
# C8 (issue 11): the kept share at least the paper's 193 / 300 divided by FACTOR
PAPER_KEPT, PAPER_TRIALS = 193, 300
KEPT_MIN_SHARE = PAPER_KEPT / PAPER_TRIALS / FACTOR
POWER_DRAWS = 1000  # samples (with replacement) for the power of the dip test at the kept count


def within(value, paper) -> bool:
    return paper / FACTOR <= value <= paper * FACTOR


def to_bounds(value, paper) -> float:
    """Signed distance of ``value`` to the nearer end of [paper / FACTOR, paper * FACTOR]
    (> 0 inside, < 0 outside, 0 on the inclusive edge)."""
    return float(min(value - paper / FACTOR, paper * FACTOR - value))


def to_boundary(what: str, distance, unit: str = "") -> dict:
    d = None if distance is None else float(distance)
    return {"what": what, "distance": d, "unit": unit}


def verdict(ok: bool) -> str:
    return "reproduced" if ok else "NOT reproduced"


def with_boot(claim: Claim, boot, index: int | None, rule, method: str,
          columns=None) -> Claim:
    """``claim`` with the interval of component ``index`` of ``boot`` (None: no
    interval), the share of resamples in which ``rule`` holds (over the resamples
    whose ``columns`` are defined) and whether the statistic is a point mass there."""
    if boot is None:
        return claim
    interval = None
    if index is not None:
        low, high = np.asarray(boot.low)[index], np.asarray(boot.high)[index]
        interval = (float(low), float(high))
    cols = columns if columns is not None else index
    return replace(claim, interval=interval, interval_level=float(boot.level),
                   stability=boot.share(rule, cols), point_mass=boot.point_mass(cols),
                   method=f"{method}; {boot.describe()}")


DIP_RULE = ("t* = argmin of the mean distance of half the trials (0 < t* < T); on the other "
            "half d(0)-d(t*) and d(T)-d(t*) both > 2 SEM (paired) and >= 2 % of d(0)")


__all__ = ["BEST_FACTOR", "DIP_ABSENT_NZ", "DIP_PRESENT_NZ", "DIP_RULE", "FACTOR",
           "FLAT_FRACTION", "KEPT_MIN_SHARE", "LITERAL_READING", "OLD_ORTHOGONAL_BELOW",
           "ORTHOGONALITY_RHO", "ORTHOGONAL_BELOW", "PAPER_ACTIVE_UNITS", "PAPER_BEST_NZ",
           "PAPER_DIMS_70", "PAPER_DIMS_99", "PAPER_KEPT", "PAPER_TRIALS", "POWER_DRAWS",
           "STAGE_MARGIN_SEM", "STAGE_READING", "SWEEP_MIN_EPOCHS", "to_boundary", "to_bounds",
           "verdict", "with_boot", "within"]
