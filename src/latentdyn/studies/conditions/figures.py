"""Heat maps of the conditions map: each statistic over two axes of the grid (one row
of panels per statistic, one panel per value of a third axis, the facet), every cell's
value printed in it, one colour scale per statistic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from latentdyn.figures.style import (
    FONT_SMALL,
    FONT_TINY,
    FULL_WIDTH,
    FigureDataError,
    add_caption,
    attach_data,
    finish_axes,
    new_figure,
    plain,
    style_colorbar,
)


@dataclass(frozen=True)
class HeatStat:
    """One statistic of a heat-map figure: its label, its panels (facet value ->
    (rows, cols) array; NaN where the grid has no cell, drawn grey), its colour range
    (None: the finite range of its panels) and the format of the printed values."""

    label: str
    panels: Mapping[Any, Any]
    vmin: float | None = None
    vmax: float | None = None
    fmt: str = ".2f"


def _limits(stat: HeatStat, arrays) -> tuple[float, float]:
    finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays])
    lo = stat.vmin if stat.vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = stat.vmax if stat.vmax is not None else (float(finite.max()) if finite.size else 1.0)
    return lo, (hi if hi > lo else lo + 1.0)


def _panel(ax, a: np.ndarray, lo: float, hi: float, fmt: str, colormap, small: bool):
    im = ax.imshow(np.ma.masked_invalid(a), cmap=colormap, vmin=lo, vmax=hi, aspect="auto",
                   interpolation="nearest")
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            v = a[i, j]
            shade = (v - lo) / (hi - lo) if np.isfinite(v) else 1.0
            ax.text(j, i, format(v, fmt) if np.isfinite(v) else "n/a", ha="center",
                    va="center", fontsize=FONT_TINY if small else FONT_SMALL,
                    color="white" if shade < 0.55 else "#222222")
    return im


def condition_heatmaps(stats: Sequence[HeatStat], row_labels: Sequence[Any],
                       col_labels: Sequence[Any], caption: str = "", *, row_title: str = "",
                       col_title: str = "", facet_title: str = "",
                       cmap: str = "viridis") -> Figure:
    """One row of panels per statistic of ``stats``, one panel per facet value (the same
    facet values, rows and columns for every statistic)."""
    if not stats:
        raise FigureDataError("condition_heatmaps() needs at least one statistic")
    rows, cols = list(row_labels), list(col_labels)
    facets = list(stats[0].panels)
    if not facets or any(list(s.panels) != facets for s in stats):
        raise FigureDataError("every statistic needs panels for the same facet values")
    small = len(cols) > 4
    width = min(FULL_WIDTH * 1.4, len(facets) * (len(cols) * (0.62 if small else 0.8) + 1.1)
                + 1.6)
    fig = new_figure(width, len(stats) * (len(rows) * 0.3 + 0.8) + 0.4)
    axes = fig.subplots(len(stats), len(facets), squeeze=False, sharex=True, sharey=True)
    colormap = mpl.colormaps[cmap].with_extremes(bad="#e3e3e3")
    columns: dict[str, list] = {"statistic": [], "facet": [], "row": [], "col": [],
                                "value": []}
    for k, stat in enumerate(stats):
        arrays = [np.asarray(stat.panels[f], dtype=float) for f in facets]
        for f, a in zip(facets, arrays):
            if a.shape != (len(rows), len(cols)):
                raise FigureDataError(f"{stat.label!r}, panel {f!r}: shape {a.shape}, "
                                      f"expected ({len(rows)}, {len(cols)})")
        lo, hi = _limits(stat, arrays)
        for ax, f, a in zip(axes[k], facets, arrays):
            im = _panel(ax, a, lo, hi, stat.fmt, colormap, small)
            ax.set_xticks(range(len(cols)), [plain(c) for c in cols])
            ax.set_yticks(range(len(rows)), [plain(r) for r in rows])
            if k == 0:
                ax.set_title(plain(f"{facet_title} = {f}" if facet_title else f))
            if k == len(stats) - 1:
                ax.set_xlabel(plain(col_title))
            finish_axes(ax, spines=True)
            ax.tick_params(length=0)
            for (i, j), v in np.ndenumerate(a):
                for name, value in (("statistic", stat.label), ("facet", str(f)),
                                    ("row", str(rows[i])), ("col", str(cols[j])),
                                    ("value", v)):
                    columns[name].append(value)
        axes[k][0].set_ylabel(plain(row_title))
        cbar = fig.colorbar(im, ax=list(axes[k]), fraction=0.05, pad=0.02, aspect=8)
        style_colorbar(cbar, plain(stat.label))
        cbar.set_label(plain(stat.label), fontsize=FONT_TINY)
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


__all__ = ["HeatStat", "condition_heatmaps"]
