"""Shared look of every latentdyn figure, without touching matplotlib's global state.

Figures are plain :class:`matplotlib.figure.Figure` objects with an Agg canvas attached
explicitly, so nothing here calls :mod:`matplotlib.pyplot`, changes the backend, or edits
``rcParams``: the package is safe in notebooks, GUIs and worker threads. Font sizes and
spines are applied to the finished axes by :func:`finish_axes` instead of through
``rcParams``.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, Iterable, Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from latentdyn.errors import LatentdynError

# Font sizes (points), one scale for every figure.
FONT = 9
FONT_SMALL = 8
FONT_TINY = 6.5
FONT_TITLE = 10
FONT_CAPTION = 8

FULL_WIDTH = 7.5  # inches: a full-width figure
DPI = 150

# Ten distinguishable colours (matplotlib's tab10) for labels; levels of the hierarchy
# get their own fixed colours so Fig. 4 reads the same in every run.
LABEL_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
CURVE_COLOURS = ("#1b4f8a", "#c0392b", "#2e8b57", "#8e44ad", "#d68910", "#5d6d7e")
CMAP_DIVERGING = "RdBu_r"
CMAP_IMAGE = "gray"

_CAPTION_GID = "latentdyn-caption"
_DATA_ATTR = "_latentdyn_columns"


class FigureDataError(LatentdynError, ValueError):
    """Arrays handed to a figure function that do not fit together."""


def new_figure(width: float = FULL_WIDTH, height: float = 3.0, **kw: Any) -> Figure:
    """A constrained-layout :class:`Figure` with its own Agg canvas (no pyplot)."""
    fig = Figure(figsize=(width, height), layout="constrained", **kw)
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    return fig


def finish_axes(ax, *, grid: bool = False, spines: bool = False) -> None:
    """Apply the house style to an axes after everything is drawn on it."""
    ax.tick_params(labelsize=FONT_SMALL, length=3, width=0.6)
    ax.xaxis.label.set_fontsize(FONT)
    ax.yaxis.label.set_fontsize(FONT)
    ax.title.set_fontsize(FONT_TITLE)
    if not spines:
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_linewidth(0.7)
    if grid:
        ax.grid(True, color="#dddddd", linewidth=0.5, zorder=0)
        ax.set_axisbelow(True)
    legend = ax.get_legend()
    if legend is not None:
        for text in legend.get_texts():
            text.set_fontsize(FONT_SMALL)


def style_colorbar(cbar, label: str) -> None:
    cbar.set_label(label, fontsize=FONT)
    cbar.ax.tick_params(labelsize=FONT_SMALL, length=3, width=0.6)
    cbar.outline.set_linewidth(0.6)


def add_caption(fig: Figure, caption: str | None) -> None:
    """Put ``caption`` under the figure (replacing an earlier one) and remember it.

    The text hangs just below the figure's bottom edge, outside the layout, so it
    never collides with axes labels; ``save_figure`` saves with a tight bounding box,
    which grows the image to include it.
    """
    for text in list(fig.texts):
        if text.get_gid() == _CAPTION_GID:
            text.remove()
    caption = (caption or "").strip()
    fig._latentdyn_caption = caption  # type: ignore[attr-defined]
    if not caption:
        return
    # Wrap by hand to the figure width (about 0.53 em per character on average).
    width_chars = max(20, int((fig.get_figwidth() - 0.1) * 72 / (FONT_CAPTION * 0.53)))
    lines = []
    for para in caption.splitlines():
        lines.extend(textwrap.wrap(para, width_chars) or [""])
    fig.text(
        0.05 / fig.get_figwidth(), -0.08 / fig.get_figheight(), "\n".join(lines), ha="left",
        va="top", fontsize=FONT_CAPTION, color="#333333", gid=_CAPTION_GID, linespacing=1.3,
    )


def figure_caption(fig: Figure) -> str:
    """The caption set by :func:`add_caption` ("" if none)."""
    return getattr(fig, "_latentdyn_caption", "")


def attach_data(fig: Figure, columns: Mapping[str, Any]) -> None:
    """Remember the plotted data on ``fig``; :func:`save_figure` writes it as CSV."""
    setattr(fig, _DATA_ATTR, {str(k): np.asarray(v) for k, v in columns.items()})


def figure_data(fig: Figure) -> dict[str, np.ndarray]:
    """The columns attached to ``fig`` by a latentdyn figure function ({} if none)."""
    return dict(getattr(fig, _DATA_ATTR, {}))


def label_colour(index: int) -> str:
    return LABEL_COLOURS[index % len(LABEL_COLOURS)]


def curve_colour(index: int) -> str:
    return CURVE_COLOURS[index % len(CURVE_COLOURS)]


def sub(label: Any) -> str:
    """``label`` as a braced mathtext subscript, keeping only safe characters."""
    text = re.sub(r"[^A-Za-z0-9.]", "", str(label))
    return "{" + (text or "?") + "}"


def plain(label: Any) -> str:
    """A label as plain figure text (``$`` would switch matplotlib to mathtext)."""
    return str(label).replace("$", r"\$")


def as_1d(name: str, value: Any, length: int | None = None) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise FigureDataError(f"{name} must be 1-D, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise FigureDataError(f"{name} has length {arr.shape[0]}, expected {length}")
    return arr


def check_keys(name: str, got: Iterable[Any], want: Iterable[Any]) -> None:
    missing = [k for k in want if k not in set(got)]
    if missing:
        raise FigureDataError(f"{name} lacks entries for {missing}")
