"""The scorecard of serdega2020: its rules, fixed in code before any run (never tuned
to outcomes), and the claims as functions of a family's :class:`~.measures.Measures`.

* S1 -- the MI term raises the bound of every chosen code by more than
  :data:`MI_GAIN_SDS` pooled fit-to-fit sd;
* S2 -- the chosen-minus-unchosen gap of the Gaussian units rises by more than
  :data:`GAP_GAIN_SDS` pooled sd (only with chosen and unchosen Gaussian units);
* S3 -- the categorical code classifies better with λ > 0, by more than
  :data:`ACC_GAIN` (joint family only).
"""

from __future__ import annotations

from latentdyn.reporting.claims import Claim
from latentdyn.reproduce.serdega2020.measures import Measures, mean_sd, pooled

MI_GAIN_SDS = 2.0  # S1: every chosen code's bound rises by more than 2 pooled fit-to-fit sd
GAP_GAIN_SDS = 2.0  # S2: the chosen-minus-unchosen gap rises by more than 2 pooled sd
ACC_GAIN = 0.05  # S3: categorical accuracy higher with λ > 0 by more than 5 points


def mi_gain_claim(m: Measures) -> Claim:
    """S1: Δ = mean bound(λ>0) − mean bound(λ=0) of each chosen code."""
    lam0, lam1 = m.lams
    deltas, sds = {}, {}
    for c in sorted(m.chosen, key=m.codes.index):
        (m0, s0), (m1, s1) = m.stats[lam0][c], m.stats[lam1][c]
        deltas[c], sds[c] = m1 - m0, pooled(s0, s1)
    ok = all(deltas[c] > MI_GAIN_SDS * sds[c] for c in deltas) if deltas else None
    return Claim(
        id=f"S1-{m.tag}", claim="The MI regulariser raises the MI lower bound of the chosen codes.",
        statistic="per chosen code: Δ = mean bound(λ>0) − mean bound(λ=0), nats (Q fits × seeds)",
        paper_value="higher with the regulariser (no number in the abstract)",
        threshold=f"Δ > {MI_GAIN_SDS:g} × pooled fit-to-fit sd, sqrt(sd0² + sd1²), for every "
                  "chosen code",
        run_value={c: round(v, 4) for c, v in deltas.items()}, reproduced=ok,
        details="pooled sd: " + ", ".join(f"{c} {sds[c]:.4f}" for c in sds))


def gap_claim(m: Measures) -> Claim | None:
    """S2: the gap between chosen and unchosen Gaussian units, λ>0 against λ=0 (None
    without chosen and unchosen Gaussian units)."""
    if not m.gaps:
        return None
    lam0, lam1 = m.lams
    g0, g1 = mean_sd(m.gaps[lam0]), mean_sd(m.gaps[lam1])
    gain, sd = g1[0] - g0[0], pooled(g0[1], g1[1])
    return Claim(
        id=f"S2-{m.tag}", claim="The regulariser makes the chosen codes the informative ones.",
        statistic="gap = mean bound of the chosen Gaussian units − mean bound of the unchosen "
                  "ones, per Q fit; its mean at λ>0 and its rise over λ=0",
        paper_value="chosen components become the most informative (no number)",
        threshold=f"gap(λ>0) > 0 and gap(λ>0) − gap(λ=0) > {GAP_GAIN_SDS:g} × pooled sd",
        run_value={"gap λ>0": round(g1[0], 4), "gap λ=0": round(g0[0], 4)},
        reproduced=bool(g1[0] > 0 and gain > GAP_GAIN_SDS * sd),
        details=f"pooled sd of the gaps {sd:.4f}")


def accuracy_claim(m: Measures) -> Claim | None:
    """S3: unsupervised accuracy of the categorical code, λ>0 against λ=0 (None outside
    the joint family)."""
    if m.family != "joint":
        return None
    lam0, lam1 = m.lams
    a0, a1 = mean_sd(m.cat_acc[lam0]), mean_sd(m.cat_acc[lam1])
    return Claim(
        id=f"S3-{m.tag}", claim="The regulariser improves the learned representation: the "
                                "categorical code classifies the test set better.",
        statistic="unsupervised test accuracy of the categorical code (majority label per "
                  "category), mean over seeds",
        paper_value="higher with the regulariser (no number in the abstract)",
        threshold=f"acc(λ>0) − acc(λ=0) > {ACC_GAIN:g}",
        run_value={"λ>0": round(a1[0], 4), "λ=0": round(a0[0], 4)},
        reproduced=bool(a1[0] - a0[0] > ACC_GAIN),
        details=(f"sd over seeds {a1[1]:.4f} (λ>0) / {a0[1]:.4f} (λ=0)" if m.n_seeds > 1
                 else "one training seed: no spread over seeds"))


def family_claims(m: Measures) -> list[Claim]:
    """The claims of one family, in scorecard order (S1, S2, S3 where they apply)."""
    claims = [mi_gain_claim(m), gap_claim(m), accuracy_claim(m)]
    return [c for c in claims if c is not None]
