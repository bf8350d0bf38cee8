"""Figures of ``reproduce nagano2017`` about the latent geometry: the concepts
(Fig. 3a), the principal components of the memories (Fig. 3b), the cosines between
concepts (Fig. 3c) and the 2-D embedding of the memories (Fig. A.1).

Each function takes plain numpy arrays and a caption (the run's settings), returns a
:class:`~matplotlib.figure.Figure`, and attaches the plotted numbers so that
:func:`~latentdyn.figures.save_figure` writes them as CSV beside the picture.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from latentdyn.figures.style import (
    CMAP_DIVERGING,
    FONT,
    FONT_SMALL,
    FONT_TINY,
    FULL_WIDTH,
    FigureDataError,
    add_caption,
    as_1d,
    attach_data,
    curve_colour,
    finish_axes,
    label_colour,
    new_figure,
    plain,
    style_colorbar,
)


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
