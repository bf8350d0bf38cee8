"""The claims C6-C8 of Nagano et al. (2017) (figures 6, 7, B.2), as functions of the
latent-size study's results; thresholds in :mod:`.rules`, the scorecard in :mod:`.claims`."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from latentdyn.reporting.claims import Claim
from latentdyn.reporting.prose import listing, yes_no
from latentdyn.studies.nagano2017.latent_size import Attribution, ElboCurve, LatentSizeScan
from latentdyn.studies.nagano2017.profiles import FIG6_NZ, LABEL
from latentdyn.studies.nagano2017.rules import (
    BEST_FACTOR,
    DIP_ABSENT_NZ,
    DIP_PRESENT_NZ,
    FACTOR,
    FLAT_FRACTION,
    KEPT_MIN_SHARE,
    ORTHOGONALITY_RHO,
    PAPER_BEST_NZ,
    PAPER_KEPT,
    PAPER_TRIALS,
    SWEEP_MIN_EPOCHS,
    to_boundary,
    verdict,
    with_boot,
)

def _dip_pattern_ok(has_dip: dict) -> bool:
    absent = [nz for nz in DIP_ABSENT_NZ if nz in has_dip]
    present = [nz for nz in DIP_PRESENT_NZ if nz in has_dip]
    return (all(not has_dip[nz] for nz in absent) and all(has_dip[nz] for nz in present)
            and len(absent) + len(present) == len(FIG6_NZ))


def not_evaluated_reason(epochs: int | None, active_units=None) -> str:
    """Why C6 and C7 are not evaluated on a sweep of ``epochs`` ("" when they are)."""
    if epochs is None or epochs >= SWEEP_MIN_EPOCHS:
        return ""
    units = "" if active_units is None else (f"; this sweep's largest model has "
                                            f"{active_units} active units")
    return (f"not evaluated: the sweep trains {epochs} epochs, fewer than "
            f"{SWEEP_MIN_EPOCHS} (the pilot's converged first phase; at epoch 10 its "
            f"Nz = 100 model had 100 of 100 units active{units}): these models have not "
            "pruned their units, and the claim is about models that have")


def _orthogonality(scan: LatentSizeScan) -> tuple[bool, str]:
    """C6's orthogonality rule (issue 19) and its text."""
    rho = scan.relative_rho
    top = max(FIG6_NZ)
    beats = bool(top in scan.null_quantile and scan.offdiag.get(top, np.inf)
                 < scan.null_quantile[top])
    ok = bool(rho <= ORTHOGONALITY_RHO and beats)
    per = ", ".join(f"{nz}: {scan.offdiag[nz]:.2f}/{scan.null_mean[nz]:.2f}"
                    for nz in sorted(scan.offdiag) if nz in scan.null_mean)
    return ok, (f"|off-diag| / its null's mean per Nz: {per}; rho of the ratios "
                f"{rho:.2f}; Nz = {top} below its null's 5 % quantile: {beats}")


def claim_latent_size(scan: LatentSizeScan, boot=None, epochs: int | None = None,
                      active_units=None) -> Claim:
    """C6: the dip needs enough latent units; orthogonality grows with Nz beyond each
    Nz's null (Fig. 6). Not evaluated on a sweep shorter than SWEEP_MIN_EPOCHS."""
    dips, rho = scan.dips, scan.orthogonality_rho
    dip_ok = _dip_pattern_ok({nz: dips[nz]["has_dip"] for nz in dips})
    ortho_ok, ortho_txt = _orthogonality(scan)
    old_ok = _dip_pattern_ok({nz: bool(dips[nz].get("old_has_dip")) for nz in dips}) \
        and rho <= ORTHOGONALITY_RHO
    matches = _dip_matches([dips.get(nz, {}).get("has_dip", False) for nz in FIG6_NZ])
    reason = not_evaluated_reason(epochs, active_units)
    result = None if reason else bool(dip_ok and ortho_ok)
    claim = Claim(
        "C6", "The dip needs enough latent units; orthogonality grows with Nz (Fig. 6)",
        "dip (C1 rule, label 6) per Nz; Spearman rho of Nz vs the mean |off-diagonal "
        "cosine| over that Nz's null mean",
        "no dip for Nz = 2, 5; dip for 10, 20, 100; cosines fall with Nz",
        f"dip exactly for Nz in {DIP_PRESENT_NZ} of {FIG6_NZ}, rho <= {ORTHOGONALITY_RHO} and "
        f"Nz = {max(FIG6_NZ)} below its null's 5 % quantile (evaluated on a sweep of >= "
        f"{SWEEP_MIN_EPOCHS} epochs)",
        f"dip for Nz = {listing([nz for nz in FIG6_NZ if nz in dips and dips[nz]['has_dip']])}"
        f"; rho = {scan.relative_rho:.2f}", result,
        (reason + "; the rule would say " + verdict(dip_ok and ortho_ok) + "; " if reason
         else "") + f"{ortho_txt}; old rule (issue 11: the dip chosen and tested on the same "
        f"trials, rho of the raw cosines {rho:.2f}): dip for Nz = {listing(scan.old_dip_nz)}, "
        f"{verdict(old_ok)}; dip from Nz = "
        f"{'none' if scan.first_dip is None else scan.first_dip} on (scan "
        f"{listing(sorted(dips))})",
        sections=("fig6",),
        boundary=[to_boundary("Nz of Fig. 6 with the paper's dip status minus all of them",
                            matches - len(FIG6_NZ), "Nz"),
                  to_boundary(f"{ORTHOGONALITY_RHO} minus rho", ORTHOGONALITY_RHO
                            - scan.relative_rho)])
    claim = with_boot(claim, boot, None, lambda s: ortho_ok and _dip_pattern_ok(
        {nz: bool(v) for nz, v in zip(FIG6_NZ, s)}),
        "the dips resampled over each Nz's trials, the orthogonality (of the concepts) "
        "held fixed")
    if boot is None:
        return claim
    return replace(claim, interval=boot.interval_of(_dip_matches),
                   method=f"interval of the number of the {len(FIG6_NZ)} Nz of Fig. 6 whose "
                          f"dip (or its absence) is the paper's; {claim.method}")


def _dip_matches(has_dip) -> int:
    """How many of FIG6_NZ have the paper's dip status (absent for DIP_ABSENT_NZ, present
    for DIP_PRESENT_NZ), from one 0/1 value per Nz of FIG6_NZ."""
    return sum(int(bool(v) == (nz in DIP_PRESENT_NZ)) for nz, v in zip(FIG6_NZ, has_dip))


def _elbo_ok(best_nz, gap, best) -> bool:
    return bool(PAPER_BEST_NZ / BEST_FACTOR <= best_nz <= PAPER_BEST_NZ * BEST_FACTOR
                and gap <= FLAT_FRACTION * abs(best))


def claim_elbo(curve: ElboCurve, boot=None) -> Claim:
    """C7: the test ELBO is best near the number of active units, flat beyond (Fig. 7).
    The verdict reads :attr:`ElboCurve.elbo` (the per-image ELBO its interval resamples);
    not evaluated on a sweep shorter than SWEEP_MIN_EPOCHS."""
    best_nz, gap, elbo = curve.best_nz, curve.gap, curve.elbo
    ok = None if best_nz is None else _elbo_ok(best_nz, gap, max(elbo))
    reason = not_evaluated_reason(curve.epochs, curve.active_units)
    old = ""
    if best_nz is not None:
        s_best, s_gap = curve.summary_best_nz, curve.summary_gap
        old = (f"the sweep's summary ELBO (the reading before issue 19): best Nz = {s_best}, "
               f"gap = {s_gap:.2f} nats, {verdict(_elbo_ok(s_best, s_gap, max(curve.test_elbo)))}")
    lo, hi = PAPER_BEST_NZ / BEST_FACTOR, PAPER_BEST_NZ * BEST_FACTOR
    claim = Claim(
        "C7", "Test ELBO is best near the number of active units, flat beyond (Fig. 7)",
        "argmax over Nz of the test ELBO (per image, averaged over draws of z); gap from "
        "the best to Nz = 100",
        "best near Nz = 14, flat beyond",
        f"best Nz in [{lo:g}, {hi:g}] and gap <= {FLAT_FRACTION:.0%} of |best ELBO| "
        f"(evaluated on a sweep of >= {SWEEP_MIN_EPOCHS} epochs)",
        f"best Nz = {best_nz}, gap = {gap:.2f} nats", None if reason else ok,
        "; ".join(x for x in (reason and f"{reason}; the rule would say "
                              f"{verdict(bool(ok))}", old) if x),
        sections=("fig7",),
        boundary=None if best_nz is None else [
            to_boundary(f"best Nz to the nearer end of [{lo:g}, {hi:g}]",
                      min(best_nz - lo, hi - best_nz), "Nz"),
            to_boundary(f"{FLAT_FRACTION:.0%} of |best| minus the gap",
                      FLAT_FRACTION * abs(max(elbo)) - gap, "nats")])
    if best_nz is None:
        return claim
    return with_boot(claim, boot, 1, lambda s: _elbo_ok(s[0], s[1], s[2]),
                 "interval of the gap (nats), from each best model's ELBO of every test image "
                 "(the mean of seeded draws of z, the numbers the verdict reads), paired "
                 "across Nz; bootstrap over test images")


def _classifier_text(attr: Attribution, min_kept: float) -> str:
    """What the CNN's errors can do to the kept count (C8)."""
    acc, n, k = attr.classifier_accuracy, attr.trials, attr.n_kept
    slack = (1 - acc) * n
    text = (f"CNN test accuracy {acc:.4f} (paper 0.9925 on full MNIST): at its test error "
            f"rate about {slack:.0f} of {n} readings may be wrong, and the count "
            f"{'stays above' if k - slack >= min_kept else 'could fall below'} the rule's "
            f"{math.ceil(min_kept)} even if every one of them were a false '{LABEL}'")
    m = attr.corrected_kept
    if m == m:
        text += (f"; corrected for its test-set recall of '{LABEL}' "
                 f"({attr.classifier_recall:.3f}) and false-'{LABEL}' rate "
                 f"({attr.classifier_false_rate:.4f}): about {m:.0f} trials end as a "
                 f"'{LABEL}' ({verdict(m >= min_kept)} by the count; it assumes the CNN errs "
                 "on x(T) as on test images)")
    return text


def claim_attribution(attr: Attribution, boot=None, power: float | None = None) -> Claim:
    """C8: the dip survives when trials that switched digit are removed (Fig. B.2), and
    about as many trials stay '6' as in the paper."""
    dip_all, dip_kept = attr.dip_all["has_dip"], attr.dip_kept["has_dip"]
    old_all, old_kept = (bool(d.get("old_has_dip")) for d in (attr.dip_all, attr.dip_kept))
    min_kept = KEPT_MIN_SHARE * attr.trials
    kept_ok = attr.n_kept >= min_kept
    power_txt = "" if power is None else (f"; power of the dip test at {attr.n_kept} trials "
                                          f"(fresh samples of that many, drawn with "
                                          f"replacement): {power:.2f}")
    claim = Claim(
        "C8", "The dip survives when trials that switched digit are removed (Fig. B.2)",
        f"trials read as '{LABEL}' at T by the CNN; dip (C1 rule) in all trials and in "
        "the kept trials", f"{PAPER_KEPT} of {PAPER_TRIALS}; dip in both",
        f"kept share >= {PAPER_KEPT}/{PAPER_TRIALS}/{FACTOR:g} = {KEPT_MIN_SHARE:.3f} (at "
        f"least {math.ceil(min_kept)} of {attr.trials}), and a dip in both curves",
        f"{attr.n_kept} of {attr.trials}; dip in all trials: {yes_no(dip_all)}, in the kept: "
        f"{yes_no(dip_kept)}",
        bool(kept_ok and dip_all and dip_kept),
        f"old rule (issue 11: the dip chosen and tested on the same trials): dip in all "
        f"trials: {yes_no(old_all)}, in the kept: {yes_no(old_kept)}, {verdict(kept_ok and old_all and old_kept)}; first "
        f"rule (dip in both curves, the count not thresholded): "
        f"{verdict(old_all and old_kept)}{power_txt}; " + _classifier_text(attr, min_kept),
        null={"paper": f"{PAPER_KEPT} of {PAPER_TRIALS}",
              **({"dip-test power at the kept count": round(power, 3)}
                 if power is not None else {})},
        null_name="references", sections=("figB2",),
        boundary=[to_boundary("kept trials minus the least the rule needs",
                            attr.n_kept - min_kept, "trials")])
    return with_boot(claim, boot, 0, lambda s: s[0] >= min_kept and s[1] == 1 and s[2] == 1,
                 "interval of the kept count; bootstrap over trials")


def latent_size_claims(scan: LatentSizeScan, curve: ElboCurve, attr: Attribution,
                       resamples=None, power: float | None = None) -> list[Claim]:
    """C6-C8 (C6 and C7 not evaluated on a sweep shorter than SWEEP_MIN_EPOCHS)."""
    r = resamples
    return [claim_latent_size(scan, r.latent_size if r is not None else None, curve.epochs,
                              curve.active_units),
            claim_elbo(curve, r.elbo if r is not None else None),
            claim_attribution(attr, r.attribution if r is not None else None, power)]
