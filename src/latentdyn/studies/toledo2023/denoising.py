"""Stage 5, denoising by LSD truncation: keep the k largest coefficients of z = E(x) of
a corrupted test image and decode, against the corrupted input itself, read by the
judge; and the paired comparison at the moderate levels behind claim T2."""

from __future__ import annotations

from dataclasses import dataclass

from latentdyn.studies.toledo2023.claims import DENOISE_K, MODERATE
from latentdyn.studies.toledo2023.lsd import LSDResults
from latentdyn.studies.toledo2023.measures import PairedComparison, paired
from latentdyn.studies.toledo2023.models import Networks
from latentdyn.studies.toledo2023.profiles import Profile


@dataclass
class Denoising:
    """The denoising sweep (rows of :func:`~latentdyn.analysis.denoising.compare_denoising`
    with ``variant_label``), the example images and the paired comparison of T2."""

    n_images: int
    ks: list
    rows: list
    moderate: dict  # noise -> the moderate level of T2 (noises of the profile only)
    paired: list[PairedComparison]
    examples: dict  # (noise, level) -> images by variant (when the images are large enough)


def variant_label(row: dict, nz: int) -> str:
    """``input``, ``k=K`` or ``all`` (k = nz, the plain reconstruction G(E(x)))."""
    if row["family"] == "input":
        return "input"
    v = row["variant"]
    return "all" if v == f"k={nz}" else v


def denoising(nets: Networks, lsd: LSDResults, data, prof: Profile, seed: int) -> Denoising:
    """The sweep over the profile's noises and levels (with example images) and the
    paired comparison at the moderate levels."""
    from latentdyn.analysis.denoising import compare_denoising, lsd_method

    model, basis, judge, nz = nets.encoder, lsd.basis, nets.judge, nets.nz
    n_den = min(prof.den_images, len(data.test_labels))
    clean, clean_y = data.test_images[:n_den], data.test_labels[:n_den]
    ks = sorted({k for k in prof.ks if k <= nz} | {nz})
    meth = {"lsd-gan": lsd_method(model, basis, ks, "lsd-gan")}
    rows, examples = [], {}
    side = tuple(data.image_shape[-2:])
    image_shape = side if min(side) >= 7 else None
    for noise, levels in prof.noises:
        part = compare_denoising(meth, judge, clean, clean_y, [noise], list(levels),
                                 seed=seed, image_shape=image_shape, examples=examples,
                                 n_examples=prof.examples if image_shape else 0)
        rows += [r for r in part if r["family"] != "clean" or not rows]
    for r in rows:
        r["variant_label"] = variant_label(r, nz)
    moderate = {n: MODERATE[n] for n, _ in prof.noises if n in MODERATE}
    pairs = [paired(model, basis, judge, clean, clean_y, n, lev, DENOISE_K, seed)
             for n, lev in moderate.items() if DENOISE_K <= nz]
    return Denoising(n_den, ks, rows, moderate, pairs, examples)
