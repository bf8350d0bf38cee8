"""Stage 5, denoising by LSD truncation: keep the k largest coefficients of z = E(x) of
a corrupted test image and decode, against the corrupted input itself, read by the
judge; and the paired comparison at the moderate levels behind claim T2."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latentdyn.studies.toledo2023.claims import DENOISE_K, MODERATE
from latentdyn.studies.toledo2023.lsd import LSDResults, Save
from latentdyn.studies.toledo2023.measures import PairedComparison, paired
from latentdyn.studies.toledo2023.models import Networks
from latentdyn.studies.toledo2023.profiles import Profile


@dataclass
class Denoising:
    """The denoising sweep (rows of :func:`~latentdyn.analysis.denoising.compare_denoising`
    with ``variant_label``), its figures and the paired comparison of T2."""

    n_images: int
    ks: list
    rows: list
    moderate: dict  # noise -> the moderate level of T2 (noises of the profile only)
    paired: list[PairedComparison]
    curves: Any  # SavedFigure
    grids: list  # (noise, level, SavedFigure) per noise kind


def variant_label(row: dict, nz: int) -> str:
    """``input``, ``k=K`` or ``all`` (k = nz, the plain reconstruction G(E(x)))."""
    if row["family"] == "input":
        return "input"
    v = row["variant"]
    return "all" if v == f"k={nz}" else v


def denoising(nets: Networks, lsd: LSDResults, data, prof: Profile, seed: int, save: Save,
              datadir: Path) -> Denoising:
    """The sweep over the profile's noises and levels, the curves and example grids,
    and the paired comparison at the moderate levels (``denoise_table.*`` and
    ``denoise_moderate.json`` in ``datadir``)."""
    from latentdyn.analysis.denoising import compare_denoising, lsd_method
    from latentdyn.io import write_json
    from latentdyn.reporting.denoise_tables import write_tables

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
    curves = _curves(rows, moderate, n_den, nz, save)
    write_tables(rows, datadir, "denoise_table")
    grids = _grids(examples, prof, moderate, ks, nz, side, save)
    pairs = [paired(model, basis, judge, clean, clean_y, n, lev, DENOISE_K, seed)
             for n, lev in moderate.items() if DENOISE_K <= nz]
    write_json(datadir / "denoise_moderate.json", [p.to_json() for p in pairs])
    return Denoising(n_den, ks, rows, moderate, pairs, curves, grids)


def _curves(rows: list, moderate: dict, n_images: int, nz: int, save: Save):
    from latentdyn.figures.toledo import denoise_curves

    clean_row = next(r for r in rows if r["family"] == "clean")
    curve_rows = [dict(r, variant=r["variant_label"]) for r in rows if r["family"] != "clean"]
    return save(denoise_curves(curve_rows, clean_accuracy=clean_row["accuracy"],
                               moderate=moderate, caption=(
        f"The judge's accuracy on, and the PSNR against the clean image of, {n_images} "
        f"corrupted test images (dashed), and their LSD truncations G(z_k) keeping the k "
        f"largest |c_i| of z = E(x) (k = {nz}, 'all', is the plain reconstruction "
        f"G(E(x))). Dash-dotted: accuracy on the clean images; dotted: the moderate level "
        f"of claim T2. PSNR ± SEM over images. Each (noise, level) is corrupted once; "
        f"every variant sees the same images.")), "denoise_curves")


def _grids(examples: dict, prof: Profile, moderate: dict, ks: list, nz: int, side: tuple,
           save: Save) -> list:
    """Per noise kind, the first test images at its moderate (else middle) level and
    their truncations."""
    from latentdyn.figures import image_grid

    grids = []
    for noise, levels in prof.noises:
        lev = moderate.get(noise, sorted(levels)[len(levels) // 2])
        ex = examples.get((noise, float(lev)))
        if not ex:
            continue
        keys = ["clean", "corrupted"] + [f"lsd-gan k={k}" for k in ks]
        arr = np.stack([ex[kk].reshape(-1, *side).numpy() for kk in keys], 1)
        names = ["clean", "corrupted"] + [("all" if k == nz else f"k={k}") for k in ks]
        saved = save(image_grid(
            arr, col_labels=names, row_labels=[f"#{i}" for i in range(arr.shape[0])],
            title=f"{noise}, level {lev:g}", caption=(
                f"The first {arr.shape[0]} test images, corrupted ({noise}, level {lev:g}), "
                f"and their LSD truncations G(z_k); 'all' = G(E(x)) with every coefficient "
                f"kept.")), f"denoise_grid_{noise}", csv_columns={})
        grids.append((noise, lev, saved))
    return grids
