"""Figures of Toledo-Marín & Glazier (2023), latent spectral decomposition in a GAN
(paper 004, SPEC §3): Gram matrices, amplitude histograms, denoising curves and the
classifier's reading along latent rotations.

Like every latentdyn figure function these take plain arrays plus a ``caption`` and
return a :class:`matplotlib.figure.Figure` carrying its plotted numbers, which
:func:`latentdyn.figures.save_figure` writes as CSV beside the PNG and PDF. Image
grids (decoded quasi-eigenvectors, denoising examples, rotation paths) use
:func:`latentdyn.figures.image_grid`.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from latentdyn.figures.style import (
    CMAP_DIVERGING,
    FONT_SMALL,
    FONT_TINY,
    FigureDataError,
    add_caption,
    as_1d,
    attach_data,
    curve_colour,
    finish_axes,
    new_figure,
    plain,
    style_colorbar,
)

# one colour per LSD truncation (and the reference lines), fixed across figures
VARIANT_COLOURS = {"input": "#111111", "k=1": "#f4a582", "k=2": "#d6604d", "k=3": "#b2182b",
                   "k=4": "#67001f", "k=10": "#2166ac", "all": "#1b7837"}


def _matrix_panel(ax, m: np.ndarray, labels: Sequence[Any], title: str, *, vmin=-1.0,
                  vmax=1.0, xlabel: str = "", ylabel: str = ""):
    im = ax.imshow(m, cmap=CMAP_DIVERGING, vmin=vmin, vmax=vmax, interpolation="nearest")
    k_r, k_c = m.shape
    ax.set_xticks(range(k_c))
    ax.set_yticks(range(k_r))
    ax.set_xticklabels([plain(x) for x in labels[:k_c]])
    ax.set_yticklabels([plain(x) for x in labels[:k_r]])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if max(k_r, k_c) <= 12:
        fs = FONT_TINY if max(k_r, k_c) > 6 else FONT_SMALL
        for i in range(k_r):
            for j in range(k_c):
                v = m[i, j]
                if np.isfinite(v):
                    text = f"{v:.2f}"
                    text = "0.00" if float(text) == 0 else text
                    ax.text(j, i, text.replace("0.", ".", 1) if abs(v) < 1 else text,
                            ha="center", va="center", fontsize=fs - 1,
                            color="white" if abs(v) > 0.6 else "#222222")
    finish_axes(ax, spines=True)
    ax.tick_params(length=0)
    return im


def gram_matrices(means_cos: Any, vectors_gram: Any, cross: Any, labels: Sequence[Any],
                  caption: str = "") -> Figure:
    """Three K×K panels: cosine similarity of the raw class means m_i; Gram matrix
    ξ_i·ξ_j of the quasi-eigenvectors (the identity up to rounding); and cos(ξ_i, m_j),
    the triangular footprint of Gram–Schmidt."""
    mats = [np.asarray(m, dtype=float) for m in (means_cos, vectors_gram, cross)]
    k = len(labels)
    for name, m in zip(("means_cos", "vectors_gram", "cross"), mats):
        if m.shape != (k, k):
            raise FigureDataError(f"{name} must be ({k}, {k}), got {m.shape}")
    fig = new_figure(10.5, 3.9)
    axes = fig.subplots(1, 3)
    titles = ("cos(m_i, m_j): class means", "ξ_i · ξ_j: quasi-eigenvectors",
              "cos(ξ_i, m_j)")
    im = None
    for ax, m, title in zip(axes, mats, titles):
        im = _matrix_panel(ax, m, list(labels), title, xlabel="class j", ylabel="class i")
    cbar = fig.colorbar(im, ax=list(axes), fraction=0.015, pad=0.01, ticks=[-1, -0.5, 0, 0.5, 1])
    style_colorbar(cbar, "cosine / inner product")
    add_caption(fig, caption)
    columns: dict[str, np.ndarray] = {"class_i": np.asarray([str(x) for x in labels])}
    for tag, m in zip(("means_cos", "xi_gram", "xi_dot_mean_cos"), mats):
        for j, lab in enumerate(labels):
            columns[f"{tag}_j{lab}"] = m[:, j]
    attach_data(fig, columns)
    return fig


def amplitude_histograms(edges: Any, densities: Mapping[str, Any], rank_values: Sequence[Any],
                         rank_fractions: Any, caption: str = "", *,
                         label_fraction: float | None = None,
                         per_class: Mapping[Any, float] | None = None) -> Figure:
    """(a) histograms of the LSD amplitudes |c_i| of the test images, one per group
    (``densities[name]``: density per bin of ``edges``); (b) the distribution of the rank
    of the true label's coefficient among all |c_i| (``rank_values`` as text, e.g.
    "1", "2", ">10", "none"); (c), with ``per_class`` (class -> LSD accuracy, in the
    order of the quasi-eigenvectors), the LSD accuracy of each class."""
    edges = as_1d("edges", edges).astype(float)
    if len(edges) < 2:
        raise FigureDataError("edges needs at least two entries")
    if not densities:
        raise FigureDataError("no histogram to draw")
    centres = 0.5 * (edges[:-1] + edges[1:])
    if per_class:
        fig = new_figure(12.0, 3.3)
        ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.6, 1, 1])
    else:
        fig = new_figure(9.0, 3.3)
        ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    columns: dict[str, np.ndarray] = {"bin_left": edges[:-1], "bin_right": edges[1:]}
    for i, (name, dens) in enumerate(densities.items()):
        d = as_1d(f"densities[{name!r}]", dens, len(centres)).astype(float)
        colour = curve_colour(i)
        ax1.stairs(d, edges, color=colour, lw=1.4, label=plain(name))
        ax1.fill_between(centres, d, step="mid", color=colour, alpha=0.12, lw=0)
        columns[f"density_{name}"] = d
    ax1.set_yscale("symlog", linthresh=1e-3)
    ax1.set_xlabel("|c_i| = |⟨z, ξ_i⟩|")
    ax1.set_ylabel("density (symlog)")
    ax1.set_title("(a) LSD amplitudes of the test images")
    ax1.legend(frameon=False, fontsize=FONT_SMALL)
    finish_axes(ax1, grid=True)
    rv = [str(v) for v in rank_values]
    rf = as_1d("rank_fractions", rank_fractions, len(rv)).astype(float)
    ax2.bar(range(len(rv)), 100 * rf, color=curve_colour(0), width=0.75)
    ax2.set_xticks(range(len(rv)))
    ax2.set_xticklabels(rv)
    ax2.set_xlabel("rank of the true label's |c| among all nz")
    ax2.set_ylabel("test images (%)")
    title = "(b) rank of the true label"
    if label_fraction is not None:
        title += f"\nlargest |c_i| in label sub-space: {100 * label_fraction:.1f} %"
    ax2.set_title(title)
    finish_axes(ax2, grid=True)
    columns["rank"] = np.asarray(rv)
    columns["rank_fraction"] = rf
    if per_class:
        names = [str(k) for k in per_class]
        accs = np.asarray([float(v) for v in per_class.values()])
        ax3.bar(range(len(names)), 100 * accs, color=curve_colour(2), width=0.75)
        ax3.set_xticks(range(len(names)))
        ax3.set_xticklabels([plain(n) for n in names])
        ax3.set_ylim(0, 100)
        ax3.set_xlabel("class (Gram–Schmidt order)")
        ax3.set_ylabel("LSD accuracy (%)")
        ax3.set_title("(c) LSD accuracy per class")
        finish_axes(ax3, grid=True)
        columns["class"] = np.asarray(names)
        columns["lsd_accuracy"] = accs
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


def denoise_curves(rows: Sequence[Mapping[str, Any]], caption: str = "",
                   clean_accuracy: float | None = None,
                   moderate: Mapping[str, float] | None = None) -> Figure:
    """Classifier accuracy (top) and PSNR against the clean image (bottom) against the
    noise level, one column per noise kind, one line per variant ("input", "k=…",
    "all"). ``rows``: dicts with ``noise``, ``level``, ``variant``, ``accuracy``,
    ``psnr``, ``psnr_sem`` (the rows of :func:`latentdyn.analysis.denoising.compare_denoising`
    with ``variant`` renamed as above). ``moderate``: noise -> level marked by a
    vertical line (the level a claim is evaluated at)."""
    rows = [r for r in rows if r["noise"] != "none"]
    noises = list(dict.fromkeys(r["noise"] for r in rows))
    if not noises:
        raise FigureDataError("no denoising rows to plot")
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    fig = new_figure(min(2.7 * len(noises) + 1.6, 13.0), 5.2)
    axes = fig.subplots(2, len(noises), squeeze=False)
    handles = {}
    columns: dict[str, list] = {k: [] for k in ("noise", "level", "variant", "accuracy", "psnr",
                                                "psnr_sem")}
    for col, noise in enumerate(noises):
        sel = [r for r in rows if r["noise"] == noise]
        for v_i, variant in enumerate(variants):
            rs = sorted((r for r in sel if r["variant"] == variant), key=lambda r: r["level"])
            if not rs:
                continue
            xs = [r["level"] for r in rs]
            colour = VARIANT_COLOURS.get(variant, curve_colour(v_i))
            style = dict(color=colour, lw=1.8 if variant in ("input", "k=10") else 1.1,
                         ls="--" if variant == "input" else "-", marker="o", ms=3)
            (line,) = axes[0, col].plot(xs, [100 * r["accuracy"] for r in rs], **style)
            axes[1, col].errorbar(xs, [r["psnr"] for r in rs],
                                  yerr=[r.get("psnr_sem", 0.0) for r in rs], capsize=1.5,
                                  elinewidth=0.7, **style)
            handles.setdefault(variant, line)
            for r in rs:
                for key in columns:
                    columns[key].append(r.get(key, variant if key == "variant" else np.nan))
        for r_i in range(2):
            ax = axes[r_i, col]
            if moderate and noise in moderate:
                ax.axvline(moderate[noise], color="#aaaaaa", lw=0.8, ls=":")
            if r_i == 0 and clean_accuracy is not None:
                ax.axhline(100 * clean_accuracy, color="#777777", lw=0.8, ls="-.")
            if r_i == 0:
                ax.set_title(plain(noise))
            else:
                ax.set_xlabel("noise level")
            if col == 0:
                ax.set_ylabel("classifier accuracy (%)" if r_i == 0 else "PSNR vs clean (dB)")
            finish_axes(ax, grid=True)
    names = [("corrupted input" if v == "input" else v) for v in handles]
    fig.legend(list(handles.values()), names, loc="outside right upper", frameon=False,
               fontsize=FONT_SMALL)
    add_caption(fig, caption)
    attach_data(fig, {k: np.asarray(v) for k, v in columns.items()})
    return fig


def rotation_summary(angles_deg: Any, curves: Mapping[str, Any], matrix: Any,
                     labels: Sequence[Any], caption: str = "", *,
                     errors: Mapping[str, Any] | None = None) -> Figure:
    """(a) the classifier's reading along the rotation paths, averaged over all ordered
    pairs i→j (``curves[name]`` per angle, fractions in [0, 1]; ``errors`` optional
    SEM); (b) ``matrix[i, j]``: fraction of the paths from digit i read as j at the end
    (π/2)."""
    ang = as_1d("angles_deg", angles_deg).astype(float)
    m = np.asarray(matrix, dtype=float)
    k = len(labels)
    if m.shape != (k, k):
        raise FigureDataError(f"matrix must be ({k}, {k}), got {m.shape}")
    fig = new_figure(9.5, 3.6)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.35, 1])
    columns: dict[str, np.ndarray] = {"angle_deg": ang}
    for i, (name, y) in enumerate(curves.items()):
        yy = as_1d(f"curves[{name!r}]", y, len(ang)).astype(float)
        colour = curve_colour(i)
        ax1.plot(ang, 100 * yy, color=colour, lw=1.5, marker="o", ms=3, label=plain(name))
        columns[str(name)] = yy
        if errors and name in errors:
            e = as_1d(f"errors[{name!r}]", errors[name], len(ang)).astype(float)
            ax1.fill_between(ang, 100 * (yy - e), 100 * (yy + e), color=colour, alpha=0.2, lw=0)
            columns[f"{name}_sem"] = e
    ax1.set_xlabel("rotation angle in the (ξ_i, ξ_j) plane (degrees)")
    ax1.set_ylabel("% of paths")
    ticks = ang[:: max(1, len(ang) // 6)]
    ax1.set_xticks(ticks, [f"{v:.0f}" for v in ticks])
    ax1.set_ylim(-3, 103)
    ax1.set_title("(a) reading along the path, all pairs i→j")
    ax1.legend(frameon=False, fontsize=FONT_SMALL)
    finish_axes(ax1, grid=True)
    shown = np.where(np.eye(k, dtype=bool), np.nan, m)
    im = ax2.imshow(shown, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    ax2.set_xticks(range(k))
    ax2.set_yticks(range(k))
    ax2.set_xticklabels([plain(x) for x in labels])
    ax2.set_yticklabels([plain(x) for x in labels])
    ax2.set_xlabel("target digit j")
    ax2.set_ylabel("source digit i")
    ax2.set_title("(b) read as j at π/2")
    if k <= 12:
        for i in range(k):
            for j in range(k):
                if i != j and np.isfinite(m[i, j]):
                    ax2.text(j, i, f"{100 * m[i, j]:.0f}", ha="center", va="center",
                             fontsize=FONT_TINY, color="white" if m[i, j] < 0.6 else "#111111")
    finish_axes(ax2, spines=True)
    ax2.tick_params(length=0)
    cbar = fig.colorbar(im, ax=ax2, fraction=0.046, pad=0.03)
    style_colorbar(cbar, "fraction read as j")
    add_caption(fig, caption)
    columns["source_i"] = np.asarray([str(x) for x in labels])
    for j, lab in enumerate(labels):
        columns[f"read_as_j{lab}"] = m[:, j]
    attach_data(fig, columns)
    return fig


__all__ = ["VARIANT_COLOURS", "amplitude_histograms", "denoise_curves", "gram_matrices",
           "rotation_summary"]
