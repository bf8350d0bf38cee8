"""The files of one set of networks, drawn from the stages' results: the figures
(``figures/<stem>.png|pdf`` with their data in ``data/<stem>.csv``), the data files
(``lsd.json``, ``denoise_rows.json``, ``denoise_table.*``, ``denoise_moderate.json``,
``rotations.json``) and the basis (``basis.safetensors``); returned as
:class:`Figures` for the report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from latentdyn.studies.toledo2023.profiles import Profile

Save = Callable[..., Any]  # (figure, stem, **kw) -> SavedFigure


@dataclass
class Figures:
    """The saved figures of one set of networks (each a
    :class:`~latentdyn.figures.SavedFigure`)."""

    samples: Any
    gram: Any
    decoded: Any
    amplitudes: Any
    denoise_curves: Any
    denoise_grids: list  # (noise, level, SavedFigure) per noise kind
    rotations: Any
    rotation_paths: Any | None  # None without any example path


def write_outputs(out: Path, prof: Profile, res) -> Figures:
    """Every file of the results ``res`` (a :class:`~.stages.SeedResults`) in ``out``."""
    from latentdyn.analysis.lsd import save_basis
    from latentdyn.io import write_json
    from latentdyn.reporting.denoise_tables import write_tables

    datadir = out / "data"
    save = _saver(out / "figures", datadir, prof.fig_dpi)
    save_basis(out / "basis.safetensors", res.lsd.basis,
               {"encoder": res.nets.paths["encoder"],
                "classifier": res.nets.paths["classifier"]})
    den = res.denoising
    figures = Figures(
        samples=_samples_figure(res, prof, save), gram=_gram_figure(res, prof, save),
        decoded=_decoded_figure(res, save), amplitudes=_amplitude_figure(res, save),
        denoise_curves=_denoise_curves(den, res.nets.nz, save),
        denoise_grids=_denoise_grids(den, prof, res.nets.nz, res.images.side, save),
        rotations=_rotation_figure(res, prof, save), rotation_paths=_paths_figure(res, save))
    write_tables(den.rows, datadir, "denoise_table")
    write_json(datadir / "denoise_moderate.json", [p.to_json() for p in den.paired])
    write_json(datadir / "rotations.json", res.rotations.to_json())
    _write_data(datadir, res)
    return figures


def _saver(figdir: Path, datadir: Path, dpi: int) -> Save:
    """Save a figure as ``figdir/<stem>.png|pdf`` with its data in ``datadir``."""
    from latentdyn.figures import save_figure

    def save(fig, stem: str, **kw):
        return save_figure(fig, figdir, stem, data_dir=datadir, dpi=dpi, **kw)

    return save


def _write_data(datadir: Path, res) -> None:
    """``lsd.json`` (the LSD summary with the stages' statistics) and
    ``denoise_rows.json``."""
    from latentdyn.io import write_json

    lsd = res.lsd
    write_json(datadir / "lsd.json", {
        **lsd.summary, "accuracies": lsd.accuracies,
        "label_subspace_tests": {r: t.summary() for r, t in lsd.subspace.items()},
        "gan_quality": res.samples.summary(),
        "decoded_vectors": res.decoded.vectors.to_json(),
        "amplitude_means": res.amplitudes.histograms.mean_abs,
        "span": {"gram": lsd.gram_deviation, "reconstruction": lsd.reconstruction_error},
        "gan_last_epoch": res.nets.gan_metrics, "encoder_last_epoch": res.nets.encoder_metrics})
    write_json(datadir / "denoise_rows.json", res.denoising.rows)


def headline(res) -> dict:
    """The manifest's ``results``: the numbers behind the claims."""
    lsd = res.lsd
    return {"label_subspace_fraction": lsd.label_fraction,
            "label_subspace_tests": {r: t.summary() for r, t in lsd.subspace.items()},
            "lsd_accuracy": lsd.test["lsd_accuracy"], "mean_rank": lsd.test["mean_rank"],
            "accuracies": lsd.accuracies,
            "denoise_moderate": [p.to_json() for p in res.denoising.paired],
            "rotation_end_j": res.rotations.frac_end_j,
            "one_to_one": res.decoded.n_one, "gan_score": res.samples.score_generated}


# ------------------------------------------------------------------------ the figures
def _samples_figure(res, prof: Profile, save: Save):
    """Prior samples G(z), with the judge's and C's label of each in the CSV."""
    from latentdyn.figures import image_grid

    q, nz, side, ns = res.samples, res.nets.nz, res.images.side, prof.samples
    cols = int(math.ceil(math.sqrt(ns)))
    rows_ = int(math.ceil(ns / cols))
    grid = torch.full((rows_ * cols, int(np.prod(side))), float("nan"))
    grid[:ns] = q.images[:ns]
    return save(image_grid(
        grid.reshape(rows_, cols, *side).numpy(), caption=(
            f"G(z) for {ns} prior samples z ~ N(0, I) (nz = {nz}); the judge's label of "
            f"each in the CSV. Judge on {q.n} samples: class shares "
            + ", ".join(f"{c}: {100 * s:.0f} %" for c, s in enumerate(q.class_share_judge))
            + f"; score exp E KL(p(y|x)||p(y)) = {q.score_generated:.2f} (test images: "
            f"{q.score_test_images:.2f}, maximum {res.num_classes})."),
        title="GAN samples"), "gan_samples",
        csv_columns={"sample": np.arange(ns), "judge_label": q.judge_labels[:ns].numpy(),
                     "classifier_label": q.classifier_labels[:ns].numpy()})


def _gram_figure(res, prof: Profile, save: Save):
    from latentdyn.studies.toledo2023.figures import gram_matrices

    lsd, g = res.lsd, res.gram
    basis, k_lab = lsd.basis, lsd.num_label
    return save(gram_matrices(g.means_cos, g.vector_gram, g.cross, lsd.classes, caption=(
        f"Left: cosine similarity of the {k_lab} class means m_k (latents labelled by "
        f"C(G(z)): E over {len(res.images.train_y)} training images, then prior samples; at "
        f"most {prof.max_per_class} per class; counts {basis.counts.tolist()}); mean "
        f"|off-diagonal| {g.off_means:.3f}. Middle: ξ_i·ξ_j of the Gram–Schmidt "
        f"quasi-eigenvectors (max |Ξ Ξᵀ − I| over all {basis.nz} vectors "
        f"{lsd.gram_deviation:.1e}). Right: cos(ξ_i, m_j).")), "gram_matrices")


def _decoded_figure(res, save: Save):
    from latentdyn.figures import image_grid

    k_lab, labels_k, v = res.lsd.num_label, res.lsd.classes, res.decoded.vectors
    return save(image_grid(
        v.images.reshape(k_lab, len(v.columns), *res.images.side).numpy(),
        row_labels=[f"{lab}: s={s:.2f}" for lab, s in zip(labels_k, v.scales)],
        col_labels=[x.replace("G(", "").rstrip(")") for x in v.columns], cell=0.8,
        title="decoded quasi-eigenvectors", caption=(
            "Row k: G(m_k) (the class mean), then G(f·s_k·ξ_k) for f = 0.5, 1, 2, where "
            "s_k = <m_k, ξ_k> is the class mean's own coefficient (the scale the class's "
            "latents have on ξ_k on average; given per row; ‖m_k‖ = "
            + ", ".join(f"{n:.2f}" for n in v.norm_class_means)
            + f"). The judge reads G(s_k ξ_k) as k for {v.read_as_own('judge', 2)} of {k_lab} "
            f"classes, G(m_k) for {v.read_as_own('judge', 0)}; classifier C: "
            f"{v.read_as_own('classifier', 2)} of {k_lab}.")),
        "decoded_quasi_eigenvectors",
        csv_columns={"class": np.asarray(labels_k), "s_k": np.asarray(v.scales),
                     "norm_m_k": np.asarray(v.norm_class_means),
                     **{f"judge_{n}": v.judge[:, i].numpy() for i, n in enumerate(v.columns)},
                     **{f"classifier_{n}": v.classifier[:, i].numpy()
                        for i, n in enumerate(v.columns)}})


def _amplitude_figure(res, save: Save):
    from latentdyn.studies.toledo2023.figures import amplitude_histograms

    lsd, hist = res.lsd, res.amplitudes.histograms
    t, k_lab, nz = lsd.test, lsd.num_label, lsd.basis.nz
    return save(amplitude_histograms(
        hist.edges, hist.groups, hist.rank_names, hist.rank_fractions,
        label_fraction=t["label_subspace_fraction"],
        per_class=res.amplitudes.per_class_accuracy, caption=(
            f"(a) |c_i| = |<E(x), ξ_i>| over {t['n']} test images: on the vector of the "
            f"image's true label, on the other {k_lab - 1} label vectors, and on the "
            f"{nz - k_lab} completing vectors (mean |c|: "
            + ", ".join(f"{n} {v:.2f}" for n, v in hist.mean_abs.items())
            + f"). (b) rank of the true label's |c| among all {nz}; LSD accuracy "
            f"{100 * t['lsd_accuracy']:.1f} %, mean rank {t['mean_rank']:.2f}. Chance "
            f"for the label-sub-space fraction with an isotropic latent: "
            f"{100 * k_lab / nz:.0f} %{_null_text(lsd)}. (c) LSD accuracy of the test "
            f"images of each class, classes in the order of the Gram–Schmidt process.")),
        "amplitude_histograms")


def _null_text(lsd) -> str:
    """The label-sub-space fractions of both readings with their shuffled-label nulls."""
    parts = [f"{'as the paper' if r == 'paper' else 'latents centred first'}: "
             f"{100 * t.fraction:.1f} % (shuffled labels {100 * t.null.mean:.1f} %, "
             f"{100 * t.null.level:g}th percentile {100 * t.null.quantile:.1f} %)"
             for r, t in lsd.subspace.items()]
    return "; label-sub-space fraction " + ", ".join(parts) if parts else ""


def _denoise_curves(den, nz: int, save: Save):
    from latentdyn.studies.toledo2023.figures import denoise_curves

    clean_row = next(r for r in den.rows if r["family"] == "clean")
    curve_rows = [dict(r, variant=r["variant_label"]) for r in den.rows
                  if r["family"] != "clean"]
    return save(denoise_curves(curve_rows, clean_accuracy=clean_row["accuracy"],
                               moderate=den.moderate, caption=(
        f"The judge's accuracy on, and the PSNR against the clean image of, {den.n_images} "
        f"corrupted test images (dashed), and their LSD truncations G(z_k) keeping the k "
        f"largest |c_i| of z = E(x) (k = {nz}, 'all', is the plain reconstruction "
        f"G(E(x))). Dash-dotted: accuracy on the clean images; dotted: the moderate level "
        f"of claim T2. PSNR ± SEM over images. Each (noise, level) is corrupted once; "
        f"every variant sees the same images.")), "denoise_curves")


def _denoise_grids(den, prof: Profile, nz: int, side: tuple, save: Save) -> list:
    """Per noise kind, the first test images at its moderate (else middle) level and
    their truncations."""
    from latentdyn.figures import image_grid

    grids = []
    for noise, levels in prof.noises:
        lev = den.moderate.get(noise, sorted(levels)[len(levels) // 2])
        ex = den.examples.get((noise, float(lev)))
        if not ex:
            continue
        keys = ["clean", "corrupted"] + [f"lsd-gan k={k}" for k in den.ks]
        arr = np.stack([ex[kk].reshape(-1, *side).numpy() for kk in keys], 1)
        names = ["clean", "corrupted"] + [("all" if k == nz else f"k={k}") for k in den.ks]
        saved = save(image_grid(
            arr, col_labels=names, row_labels=[f"#{i}" for i in range(arr.shape[0])],
            title=f"{noise}, level {lev:g}", caption=(
                f"The first {arr.shape[0]} test images, corrupted ({noise}, level {lev:g}), "
                f"and their LSD truncations G(z_k); 'all' = G(E(x)) with every coefficient "
                f"kept.")), f"denoise_grid_{noise}", csv_columns={})
        grids.append((noise, lev, saved))
    return grids


def _rotation_figure(res, prof: Profile, save: Save):
    from latentdyn.studies.toledo2023.figures import rotation_summary

    rot = res.rotations
    return save(rotation_summary(
        np.degrees(rot.angles), {"read as target j": rot.curve_j,
                                 "read as source i": rot.curve_i,
                                 "mean p(j | x)": rot.curve_pj},
        rot.end_matrix, res.lsd.classes, caption=(
            f"{rot.paths} paths: the first {prof.rot_images} test images of each digit "
            f"i, encoded, rotated by R(θ) in the plane of (ξ_i, ξ_j) (orthogonal, det +1, "
            f"R(π/2) ξ_i = ξ_j) toward every other digit j in {prof.rot_steps} steps, "
            f"decoded and read by the judge. At θ = 0 (the reconstruction) "
            f"{100 * rot.frac_start_i:.0f} % are read as i; at π/2 "
            f"{100 * rot.frac_end_j:.0f} % as j (classifier C: "
            f"{100 * rot.frac_end_j_classifier:.0f} %).")),
        "rotation_reading")


def _paths_figure(res, save: Save):
    """One example path per source digit (toward the next digit), or None."""
    from latentdyn.figures import image_grid

    ex_pairs = list(res.rotations.examples.items())
    if not ex_pairs:
        return None
    deg = np.degrees(res.rotations.angles)
    arr = np.stack([imgs.reshape(-1, *res.images.side).numpy() for _, (imgs, _) in ex_pairs])
    return save(image_grid(
        arr, row_labels=[f"{a}→{b}" for (a, b), _ in ex_pairs],
        col_labels=[f"{d:.0f}°" for d in deg], title="rotation paths", caption=(
            "Each row: the first test image of digit i rotated toward digit i+1 "
            "(a fixed, not a selected, pair per row), decoded at each angle. The "
            "judge's label at each step is in the CSV.")),
        "rotation_paths",
        csv_columns={"pair": np.asarray([f"{a}->{b}" for (a, b), _ in ex_pairs]),
                     **{f"judge_label_{d:.0f}deg": np.asarray(
                         [int(lab[s]) for _, (_, lab) in ex_pairs])
                        for s, d in enumerate(deg)}})
