"""The claims T1-T5 of the toledo2023 study: their thresholds, fixed in code before any
run (never tuned to an outcome), and functions from the stages' results to
:class:`~latentdyn.reporting.claims.Claim`s.

The functions take the result objects by duck typing (attributes only), so a claim can
be checked on a hand-built result.
"""

from __future__ import annotations

from typing import Any, Sequence

from latentdyn.reporting.claims import Claim

PAPER_LABEL_FRACTION = 0.98
# T1: "98 % of the data map to the label sub-space": at least 95 % of the test images
# have their largest |c_i| on one of the K label vectors (chance for an isotropic
# latent: K / nz = 10 %).
LABEL_FRACTION_MIN = 0.95
# T2: "LSD denoises": keeping the DENOISE_K largest coefficients raises the judge's
# accuracy above that on the corrupted input itself by more than DENOISE_SES paired
# standard errors, at the moderate level of every noise kind. The moderate levels were
# chosen before any LSD run as those where a 3-epoch prototype classifier read 50-75 %
# of the corrupted test images correctly (clean: 94 %): noise that hurts, not noise
# that erases the digit.
DENOISE_K = 10
MODERATE = {"gaussian": 0.5, "salt_pepper": 0.3, "swap": 0.5}
DENOISE_SES = 2.0
# T3: "rotation matrices map to feature transformations": a rotation by π/2 in the
# plane of (ξ_i, ξ_j) turns digit i into digit j; the judge reads j at the end of the
# path in at least half of all paths (every ordered pair i ≠ j; chance ≈ 1/K). The
# paper shows examples without a rate; "more often than not" is the weakest reading
# under which the operator can be said to work.
ROTATION_MIN = 0.5
# T4: "a set of quasi-eigenvectors map to the labels one-to-one": the judge reads the
# decoding G(s_k ξ_k) of every label vector as its own class k, s_k = <m_k, ξ_k> (the
# class mean's coefficient on its own vector): all K classes.
ONE_TO_ONE_MIN = 1.0
# T5: "the quasi-eigenvectors span the latent space": max |ΞΞᵀ − I| and the relative
# error of z = Σ c_i ξ_i over the test latents below this (float64; by construction).
SPAN_TOL = 1e-10


def _gap(missing) -> str:
    # a class the generator never produced (as C reads it) has no label vector: the
    # label sub-space is then not the one the claims are about
    return (f"; NOT EVALUATED: class(es) {missing} got no latent vectors (C never read "
            "G(z) as them), so the label sub-space lacks them") if missing else ""


def label_subspace_claim(lsd: Any) -> Claim:
    """T1 from the LSD results (:class:`~latentdyn.reproduce.toledo2023.lsd.LSDResults`)."""
    t, k_lab, nz = lsd.test, lsd.num_label, lsd.basis.nz
    missing = lsd.basis.missing_classes
    frac = lsd.label_fraction
    return Claim(
        "T1", "98 % of the data map to the label sub-space (the largest LSD coefficient "
        "falls on one of the K label quasi-eigenvectors)",
        f"fraction of the {t['n']} test images whose argmax_i |c_i| has i < K "
        f"(K = {k_lab}, nz = {nz})", PAPER_LABEL_FRACTION, f">= {LABEL_FRACTION_MIN}",
        round(frac, 4), None if missing else frac >= LABEL_FRACTION_MIN,
        f"LSD accuracy {t['lsd_accuracy']:.4f}, mean rank of the true label "
        f"{t['mean_rank']:.2f}; share of Σ c_i² in the label sub-space {lsd.energy:.3f}; "
        f"chance {k_lab / nz:.2f}" + _gap(missing))


def denoising_claim(den: Any) -> Claim:
    """T2 from the denoising results (``n_images``, ``moderate`` and ``paired``, whose
    items have ``noise``, ``level``, ``delta``, ``se``, ``acc_*`` and ``psnr_*``)."""
    paired = den.paired
    ok = bool(paired) and all(p.delta > DENOISE_SES * p.se for p in paired)
    return Claim(
        "T2", "LSD denoises: keeping the largest coefficients of a corrupted image's latent "
        "gives an image read correctly more often",
        f"judge's accuracy on G(z_k), k = {DENOISE_K}, minus that on the corrupted input, "
        f"at the moderate level of each noise kind ({den.n_images} images, paired)",
        "denoised digits shown as pictures (no number)",
        f"Δ > {DENOISE_SES:g} paired SE at every moderate level "
        + str({n: lv for n, lv in den.moderate.items()}),
        {f"{p.noise} {p.level:g}": round(p.delta, 4) for p in paired} or None,
        ok if paired else None,
        "; ".join(f"{p.noise} {p.level:g}: input {p.acc_input:.3f} → k={DENOISE_K} "
                  f"{p.acc_lsd:.3f} (SE {p.se:.3f}), PSNR {p.psnr_input:.2f} → "
                  f"{p.psnr_lsd:.2f} dB" for p in paired))


def rotation_claim(rot: Any, missing: Sequence, num_classes: int) -> Claim:
    """T3 from the rotation readings
    (:class:`~latentdyn.reproduce.toledo2023.rotations.RotationReadings`)."""
    return Claim(
        "T3", "A rotation in the plane of (ξ_i, ξ_j) turns digit i into digit j",
        f"fraction of the {rot.paths} paths (all ordered pairs i ≠ j) whose decoding at "
        "π/2 the judge reads as j", "examples shown (no number)", f">= {ROTATION_MIN}",
        round(rot.frac_end_j, 4),
        None if missing or not rot.paths else rot.frac_end_j >= ROTATION_MIN,
        f"read as i at θ = 0: {rot.frac_start_i:.3f}; read as j at π/2 among those: "
        f"{rot.frac_end_j_given_start:.3f}; classifier C reads j at π/2: "
        f"{rot.frac_end_j_classifier:.3f}; chance ≈ {1 / num_classes:.2f}" + _gap(missing))


def one_to_one_claim(dec: Any, missing: Sequence, num_classes: int) -> Claim:
    """T4 from the decoded quasi-eigenvectors
    (:class:`~latentdyn.reproduce.toledo2023.lsd.Decoded`)."""
    n_one, n_cls = dec.n_one, num_classes
    return Claim(
        "T4", "The label quasi-eigenvectors map to the labels one-to-one",
        "classes k whose decoding G(s_k ξ_k), s_k = <m_k, ξ_k>, the judge reads as k",
        "one-to-one", f"all {n_cls} classes (fraction >= {ONE_TO_ONE_MIN:g}; a class without "
        "a label vector counts as a failure)", f"{n_one} of {n_cls}",
        n_one >= ONE_TO_ONE_MIN * n_cls,
        f"judge's reading of G(s_k ξ_k) for classes {dec.vectors.classes}: "
        f"{dec.vectors.judge[:, 2].tolist()}; G(m_k): {dec.n_mean} of {n_cls}; classifier C: "
        f"{dec.n_one_classifier} of {n_cls}; not part of the rule, judge reads k at the "
        "other scales: " + ", ".join(f"{f:g}·s_k {n}" for f, n in zip(
            dec.vectors.factors, dec.per_factor[1:]))
        + (f"; classes without latents: {missing}" if missing else ""))


def span_claim(lsd: Any) -> Claim:
    """T5 from the LSD results: the basis is orthonormal and reconstructs the latents."""
    gram_dev, recon_err = lsd.gram_deviation, lsd.reconstruction_error
    return Claim(
        "T5", "The quasi-eigenvectors span the latent space",
        "max |Ξ Ξᵀ − I| over all nz vectors; max relative error of z = Σ c_i ξ_i over the "
        "test latents", "a basis",
        f"both < {SPAN_TOL:g} (holds by construction: a check of the code)",
        {"gram": gram_dev, "reconstruction": recon_err},
        gram_dev < SPAN_TOL and recon_err < SPAN_TOL)


def claims(lsd: Any, decoded: Any, den: Any, rot: Any, num_classes: int) -> list[Claim]:
    """T1-T5 in order."""
    missing = lsd.basis.missing_classes
    return [label_subspace_claim(lsd), denoising_claim(den),
            rotation_claim(rot, missing, num_classes),
            one_to_one_claim(decoded, missing, num_classes), span_claim(lsd)]
