"""Figures of Nagano, Karakida & Okada (2017): repeated inference in a VAE.

Each function takes plain numpy arrays and a caption (the run's settings), returns a
:class:`~matplotlib.figure.Figure`, and attaches the plotted numbers so that
:func:`~latentdyn.figures.save_figure` writes them as CSV beside the picture.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from latentdyn.figures._style import (
    CMAP_DIVERGING,
    CMAP_IMAGE,
    FONT,
    FONT_SMALL,
    FONT_TINY,
    FONT_TITLE,
    FULL_WIDTH,
    FigureDataError,
    add_caption,
    as_1d,
    attach_data,
    check_keys,
    curve_colour,
    finish_axes,
    label_colour,
    new_figure,
    plain,
    style_colorbar,
    sub,
)
from latentdyn.figures.generic import mosaic

# Display names for the usual keys of fig4_stages (mathtext allowed).
DEFAULT_LEVEL_LABELS = {
    "memory": r"own memory $\xi^{(i)}$",
    "concept": r"concept $\bar{\xi}_{\mathrm{label}}$",
    "abstract": r"abstract concept $\bar{\xi}_{\mathrm{all}}$",
}
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


# --------------------------------------------------------------------------- Fig. 1
def fig1_sequence(
    frames: Any,
    steps: Any,
    concept_image: Any,
    label: Any,
    caption: str = "",
    *,
    ncols: int | None = None,
    title: str | None = None,
    cmap: str = CMAP_IMAGE,
) -> Figure:
    """x(t) from a corrupted digit as an image sequence (left to right, one row after
    the other), beside the decoded concept E_p[x | ξ̄_label].

    ``frames`` (S, H, W) in [0, 1], ``steps`` (S,) the t of each frame,
    ``concept_image`` (H, W).
    """
    frames = np.asarray(frames, dtype=float)
    if frames.ndim != 3:
        raise FigureDataError(f"frames must be (S, H, W), got shape {frames.shape}")
    s, h, w = frames.shape
    steps = as_1d("steps", steps, s)
    concept = np.asarray(concept_image, dtype=float)
    if concept.shape != (h, w):
        raise FigureDataError(f"concept_image has shape {concept.shape}, frames are {(h, w)}")
    ncols = int(ncols or min(s, 10))
    nrows = math.ceil(s / ncols)

    padded = np.full((nrows * ncols, h, w), np.nan)
    padded[:s] = frames
    gap = max(1, round(0.08 * max(h, w)))
    gap_y = max(gap, round(0.3 * h))  # room for the "t = …" under each frame
    tiled = mosaic(padded.reshape(nrows, ncols, h, w), gap=gap, gap_y=gap_y)
    tiled = np.vstack([tiled, np.full((gap_y - gap,) + tiled.shape[1:], np.nan)])
    colormap = mpl.colormaps[cmap].with_extremes(bad="white")

    cell = 0.6
    concept_cells = min(max(nrows, 2), 3)
    fig = new_figure(ncols * cell + concept_cells * cell + 0.5, nrows * cell * 1.3 + 0.5)
    left, right = fig.subfigures(1, 2, width_ratios=[ncols, concept_cells + 0.4], wspace=0.02)

    ax = left.add_subplot()
    ax.imshow(tiled, cmap=colormap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    for k in range(s):
        i, j = divmod(k, ncols)
        ax.text(j * (w + gap) + (w - 1) / 2, i * (h + gap_y) + h - 0.2, f"t = {_fmt_num(steps[k])}",
                ha="center", va="top", fontsize=FONT_TINY, color="#333333")
    left.suptitle(title or f"repeated inference x(t) from a corrupted '{plain(label)}'",
                  fontsize=FONT_TITLE)

    axc = right.add_subplot()
    axc.imshow(concept, cmap=colormap, vmin=0, vmax=1, interpolation="nearest")
    axc.set_xticks([])
    axc.set_yticks([])
    for side in axc.spines.values():
        side.set_edgecolor(label_colour(3))
        side.set_linewidth(1.5)
    axc.set_title(rf"concept $E_p[x\,|\,\bar{{\xi}}_{sub(label)}]$", fontsize=FONT)
    right.suptitle(" ", fontsize=FONT_TITLE)  # keeps the two panels' tops aligned
    add_caption(fig, caption)

    columns: dict[str, np.ndarray] = {
        "pixel_row": np.repeat(np.arange(h), w),
        "pixel_col": np.tile(np.arange(w), h),
    }
    for k in range(s):
        columns[f"x_t{_fmt_num(steps[k])}"] = frames[k].reshape(-1)
    columns[f"concept_{label}"] = concept.reshape(-1)
    attach_data(fig, columns)
    return fig


# --------------------------------------------------------------------------- Fig. 2
def fig2_distance_curves(
    t: Any,
    means: Mapping[Any, Any],
    sems: Mapping[Any, Any],
    caption: str = "",
    t_star: Mapping[Any, Any] | None = None,
    *,
    ncols: int = 5,
    sharey: bool = False,
    xscale: str = "linear",
    title: str | None = None,
) -> Figure:
    """One panel per label: mean ± SEM (shaded) of ‖z(t) − ξ̄_label‖₂ against t, with
    t* (the step of the smallest mean distance) marked.

    ``means[label]``, ``sems[label]``: arrays of length len(t). ``t_star[label]``: a
    value of t; ``None`` marks the argmin of each mean curve; ``{}`` marks nothing.
    ``xscale="symlog"`` stretches the first steps, where the dip happens.
    """
    t = as_1d("t", t).astype(float)
    labels = list(means)
    if not labels:
        raise FigureDataError("fig2_distance_curves needs at least one label")
    check_keys("sems", sems.keys(), labels)
    if t_star is None:
        t_star = {k: t[int(np.nanargmin(np.asarray(means[k], dtype=float)))] for k in labels}
    ncols = max(1, min(ncols, len(labels)))
    nrows = math.ceil(len(labels) / ncols)

    fig = new_figure(FULL_WIDTH, 1.45 * nrows + 0.75)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=sharey, squeeze=False))
    columns: dict[str, np.ndarray] = {"t": t}
    star_labels, star_values = [], []
    for k, label in enumerate(labels):
        ax = axes.flat[k]
        m = as_1d(f"means[{label!r}]", means[label], len(t)).astype(float)
        e = as_1d(f"sems[{label!r}]", sems[label], len(t)).astype(float)
        colour = label_colour(k)
        ax.fill_between(t, m - e, m + e, color=colour, alpha=0.25, linewidth=0)
        ax.plot(t, m, color=colour, lw=1.3)
        columns[f"mean_{label}"] = m
        columns[f"sem_{label}"] = e
        if label in t_star and t_star[label] is not None:
            ts = float(t_star[label])
            idx = int(np.argmin(np.abs(t - ts)))
            ax.axvline(ts, color="#444444", lw=0.8, ls="--")
            ax.plot([t[idx]], [m[idx]], marker="o", ms=3.5, color="black", zorder=3)
            ax.text(0.97, 0.95, f"t* = {_fmt_num(ts)}", transform=ax.transAxes, ha="right",
                    va="top", fontsize=FONT_TINY, color="#333333")
            star_labels.append(str(label))
            star_values.append(ts)
        ax.set_title(f"'{plain(label)}'", fontsize=FONT, pad=3)
        ax.set_xscale(xscale)
        finish_axes(ax, grid=True)
        ax.title.set_fontsize(FONT)
    for ax in axes.flat[len(labels):]:
        ax.set_visible(False)
    fig.supxlabel("inference step t", fontsize=FONT)
    fig.supylabel(r"distance to own concept $\|z(t)-\bar{\xi}_{\mathrm{label}}\|_2$",
                  fontsize=FONT)
    handles = [
        Line2D([], [], color="#555555", lw=1.3),
        Patch(color="#555555", alpha=0.25, linewidth=0),
        Line2D([], [], color="#444444", lw=0.8, ls="--", marker="o", ms=3.5, mfc="black"),
    ]
    fig.legend(handles, ["mean over trials", "± 1 SEM", "t* (minimum of the mean)"],
               loc="outside upper center", ncols=3, frameon=False, fontsize=FONT_SMALL)
    if title:
        fig.suptitle(title, fontsize=FONT_TITLE)
    add_caption(fig, caption)
    if star_labels:
        columns["t_star_label"] = np.asarray(star_labels)
        columns["t_star"] = np.asarray(star_values)
    attach_data(fig, columns)
    return fig


# -------------------------------------------------------------------------- Fig. 3a
def fig3a_concepts(
    concepts: Any,
    active_mask: Any,
    caption: str = "",
    *,
    labels: Sequence[Any] | None = None,
    only_active: bool = False,
    title: str | None = None,
    cmap: str = CMAP_DIVERGING,
) -> Figure:
    """Heat map of the concepts ξ̄ (label × latent unit), colour scale symmetric about 0.

    Active units are listed on the top axis (or, with ``only_active=True``, the map
    shows only them, labelled by their unit index).
    """
    concepts = np.asarray(concepts, dtype=float)
    if concepts.ndim != 2:
        raise FigureDataError(f"concepts must be (K, nz), got shape {concepts.shape}")
    k, nz = concepts.shape
    mask = as_1d("active_mask", active_mask, nz).astype(bool)
    labels = list(range(k)) if labels is None else list(labels)
    if len(labels) != k:
        raise FigureDataError(f"{len(labels)} labels for {k} concepts")
    active = np.flatnonzero(mask)
    shown = active if only_active else np.arange(nz)
    data = concepts[:, shown]
    vmax = float(np.nanmax(np.abs(data))) if data.size else 1.0
    vmax = vmax if vmax > 0 else 1.0

    fig = new_figure(FULL_WIDTH if (len(shown) > 24 or not only_active) else 5.0,
                     0.24 * k + 1.5)
    ax = fig.add_subplot()
    im = ax.imshow(data, aspect="auto", cmap=cmap, vmin=-vmax, vmax=vmax,
                   interpolation="nearest")
    ax.set_yticks(range(k))
    ax.set_yticklabels([plain(x) for x in labels])
    ax.set_ylabel("label")
    if only_active:
        ax.set_xticks(range(len(shown)))
        ax.set_xticklabels([str(u) for u in shown], rotation=90 if len(shown) > 20 else 0)
        ax.set_xlabel(f"latent unit (active units only: {len(active)} of {nz})")
    else:
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(nbins=10, integer=True))
        ax.set_xlabel("latent unit")
        top = ax.secondary_xaxis("top")
        top.set_xticks(active)
        top.set_xticklabels([str(u) for u in active], rotation=90, fontsize=FONT_TINY,
                            color="#8b0000")
        top.tick_params(length=4, color="#8b0000", width=0.8)
        top.set_xlabel(f"active units ({len(active)} of {nz})", fontsize=FONT_SMALL,
                       color="#8b0000")
        for x in active:  # a faint frame around each active column
            ax.axvline(x - 0.5, color="#8b0000", lw=0.3, alpha=0.35)
            ax.axvline(x + 0.5, color="#8b0000", lw=0.3, alpha=0.35)
    if title:
        ax.set_title(title)
    finish_axes(ax, spines=True)
    cbar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.015)
    style_colorbar(cbar, r"concept $\bar{\xi}_{\mathrm{label}}$ (latent mean)")
    add_caption(fig, caption)

    columns: dict[str, np.ndarray] = {"label": np.asarray([str(x) for x in labels])}
    for j, u in enumerate(shown):
        columns[f"unit_{u}"] = data[:, j]
    columns["active_unit"] = active
    attach_data(fig, columns)
    return fig


# -------------------------------------------------------------------------- Fig. 3b
def components_needed(cumulative: Any, mark: float) -> int | None:
    """Smallest number of components whose cumulative ratio reaches ``mark`` (None if never)."""
    cum = np.asarray(cumulative, dtype=float)
    hits = np.flatnonzero(cum >= mark - 1e-12)
    return int(hits[0]) + 1 if hits.size else None


def fig3b_pca(
    cumulative: Any,
    caption: str = "",
    marks: Sequence[float] = (0.7, 0.99),
    *,
    xmax: int | None = None,
    title: str | None = None,
) -> Figure:
    """Cumulative contribution ratio of the principal components of the latent memories,
    with the number of components needed to reach each of ``marks`` annotated."""
    cum = as_1d("cumulative", cumulative).astype(float)
    n = np.arange(1, len(cum) + 1)
    fig = new_figure(4.6, 3.2)
    ax = fig.add_subplot()
    ax.plot(n, cum, color=curve_colour(0), lw=1.4, marker="o", ms=2.5,
            label="cumulative ratio")
    needed = []
    for i, mark in enumerate(marks):
        kn = components_needed(cum, mark)
        needed.append(kn)
        colour = curve_colour(i + 1)
        ax.axhline(mark, color=colour, lw=0.8, ls=":")
        if kn is None:
            ax.text(0.98, mark, f"{mark:.0%} not reached", transform=ax.get_yaxis_transform(),
                    ha="right", va="bottom", fontsize=FONT_SMALL, color=colour)
            continue
        ax.plot([kn, kn], [0, cum[kn - 1]], color=colour, lw=0.8, ls=":")
        ax.plot([kn], [cum[kn - 1]], ls="", marker="o", ms=5, mfc="none", mec=colour, mew=1.2,
                label=f"{mark:.0%} of variance: {kn} components")
        ax.annotate(f"{kn}", (kn, 0), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=FONT_SMALL, color=colour,
                    fontweight="bold")
    ax.set_xlim(0.5 - 0.01 * len(cum), (xmax or len(cum)) + 0.5)
    ax.set_ylim(0, 1.03)
    ax.set_xlabel("number of principal components")
    ax.set_ylabel("cumulative contribution ratio")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", frameon=False)
    finish_axes(ax, grid=True)
    add_caption(fig, caption)
    attach_data(fig, {
        "n_components": n,
        "cumulative_ratio": cum,
        "mark": np.asarray(marks, dtype=float),
        "components_needed": np.asarray(["" if v is None else v for v in needed], dtype=object),
    })
    return fig


# -------------------------------------------------------------------------- Fig. 3c
def fig3c_cosine(
    cos: Any,
    labels: Sequence[Any] | None = None,
    caption: str = "",
    *,
    annotate: bool = True,
    fmt: str = ".2f",
    title: str | None = None,
    cmap: str = CMAP_DIVERGING,
    size: float = 4.4,
) -> Figure:
    """Cosine similarity C_ij between concepts, colour fixed to [−1, 1], values printed."""
    cos = np.asarray(cos, dtype=float)
    if cos.ndim != 2 or cos.shape[0] != cos.shape[1]:
        raise FigureDataError(f"cos must be square (K, K), got shape {cos.shape}")
    k = cos.shape[0]
    labels = list(range(k)) if labels is None else list(labels)
    if len(labels) != k:
        raise FigureDataError(f"{len(labels)} labels for a {k}x{k} matrix")
    fig = new_figure(size + 0.8, size)
    ax = fig.add_subplot()
    im = ax.imshow(cos, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ticks = range(k)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels([plain(x) for x in labels])
    ax.set_yticklabels([plain(x) for x in labels])
    ax.set_xlabel("label j")
    ax.set_ylabel("label i")
    if annotate and k <= 20:
        fs = FONT_TINY if k > 8 else FONT_SMALL
        for i in range(k):
            for j in range(k):
                v = cos[i, j]
                if np.isfinite(v):
                    text = format(v, fmt)
                    if float(text) == 0:
                        text = format(0.0, fmt)  # no "-0.00"
                    ax.text(j, i, text, ha="center", va="center", fontsize=fs,
                            color="white" if abs(v) > 0.6 else "#222222")
    if title:
        ax.set_title(title)
    finish_axes(ax, spines=True)
    ax.tick_params(length=0)
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, ticks=[-1, -0.5, 0, 0.5, 1])
    style_colorbar(cbar, r"cosine similarity $C_{ij}$")
    add_caption(fig, caption)
    columns: dict[str, np.ndarray] = {"label": np.asarray([str(x) for x in labels])}
    for j, lab in enumerate(labels):
        columns[f"cos_{lab}"] = cos[:, j]
    attach_data(fig, columns)
    return fig


# --------------------------------------------------------------------------- Fig. 4
def fig4_stages(
    ps: Any,
    mean_min: Mapping[str, Any],
    sem_min: Mapping[str, Any],
    stages: Sequence[tuple[str, float, float]],
    caption: str = "",
    *,
    level_labels: Mapping[str, str] | None = None,  # key -> display name (mathtext ok)
    xlabel: str = "noise fraction p",
    title: str | None = None,
) -> Figure:
    """min_t ‖z(t) − ξ‖₂ against the noise fraction p for each level of the hierarchy
    (own memory, concept, abstract concept): mean with ±1 SEM bars. Each stage
    ``(level, p_start, p_end)`` — the p interval where ``level`` is closest — is shaded
    in that level's colour and numbered I, II, III… in order of p."""
    ps = as_1d("ps", ps).astype(float)
    levels = list(mean_min)
    if not levels:
        raise FigureDataError("fig4_stages needs at least one level")
    check_keys("sem_min", sem_min.keys(), levels)
    given = {**DEFAULT_LEVEL_LABELS, **(level_labels or {})}
    names = {lv: given[lv] if lv in given else plain(lv) for lv in levels}
    colours = {lv: curve_colour(i) for i, lv in enumerate(levels)}

    fig = new_figure(6.8, 3.4)
    ax = fig.add_subplot()
    columns: dict[str, np.ndarray] = {"p": ps}
    ordered = sorted(stages, key=lambda s: (float(s[1]), float(s[2])))
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for i, (level, p0, p1) in enumerate(ordered):
        colour = colours.get(level, "#999999")
        ax.axvspan(float(p0), float(p1), color=colour, alpha=0.10, linewidth=0, zorder=0)
        ax.text((float(p0) + float(p1)) / 2, 0.97, ROMAN[i] if i < len(ROMAN) else str(i + 1),
                transform=trans, ha="center", va="top", fontsize=FONT_TITLE,
                fontweight="bold", color=colour)
        if i > 0:
            ax.axvline(float(p0), color="#aaaaaa", lw=0.6, ls=":", zorder=0)
    for lv in levels:
        m = as_1d(f"mean_min[{lv!r}]", mean_min[lv], len(ps)).astype(float)
        e = as_1d(f"sem_min[{lv!r}]", sem_min[lv], len(ps)).astype(float)
        ax.errorbar(ps, m, yerr=e, color=colours[lv], lw=1.1, marker="o", ms=3.5,
                    capsize=2.2, elinewidth=0.9, label=names[lv])
        columns[f"mean_{lv}"] = m
        columns[f"sem_{lv}"] = e
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$\min_t\ \|z(t)-\xi\|_2$")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.08)  # room for the stage numerals
    if title:
        ax.set_title(title)
    handles, names_ = ax.get_legend_handles_labels()
    if ordered:
        handles.append(Patch(color="#888888", alpha=0.2, linewidth=0))
        names_.append("stage: closest level")
    ax.legend(handles, names_, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
              borderaxespad=0)
    finish_axes(ax, grid=True)
    add_caption(fig, caption)
    if ordered:
        columns["stage"] = np.asarray([ROMAN[i] if i < len(ROMAN) else str(i + 1)
                                       for i in range(len(ordered))])
        columns["stage_level"] = np.asarray([str(s[0]) for s in ordered])
        columns["stage_p_start"] = np.asarray([float(s[1]) for s in ordered])
        columns["stage_p_end"] = np.asarray([float(s[2]) for s in ordered])
    attach_data(fig, columns)
    return fig


# ------------------------------------------------------------------------- Fig. A.1
def figA1_pca(
    emb: Any,
    labels: Any,
    caption: str = "",
    subset: Sequence[Any] | None = None,
    *,
    emb_subset: Any = None,
    labels_subset: Any = None,
    explained: Sequence[float] | None = None,
    explained_subset: Sequence[float] | None = None,
    point_size: float = 3.0,
    seed: int = 0,
) -> Figure:
    """2-D PCA embedding of the latent memories: (a) every label, (b) three labels.

    Panel (b) shows ``emb_subset``/``labels_subset`` when given (a PCA fitted on the
    three labels only, as in the paper), else the points of ``emb`` whose label is in
    ``subset`` (default: the first three labels in sorted order). ``explained``: the
    variance ratio of PC1, PC2, shown in the axis labels. Points are drawn in a fixed
    random order so that no label hides the others.
    """
    emb = np.asarray(emb, dtype=float)
    if emb.ndim != 2 or emb.shape[1] != 2:
        raise FigureDataError(f"emb must be (N, 2), got shape {emb.shape}")
    labels = as_1d("labels", labels, emb.shape[0])
    uniq = list(np.unique(labels))
    colour_of = {lab: label_colour(i) for i, lab in enumerate(uniq)}
    subset = list(subset) if subset is not None else uniq[:3]
    if emb_subset is not None:
        emb_b = np.asarray(emb_subset, dtype=float)
        if emb_b.ndim != 2 or emb_b.shape[1] != 2:
            raise FigureDataError(f"emb_subset must be (M, 2), got shape {emb_b.shape}")
        if labels_subset is None:
            raise FigureDataError("emb_subset needs labels_subset")
        labels_b = as_1d("labels_subset", labels_subset, emb_b.shape[0])
        for lab in np.unique(labels_b):
            colour_of.setdefault(lab, label_colour(len(colour_of)))
    else:
        keep = np.isin(labels, subset)
        emb_b, labels_b = emb[keep], labels[keep]
    rng = np.random.default_rng(seed)

    fig = new_figure(FULL_WIDTH, 3.5)
    ax_a, ax_b = fig.subplots(1, 2)
    for ax, pts, labs, name, ev in (
        (ax_a, emb, labels, "(a) all labels", explained),
        (ax_b, emb_b, labels_b, "(b) labels " + ", ".join(plain(x) for x in subset),
         explained_subset if emb_subset is not None else explained),
    ):
        order = rng.permutation(len(pts))
        ax.scatter(pts[order, 0], pts[order, 1], s=point_size, linewidths=0, alpha=0.6,
                   c=[colour_of[x] for x in labs[order]], rasterized=True)
        ax.set_xlabel("PC1" + (f" ({ev[0]:.1%} of variance)" if ev is not None else ""))
        ax.set_ylabel("PC2" + (f" ({ev[1]:.1%})" if ev is not None else ""))
        ax.set_title(name, loc="left", fontsize=FONT)
        finish_axes(ax)
    handles = [Line2D([], [], ls="", marker="o", ms=5, color=colour_of[lab]) for lab in colour_of]
    fig.legend(handles, [plain(lab) for lab in colour_of], loc="outside right upper",
               frameon=False, fontsize=FONT_SMALL, title="label", title_fontsize=FONT_SMALL,
               handletextpad=0.2)
    add_caption(fig, caption)
    columns: dict[str, np.ndarray] = {"pc1": emb[:, 0], "pc2": emb[:, 1], "label": labels}
    if emb_subset is not None:
        columns.update(subset_pc1=emb_b[:, 0], subset_pc2=emb_b[:, 1], subset_label=labels_b)
    else:
        columns["subset_labels"] = np.asarray(subset)
    attach_data(fig, columns)
    return fig


def _fmt_num(v: Any) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"
