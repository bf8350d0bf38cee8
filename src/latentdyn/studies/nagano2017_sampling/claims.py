"""The claims of paper 002 (Nagano, Karakida & Okada, JSAI 2017), each scored on each
of the three distance readings (:mod:`latentdyn.analysis.sampling`).

From the paper's text (section 3 and the abstract):

* S1 (Fig. 2b): "the activity pattern approached each concept ξ̄_num ... then left it
  (num = 0, 1, …, 9)": a dip toward the concept for every digit;
* S2 (Fig. 2b): "approached *fast* ... then left *slowly*": the approach is faster
  than the escape, for every digit;
* S3 (Fig. 2a, abstract): "first attracted to the concept ... and then escaped into
  each memory": at T the state is closer to a training memory than to its concept,
  for every digit;
* S4 (Fig. 3): stage I closest to the own memory ξ⁽ⁱ⁾_6 at low noise, stage II to the
  concept ξ̄_6 at medium noise, stage III to the abstract concept ξ̄_all.

The rules below are fixed in code before any run and are the same for every reading;
the verdict of each line names its reading (``Claim.reading``).
"""

from __future__ import annotations

import numpy as np

from latentdyn.analysis.sampling import READING_NAMES, READINGS
from latentdyn.reporting.claims import Claim
from latentdyn.studies.nagano2017.rules import DIP_RULE
from latentdyn.studies.nagano2017_sampling.stages import (
    ESCAPE_SEMS,
    ConceptReadings,
    StageSweep,
)

# --- claim rules, fixed before any run --------------------------------------------
# S1, S2: the dip is paper 001's C1 rule (analysis.distances.dip_statistic_from_trials;
# issue 19: t* chosen on one half of the trials, depth and rise each > 2 SEM of the
# paired per-trial differences of the other half and >= 2 % of d(0)), so S1-raw is
# comparable with `reproduce nagano2017 --mode sampling`'s C1; the rule before issue 19
# (t* chosen on the trials that test it) is reported beside it. S1-S3 need every digit,
# as the paper says ("num = 0, 1, ..., 9"). S3: the margin at T exceeds ESCAPE_SEMS SEM.
# S4: paper 001's C5 rule (analysis.stages.stages_ordered, each stage >= 1 noise level).


# ids: S1-raw, S1-mu, S1-cor, ... (Claim.reading holds the reading's full key)
TAGS = {"raw": "raw", "mean": "mu", "corrected": "cor"}


def _interval(samples: np.ndarray) -> tuple:
    """The 95 % percentile interval of counts, as counts (nearest order statistics)."""
    lo, hi = np.percentile(np.asarray(samples, dtype=float), [2.5, 97.5], method="nearest")
    return (float(lo), float(hi))


def _method(res_resamples: int, what: str) -> str:
    return (f"percentile bootstrap over trials, {res_resamples} resamples per label "
            f"(seeded by the label's trial seed), {what}")


def _old(res: ConceptReadings, reading: str, key: str) -> int:
    """Labels for which ``key`` (old_has_dip, old_fast_slow) held under the dip rule
    before issue 19."""
    return sum(bool(tc.dip.get(key)) for tc in res.courses[reading].values())


def _verdict(ok: bool) -> str:
    return "reproduced" if ok else "NOT reproduced"


def claim_dip(res: ConceptReadings, reading: str) -> Claim:
    """S1: a dip toward the concept for every digit (Fig. 2b)."""
    n, k = len(res.classes), res.count(reading, "has_dip")
    counts = res.boot_counts(reading, 0)
    dips = {c: tc.dip for c, tc in res.courses[reading].items()}
    old = _old(res, reading, "old_has_dip")
    return Claim(
        f"S1-{TAGS[reading]}", f"The activity first approaches the concept of its digit, then "
        f"leaves it, for every digit (Fig. 2b) [{reading} reading]",
        f"labels whose mean distance dips: {DIP_RULE}; {READING_NAMES[reading]}",
        "10 of 10", f"all {n} labels", f"{k} of {n}", k == n,
        f"old rule (t* chosen on the trials that test it): {old} of {n}, "
        f"{_verdict(old == n)}; t* per label: "
        + ", ".join(f"{c}: {d['t_star']}" for c, d in dips.items()),
        interval=_interval(counts), stability=float(np.mean(counts == n)),
        null=sum(int(f[0]) for f in res.floor_dips.values()),
        null_name="labels whose noise floor Σσ²(x(t)) alone dips (same rule)",
        method=_method(len(counts), "the count of labels with a dip"), reading=reading,
        sections=("Fig. 2b",))


def claim_fast_slow(res: ConceptReadings, reading: str) -> Claim:
    """S2: the approach is fast, the escape slow (Fig. 2b)."""
    n, k = len(res.classes), res.count(reading, "fast_slow")
    counts = res.boot_counts(reading, 1)
    rates = {c: (tc.dip["approach_rate"], tc.dip["escape_rate"])
             for c, tc in res.courses[reading].items()}
    old = _old(res, reading, "old_fast_slow")
    return Claim(
        f"S2-{TAGS[reading]}", f"The approach to the concept is fast and the escape slow "
        f"(Fig. 2b) [{reading} reading]",
        "labels with a dip (S1 rule) whose approach rate (d(0)-d(t*))/t* exceeds the "
        f"escape rate (d(T)-d(t*))/(T-t*); {READING_NAMES[reading]}",
        "10 of 10", f"all {n} labels", f"{k} of {n}", k == n,
        f"old rule (the dip's t* chosen on the trials that test it): {old} of {n}, "
        f"{_verdict(old == n)}; approach / escape per step (the tested half): " + ", ".join(
            f"{c}: {a:.3g}/{b:.3g}" for c, (a, b) in rates.items()),
        interval=_interval(counts), stability=float(np.mean(counts == n)),
        null=sum(int(f[1]) for f in res.floor_dips.values()),
        null_name="labels whose noise floor Σσ²(x(t)) alone is fast-in, slow-out",
        method=_method(len(counts), "the count of labels satisfying the rule"),
        reading=reading, sections=("Fig. 2b",))


def _old_choice(res: ConceptReadings, reading: str, n: int) -> str:
    """S3 with the memory chosen as before issue 19, beside the new choice."""
    if reading == "mean":
        return "; the nearest memory is the one nearest the posterior mean (as before issue 19)"
    esc = res.escape[reading]
    return (f"; the nearest memory is chosen by the posterior mean mu(x(T)); chosen by the "
            f"noisy sample z(T) (the rule before issue 19, biased toward the memory) "
            f"{res.count(reading, 'holds_old')} of {n} labels, margins " + ", ".join(
                f"{c}: {e['margin_T_old']:.3g}" for c, e in esc.items()))


def claim_escape(res: ConceptReadings, reading: str) -> Claim:
    """S3: at T the state has escaped into a memory (Fig. 2a, abstract)."""
    n, k = len(res.classes), res.count(reading, "holds")
    counts = res.escape_counts(reading)
    esc = res.escape[reading]
    return Claim(
        f"S3-{TAGS[reading]}", f"After the concept the activity escapes into a memory (Fig. 2a, "
        f"abstract) [{reading} reading]",
        "labels whose state at T is closer to its nearest training memory (nearest to the "
        "posterior mean) than to its concept: mean margin (to concept - to that memory) > "
        f"{ESCAPE_SEMS:g} SEM; "
        f"{READING_NAMES[reading]}", "every digit (qualitative)", f"all {n} labels",
        f"{k} of {n}", k == n,
        "margin at T per label: " + ", ".join(
            f"{c}: {e['margin_T']:.3g}" for c, e in esc.items())
        + "; nearest memory of the same label at T: " + ", ".join(
            f"{c}: {e['same_label_T']:.0%}" for c, e in esc.items())
        + _old_choice(res, reading, n),
        interval=_interval(counts), stability=float(np.mean(counts == n)),
        null=res.count(reading, "holds_at_t_star"),
        null_name="labels already closer to a memory than to the concept at t* (the dip)",
        method=_method(len(counts), "the count of labels satisfying the rule"),
        reading=reading, sections=("Fig. 2b", "Escape into a memory"))


def claim_stages(sweep: StageSweep, reading: str) -> Claim:
    """S4: memory, concept, abstract concept are closest in that order of noise (Fig. 3)."""
    s = sweep.readings[reading]
    width = s.boot.concept_width
    return Claim(
        f"S4-{TAGS[reading]}", f"Three stages ordered by noise: own memory, concept, abstract "
        f"concept (Fig. 3) [{reading} reading]",
        f"closest level of the minimum distance as p grows; {READING_NAMES[reading]}",
        "memory → concept → abstract",
        "runs are exactly memory, concept, abstract, each over >= 1 noise level",
        " → ".join(f"{lv} [{a:g}, {b:g}]" for lv, a, b in s.stages), s.ordered,
        "closest per p: " + ", ".join(f"{p:g}: {c}" for p, c in zip(sweep.ps, s.closest))
        + f"; concept closest at {sum(c == 'concept' for c in s.closest)} noise level(s)",
        interval=_interval(width), stability=s.boot.ordered,
        null=" → ".join(f"{lv} [{a:g}, {b:g}]" for lv, a, b in s.stages_t0),
        null_name="stages read at t = 0 alone (the encoded corrupted input, no dynamics)",
        method=s.boot.method + "; interval: noise levels at which the concept is closest",
        reading=reading, sections=("Fig. 3",))


def all_claims(res: ConceptReadings, sweep: StageSweep) -> list[Claim]:
    """S1-S4, each on every reading (grouped by claim)."""
    out = []
    for fn in (claim_dip, claim_fast_slow, claim_escape):
        out += [fn(res, r) for r in READINGS]
    out += [claim_stages(sweep, r) for r in READINGS]
    return out


__all__ = ["TAGS", "all_claims", "claim_dip", "claim_escape",
           "claim_fast_slow", "claim_stages"]


def study_claims(results) -> list[Claim]:
    """The scorecard: one seed's claims, or with several seeds their verdict by the fixed
    rule of :func:`~latentdyn.studies.common.combine_seeds` (a majority of the seeds),
    each seed's verdict beside it."""
    from latentdyn.studies.common import combine_seeds

    from dataclasses import replace

    cards = [[replace(c, models=f"one trained model (seed {seed})")
              for c in all_claims(r.readings, r.sweep)]
             for seed, r in zip(results.seeds, results.per_seed)]
    return cards[0] if len(cards) == 1 else combine_seeds(cards, results.seeds)
