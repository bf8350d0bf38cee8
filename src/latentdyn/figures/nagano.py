"""What the figures of the Nagano hierarchy share: the distance to the concept per
label (Fig. 2 of Nagano, Karakida & Okada 2017, also drawn by ``reproduce
serdega2020``), the display names of the three levels of the hierarchy and the
numerals of its stages (used by the figures of ``reproduce nagano2017`` and
``reproduce nagano2017-sampling``). The figures of one study live in its package
(``latentdyn.studies.nagano2017.figures`` …).

Each function takes plain numpy arrays and a caption (the run's settings), returns a
:class:`~matplotlib.figure.Figure`, and attaches the plotted numbers so that
:func:`~latentdyn.figures.save_figure` writes them as CSV beside the picture.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from latentdyn.figures.style import (
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
    finish_axes,
    label_colour,
    new_figure,
    plain,
)

# Display names for the usual keys of the levels of the hierarchy (mathtext allowed).
DEFAULT_LEVEL_LABELS = {
    "memory": r"own memory $\xi^{(i)}$",
    "concept": r"concept $\bar{\xi}_{\mathrm{label}}$",
    "abstract": r"abstract concept $\bar{\xi}_{\mathrm{all}}$",
}
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


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
            ax.text(0.97, 0.95, f"t* = {number_text(ts)}", transform=ax.transAxes, ha="right",
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



def number_text(v: Any) -> str:
    """``3`` for 3.0, ``0.25`` for 0.25: a step or a level as a label."""
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"
