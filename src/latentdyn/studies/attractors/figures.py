"""Figures of ``latentdyn attractors``: the fate of trajectories and where they end
against the noise level, and the spectral radii of the latent map's Jacobians.

Each function takes plain numpy arrays and a caption and returns a figure carrying the
plotted numbers (saved as CSV by :func:`~latentdyn.figures.save_figure`).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure

from latentdyn.figures.style import (
    FULL_WIDTH,
    FigureDataError,
    add_caption,
    as_1d,
    attach_data,
    curve_colour,
    finish_axes,
    new_figure,
    plain,
)

# fixed colours, so every run's figures read alike
FATE_COLOURS = {"converged": "#2e8b57", "cycling": "#d68910", "drifting": "#c0392b",
                "unsettled": "#7f8c8d"}
END_COLOURS = {"own_memory": "#1b4f8a", "other_memory": "#7fa7d6", "own_concept": "#2e8b57",
               "other_concept": "#a3d9b1", "abstract": "#8e44ad", "none": "#bdbdbd"}


def _stacked(ax, ps: np.ndarray, shares: Mapping[str, Any], colours: Mapping[str, str],
             columns: dict) -> None:
    names = list(shares)
    values = np.vstack([as_1d(f"shares[{n!r}]", shares[n], len(ps)).astype(float)
                        for n in names])
    if np.any(values < -1e-9) or np.any(np.abs(values.sum(0) - 1) > 1e-6):
        raise FigureDataError("shares must be non-negative and sum to 1 at every p")
    ax.stackplot(ps, values, colors=[colours.get(n, curve_colour(i))
                                     for i, n in enumerate(names)],
                 labels=[plain(n.replace("_", " ")) for n in names], alpha=0.9,
                 linewidth=0.3, edgecolor="white")
    ax.set_xlim(ps.min(), ps.max() if ps.max() > ps.min() else ps.min() + 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of trajectories")
    for n, v in zip(names, values):
        columns[f"share_{n}"] = v


def fates_by_noise(ps: Any, shares: Mapping[str, Any], mean_step: Any,
                   caption: str = "", *, xlabel: str = "noise level p") -> Figure:
    """Left: the share of trajectories per fate against p (stacked). Right: the mean step
    at which the converged ones converged."""
    ps = as_1d("ps", ps).astype(float)
    mean_step = as_1d("mean_step", mean_step, len(ps)).astype(float)
    fig = new_figure(FULL_WIDTH, 2.9)
    left, right = fig.subplots(1, 2, width_ratios=(1.6, 1))
    columns: dict[str, np.ndarray] = {"p": ps}
    _stacked(left, ps, shares, FATE_COLOURS, columns)
    left.set_xlabel(xlabel)
    left.set_title("fate at T")
    left.legend(frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    right.plot(ps, mean_step, color=FATE_COLOURS["converged"], marker="o", ms=3.5, lw=1.3)
    right.set_xlabel(xlabel)
    right.set_ylabel("mean step of convergence")
    right.set_title("converged trajectories")
    columns["mean_step"] = mean_step
    for ax in (left, right):
        finish_axes(ax, grid=ax is right)
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


def basins_by_noise(ps: Any, shares: Mapping[str, Any], digit_kept: Any | None = None,
                    caption: str = "", *, xlabel: str = "noise level p") -> Figure:
    """Where trajectories end against p (stacked shares of the end levels); with
    ``digit_kept``, the share whose x(T) still reads as their own label (dashed)."""
    ps = as_1d("ps", ps).astype(float)
    fig = new_figure(5.6, 3.0)
    ax = fig.add_subplot()
    columns: dict[str, np.ndarray] = {"p": ps}
    _stacked(ax, ps, shares, END_COLOURS, columns)
    if digit_kept is not None:
        kept = as_1d("digit_kept", digit_kept, len(ps)).astype(float)
        ax.plot(ps, kept, color="black", ls="--", lw=1.3, marker="o", ms=3,
                label="read as own label at T")
        columns["digit_kept"] = kept
    ax.set_xlabel(xlabel)
    ax.set_title("basins: where trajectories end")
    ax.legend(frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    finish_axes(ax)
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


def stability_histogram(memory_radius: Any, markers: Mapping[str, Any] | None = None,
                        caption: str = "", *, bins: int = 40) -> Figure:
    """Histogram of the spectral radius ρ(J_F) at training memories, the line ρ = 1
    (attractor when below it), and the radii of other points (``markers``: name ->
    values, e.g. concepts, the abstract concept, fixed points) as ticks above it."""
    radius = as_1d("memory_radius", memory_radius).astype(float)
    markers = dict(markers or {})
    fig = new_figure(5.6, 3.0)
    ax = fig.add_subplot()
    every = np.concatenate([radius] + [np.atleast_1d(np.asarray(v, dtype=float))
                                       for v in markers.values()])
    every = every[np.isfinite(every)]
    hi = max(1.2, float(every.max()) * 1.05) if every.size else 1.2
    edges = np.linspace(0, hi, bins + 1)
    counts, _ = np.histogram(radius, edges)
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#9db4d3",
           edgecolor="white", linewidth=0.4, label=f"memories (n = {radius.size})")
    ax.axvline(1.0, color="#c0392b", lw=1.1, ls="--", label="ρ = 1")
    top = max(1, int(counts.max()) if counts.size else 1)
    columns: dict[str, np.ndarray] = {"bin_left": edges[:-1], "bin_right": edges[1:],
                                      "memories": counts, "memory_radius": radius}
    for i, (name, values) in enumerate(markers.items()):
        v = np.atleast_1d(np.asarray(values, dtype=float))
        y = top * (1.06 + 0.07 * i)
        ax.plot(v, np.full_like(v, y), ls="none", marker="|", ms=9, mew=1.4,
                color=curve_colour(i + 1), label=plain(name))
        columns[f"radius_{name}"] = v
    ax.set_xlim(0, hi)
    ax.set_xlabel("spectral radius ρ of the Jacobian of F")
    ax.set_ylabel("memories")
    share = float(np.mean(radius < 1)) if radius.size else float("nan")
    ax.set_title(f"local stability: {share:.0%} of memories with ρ < 1")
    ax.legend(frameon=False, loc="upper right")
    finish_axes(ax)
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


__all__ = ["END_COLOURS", "FATE_COLOURS", "basins_by_noise", "fates_by_noise",
           "stability_histogram"]
