"""The claims C1-C8 of Nagano et al. (2017) as functions of the stage results.

The thresholds below are fixed in code before any run (SPEC §1, "Claims") and never
tuned to an outcome.
"""

from __future__ import annotations

from latentdyn.analysis.trials import NoiseSweep
from latentdyn.reporting.claims import Claim
from latentdyn.reproduce.nagano2017.latent_size import Attribution, ElboCurve, LatentSizeScan
from latentdyn.reproduce.nagano2017.profiles import FIG6_NZ, LABEL
from latentdyn.reproduce.nagano2017.stages import ConceptCourses, ConceptGeometry

# --- claim thresholds, fixed before any run ------------------------------------------
PAPER_ACTIVE_UNITS = 14
PAPER_DIMS_70, PAPER_DIMS_99 = 9, 14
FACTOR = 2.0  # C2/C3: "a few" = within a factor of two of the paper's count
# C4: the mean |cosine| of two random directions in the paper's 14-dimensional active
# space is sqrt(2 / (pi * 14)) ~ 0.21; concepts count as near-orthogonal below 0.2.
ORTHOGONAL_BELOW = 0.2
# C6: no dip for the smallest Nz, a dip for the larger ones; "orthogonality grows with
# Nz": Spearman correlation between Nz and the mean |off-diagonal cosine| over FIG6_NZ
# at most this value
DIP_ABSENT_NZ, DIP_PRESENT_NZ = (2, 5), (10, 20, 100)
ORTHOGONALITY_RHO = -0.7
# C7: the best Nz within a factor of two of the paper's 14, and Nz = 100 within 1 % of
# the best test ELBO ("flat beyond")
PAPER_BEST_NZ, BEST_FACTOR, FLAT_FRACTION = 14, 2.0, 0.01


# ------------------------------------------------------------- figures 2-4: C1-C5
def claim_dip(courses: ConceptCourses) -> Claim:
    """C1: every label's mean distance to its concept dips (Fig. 2)."""
    dips, n = courses.dips, len(courses.classes)
    return Claim("C1", "Trajectories dip toward their concept, then leave it (Fig. 2), for every "
                 "label", "labels whose mean distance has a dip: 0 < t* < T and d(0)-d(t*), "
                 "d(T)-d(t*) both > 2 SEM (paired over trials)", "10 of 10",
                 f"all {n} labels", f"{courses.n_dip} of {n}", courses.n_dip == n,
                 "t* per label: " + ", ".join(f"{c}: {d['t_star']}" for c, d in dips.items()))


def claim_active_units(geometry: ConceptGeometry) -> Claim:
    """C2: only a few latent units are active (Fig. 3a)."""
    n_active = geometry.n_active
    return Claim("C2", "Only a few latent units are active (Fig. 3a)",
                 "active units (Var over the training set of E_q[z_u|x] > 0.01)",
                 PAPER_ACTIVE_UNITS,
                 f"within x{FACTOR:g} of {PAPER_ACTIVE_UNITS} "
                 f"([{PAPER_ACTIVE_UNITS / FACTOR:g}, {PAPER_ACTIVE_UNITS * FACTOR:g}])",
                 n_active, PAPER_ACTIVE_UNITS / FACTOR <= n_active <= PAPER_ACTIVE_UNITS * FACTOR,
                 f"Nz = {geometry.nz}")


def claim_components(geometry: ConceptGeometry) -> Claim:
    """C3: few principal components carry the latent variance (Fig. 3b)."""
    d70, d99 = geometry.dims_70, geometry.dims_99
    return Claim("C3", "Few principal components carry the latent variance (Fig. 3b)",
                 "components for 70 % and 99 % of the variance of the memories",
                 f"{PAPER_DIMS_70} and {PAPER_DIMS_99}",
                 f"each within x{FACTOR:g} of the paper's", f"{d70} and {d99}",
                 all(p / FACTOR <= v <= p * FACTOR for p, v in
                     ((PAPER_DIMS_70, d70), (PAPER_DIMS_99, d99))))


def claim_orthogonal(geometry: ConceptGeometry) -> Claim:
    """C4: concepts are near-orthogonal (Fig. 3c)."""
    off = geometry.offdiagonal
    return Claim("C4", "Concepts are near-orthogonal (Fig. 3c)",
                 "mean |cosine| between different concepts", "≈ 0",
                 f"< {ORTHOGONAL_BELOW}", round(off, 4), off < ORTHOGONAL_BELOW)


def claim_stages(sweep: NoiseSweep) -> Claim:
    """C5: memory, concept, abstract concept are closest in that order of noise (Fig. 4)."""
    return Claim("C5", "Three stages ordered by noise (Fig. 4)",
                 "closest level of min_t distance as p grows", "memory → concept → abstract",
                 "runs are exactly memory, concept, abstract, each over >= 1 noise level",
                 " → ".join(f"{lv} [{a:g}, {b:g}]" for lv, a, b in sweep.stages),
                 sweep.ordered)


def hierarchy_claims(courses: ConceptCourses, geometry: ConceptGeometry,
                     sweep: NoiseSweep) -> list[Claim]:
    """C1-C5."""
    return [claim_dip(courses), claim_active_units(geometry), claim_components(geometry),
            claim_orthogonal(geometry), claim_stages(sweep)]


# ---------------------------------------------------------- figures 6, 7, B.2: C6-C8
def claim_latent_size(scan: LatentSizeScan) -> Claim:
    """C6: the dip needs enough latent units; orthogonality grows with Nz (Fig. 6)."""
    dips, rho = scan.dips, scan.orthogonality_rho
    absent = [nz for nz in DIP_ABSENT_NZ if nz in dips]
    present = [nz for nz in DIP_PRESENT_NZ if nz in dips]
    dip_ok = all(not dips[nz]["has_dip"] for nz in absent) and all(
        dips[nz]["has_dip"] for nz in present) and len(absent) + len(present) == len(FIG6_NZ)
    return Claim(
        "C6", "The dip needs enough latent units; orthogonality grows with Nz (Fig. 6)",
        "dip (C1 rule, label 6) per Nz; Spearman rho of Nz vs mean |off-diagonal cosine|",
        "no dip for Nz = 2, 5; dip for 10, 20, 100; cosines fall with Nz",
        f"dip exactly for Nz in {DIP_PRESENT_NZ} of {FIG6_NZ}, and rho <= "
        f"{ORTHOGONALITY_RHO}",
        f"dip for Nz = {[nz for nz in FIG6_NZ if nz in dips and dips[nz]['has_dip']]}; "
        f"rho = {rho:.2f}", dip_ok and rho <= ORTHOGONALITY_RHO,
        f"dip from Nz = {scan.first_dip} on (scan {sorted(dips)}); |off-diag| per Nz: "
        + ", ".join(f"{k}: {v:.2f}" for k, v in sorted(scan.offdiag.items())))


def claim_elbo(curve: ElboCurve) -> Claim:
    """C7: the test ELBO is best near the number of active units, flat beyond (Fig. 7)."""
    best_nz, gap, elbo = curve.best_nz, curve.gap, curve.test_elbo
    return Claim(
        "C7", "Test ELBO is best near the number of active units, flat beyond (Fig. 7)",
        "argmax over Nz of the best test ELBO; gap from the best to Nz = 100",
        "best near Nz = 14, flat beyond",
        f"best Nz in [{PAPER_BEST_NZ / BEST_FACTOR:g}, {PAPER_BEST_NZ * BEST_FACTOR:g}] "
        f"and gap <= {FLAT_FRACTION:.0%} of |best ELBO|",
        f"best Nz = {best_nz}, gap = {gap:.2f} nats",
        None if best_nz is None else bool(
            PAPER_BEST_NZ / BEST_FACTOR <= best_nz <= PAPER_BEST_NZ * BEST_FACTOR
            and gap <= FLAT_FRACTION * abs(max(elbo))))


def claim_attribution(attr: Attribution) -> Claim:
    """C8: the dip survives when trials that switched digit are removed (Fig. B.2)."""
    dip_all, dip_kept = attr.dip_all, attr.dip_kept
    return Claim(
        "C8", "The dip survives when trials that switched digit are removed (Fig. B.2)",
        f"trials read as '{LABEL}' at T by the CNN; dip (C1 rule) in all trials and in "
        "the kept trials", "193 of 300; dip in both",
        "dip in both curves (the count is reported, not thresholded)",
        f"{attr.n_kept} of {attr.trials}; dip all: {dip_all['has_dip']}, "
        f"kept: {dip_kept['has_dip']}",
        bool(dip_all["has_dip"] and dip_kept["has_dip"]),
        f"CNN test accuracy {attr.classifier_accuracy:.4f} (paper 0.9925 on full MNIST)")


def latent_size_claims(scan: LatentSizeScan, curve: ElboCurve,
                       attr: Attribution) -> list[Claim]:
    """C6-C8."""
    return [claim_latent_size(scan), claim_elbo(curve), claim_attribution(attr)]
