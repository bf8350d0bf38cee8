"""The claims of the denoising comparison, as functions of its results.

No paper makes this comparison; its claims are stated from what it tests (issue 11),
each rule a constant fixed here before any run that uses it:

* D1 -- the VAE's repeated inference denoises: the classifier reads x(t) correctly more
  often than the corrupted input;
* D2 -- and x(t) lies closer to the clean image than the corrupted input (PSNR);
* D3 -- LSD truncation in the GAN's latent space denoises (classifier accuracy);
* D4 -- LSD truncation in the VAE's latent space denoises (classifier accuracy).

Each compares one denoiser with the corrupted input itself on the same corrupted
images, image by image, at the moderate level :data:`MODERATE_LEVEL` of every noise
kind: the rule is Δ > :data:`MIN_SES` paired standard errors at every noise kind (the
rule of toledo2023's T2). The step t is :data:`INFERENCE_T` and the truncation
:data:`LSD_K` (toledo2023's k), or the largest measured value below them. Intervals:
percentile bootstrap over the test images, resampled together for every noise kind;
stability = the share of resamples in which Δ > the same floor at every noise kind.
A claim whose denoiser, classifier or moderate level was not run is not evaluated.
"""

from __future__ import annotations

import numpy as np

from latentdyn.analysis.uncertainty import DEFAULT_RESAMPLES, bootstrap
from latentdyn.reporting.claims import Claim
from latentdyn.studies.denoise.profiles import TITLE
from latentdyn.studies.denoise.stages import Comparison

# the moderate level: the middle level of the quick profile (0.1, 0.3, 0.5), where its
# example grids are drawn -- noise that hurts without erasing the digit
MODERATE_LEVEL = 0.3
INFERENCE_T = 5  # x(t) judged at t = 5 (or the largest measured step below)
LSD_K = 10  # LSD truncation to the 10 largest coefficients (toledo2023's T2)
MIN_SES = 2.0  # Δ > 2 paired SE at every noise kind
BOOT_LEVEL = 0.95
SECTION = TITLE  # the report section (the curves and tables) they test

# id, family, variant prefix and its target, metric, claim text
SPECS = (
    ("D1", "vae-inference", "t", INFERENCE_T, "correct",
     "The VAE's repeated inference denoises: the classifier reads x(t) correctly more "
     "often than the corrupted input"),
    ("D2", "vae-inference", "t", INFERENCE_T, "psnr",
     "The VAE's repeated inference brings the image closer to the clean one: PSNR of x(t) "
     "above that of the corrupted input"),
    ("D3", "lsd-gan", "k", LSD_K, "correct",
     "LSD truncation in the GAN's latent space denoises: the classifier reads G(z_k) "
     "correctly more often than the corrupted input"),
    ("D4", "lsd-vae", "k", LSD_K, "correct",
     "LSD truncation in the VAE's latent space denoises: the classifier reads the "
     "decoded truncation correctly more often than the corrupted input"),
)
METRICS = {"correct": "classifier accuracy", "psnr": "PSNR against the clean image (dB)"}


def _variant(scores: dict, family: str, prefix: str, target: int) -> str | None:
    """The variant judged: ``prefix=target``, else the largest measured one below it."""
    found = sorted({int(v.split("=")[1]) for (f, v, _, _) in scores
                    if f == family and v.startswith(f"{prefix}=")})
    below = [v for v in found if v <= target]
    return f"{prefix}={below[-1]}" if below else None


def _diffs(scores: dict, family: str, variant: str, metric: str, level: float) -> dict:
    """noise -> per-image (denoiser − input) differences of ``metric`` at ``level``."""
    out = {}
    for (f, v, noise, lev) in scores:
        if f == family and v == variant and abs(lev - level) < 1e-9:
            mine, base = scores[(f, v, noise, lev)], scores.get(("input", "", noise, lev))
            if base is not None and metric in mine and metric in base:
                out[noise] = mine[metric] - base[metric]
    return out


def denoise_claim(spec: tuple, comp: Comparison, seed: int = 0) -> Claim:
    """One claim of :data:`SPECS` from the comparison's per-image scores."""
    cid, family, prefix, target, metric, text = spec
    scores = comp.scores or {}
    variant = _variant(scores, family, prefix, target)
    unit = "points" if metric == "correct" else "dB"
    claim = Claim(
        cid, text, f"paired Δ {METRICS[metric]} of {family} {prefix} = {target} (or the "
        f"largest measured below) minus the corrupted input, per noise kind at level "
        f"{MODERATE_LEVEL:g} ({comp.n_test} images)", "not studied by the papers",
        f"Δ > {MIN_SES:g} paired SE at every noise kind", None, None, sections=(SECTION,),
        null=0.0, null_name="the corrupted input itself (Δ = 0)")
    diffs = _diffs(scores, family, variant, metric, MODERATE_LEVEL) if variant else {}
    if not diffs:
        why = (f"{family} was not run" if not any(k[0] == family for k in scores) else
               f"no {METRICS[metric]} at level {MODERATE_LEVEL:g}")
        claim.details = f"not evaluated: {why}"
        return claim
    noises = list(diffs)
    d = [diffs[n] for n in noises]
    means = np.array([x.mean() for x in d])
    ses = np.array([x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan for x in d])
    floors = MIN_SES * ses
    scale = 100.0 if metric == "correct" else 1.0
    claim.run_value = {n: round(float(v), 4) for n, v in zip(noises, means)}
    claim.reproduced = bool(np.all(means > floors))
    claim.reading = f"{family} {variant}; interval of the smallest Δ over the noise kinds"
    if len(d[0]) >= 2:
        b = bootstrap(tuple(d), lambda *xs: np.array([x.mean() for x in xs]),
                      n_resamples=DEFAULT_RESAMPLES, level=BOOT_LEVEL, seed=seed)
        samples = np.asarray(b.samples).reshape(len(b.samples), -1)
        claim.interval = tuple(round(v, 4) for v in b.interval_of(np.min))
        claim.stability = float(np.mean((samples > floors).all(1)))
        claim.method = (f"percentile bootstrap over the test images (the same images at "
                        f"every noise kind), {DEFAULT_RESAMPLES} resamples, seed {seed}, "
                        f"{100 * BOOT_LEVEL:g} % interval; stability = share of resamples "
                        "with Δ above the floor at every noise kind")
        low, high = np.atleast_1d(b.low), np.atleast_1d(b.high)
        claim.details = "; ".join(
            f"{n}: Δ {scale * m:+.2f} {unit} [{scale * lo:+.2f}, {scale * hi:+.2f}], "
            f"SE {scale * s:.2f}" for n, m, lo, hi, s in zip(noises, means, low, high, ses))
    return claim


def scorecard(comparison: Comparison, seed: int = 0) -> list[Claim]:
    """D1-D4 measured on one seed's ``comparison`` (see the module doc); intervals
    seeded from ``seed``."""
    return [denoise_claim(spec, comparison, seed + i) for i, spec in enumerate(SPECS)]


def claims(results) -> list[Claim]:
    """The study's scorecard (:class:`~.stages.Results`): the one seed's, or with
    ``--seeds N`` the first seed's claims, each with how many seeds reproduce it."""
    from latentdyn.studies.common import combine_seeds

    per_seed = [scorecard(r.comparison, r.seed) for r in results.seeds]
    if len(per_seed) == 1:
        return per_seed[0]
    return combine_seeds(per_seed, results.seed_list)
