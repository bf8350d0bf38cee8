"""Figures of ``reproduce nagano2017`` about trajectories: the sequence x(t) (Fig. 1)
and the stages of the hierarchy (Fig. 4). The distance to the concept (Fig. 2) is
shared with other studies (:mod:`latentdyn.figures.nagano`); the figures of the latent
geometry (3a-c, A.1) are in :mod:`.figures_geometry`, those of the latent-size study
(6, 7, B.2) in :mod:`.figures_latent_size`.

Each function takes plain numpy arrays and a caption (the run's settings), returns a
:class:`~matplotlib.figure.Figure`, and attaches the plotted numbers so that
:func:`~latentdyn.figures.save_figure` writes them as CSV beside the picture.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from latentdyn.figures.style import (
    CMAP_IMAGE,
    FONT,
    FONT_TINY,
    FONT_TITLE,
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
    sub,
)
from latentdyn.figures.generic import image_stack, mosaic, pixel_columns, show_images
from latentdyn.figures.nagano import DEFAULT_LEVEL_LABELS, ROMAN, number_text


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

    ``frames`` (S, H, W) in [0, 1] (colour: (S, H, W, 3) or (S, C, H, W), see
    :func:`~latentdyn.figures.generic.image_stack`), ``steps`` (S,) the t of each frame,
    ``concept_image`` one image of the same shape.
    """
    frames = image_stack(frames, "frames")
    s, h, w = frames.shape[:3]
    steps = as_1d("steps", steps, s)
    concept = image_stack(np.asarray(concept_image, dtype=float)[None], "concept_image")[0]
    if concept.shape != frames.shape[1:]:
        raise FigureDataError(f"concept_image has shape {concept.shape}, frames are "
                              f"{frames.shape[1:]}")
    ncols = int(ncols or min(s, 10))
    nrows = math.ceil(s / ncols)

    padded = np.full((nrows * ncols, *frames.shape[1:]), np.nan)
    padded[:s] = frames
    gap = max(1, round(0.08 * max(h, w)))
    gap_y = max(gap, round(0.3 * h))  # room for the "t = …" under each frame
    tiled = mosaic(padded.reshape(nrows, ncols, *frames.shape[1:]), gap=gap, gap_y=gap_y)
    tiled = np.vstack([tiled, np.full((gap_y - gap,) + tiled.shape[1:], np.nan)])

    cell = 0.6
    concept_cells = min(max(nrows, 2), 3)
    fig = new_figure(ncols * cell + concept_cells * cell + 0.5, nrows * cell * 1.3 + 0.5)
    left, right = fig.subfigures(1, 2, width_ratios=[ncols, concept_cells + 0.4], wspace=0.02)

    ax = left.add_subplot()
    show_images(ax, tiled, cmap)
    ax.set_axis_off()
    for k in range(s):
        i, j = divmod(k, ncols)
        ax.text(j * (w + gap) + (w - 1) / 2, i * (h + gap_y) + h - 0.2, f"t = {number_text(steps[k])}",
                ha="center", va="top", fontsize=FONT_TINY, color="#333333")
    left.suptitle(title or f"repeated inference x(t) from a corrupted '{plain(label)}'",
                  fontsize=FONT_TITLE)

    axc = right.add_subplot()
    show_images(axc, concept, cmap)
    axc.set_xticks([])
    axc.set_yticks([])
    for side in axc.spines.values():
        side.set_edgecolor(label_colour(3))
        side.set_linewidth(1.5)
    axc.set_title(rf"concept $E_p[x\,|\,\bar{{\xi}}_{sub(label)}]$", fontsize=FONT)
    right.suptitle(" ", fontsize=FONT_TITLE)  # keeps the two panels' tops aligned
    add_caption(fig, caption)

    columns: dict[str, np.ndarray] = pixel_columns(frames.shape[1:])
    for k in range(s):
        columns[f"x_t{number_text(steps[k])}"] = frames[k].reshape(-1)
    columns[f"concept_{label}"] = concept.reshape(-1)
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
    later: Mapping[str, tuple] | None = None,
    later_label: str = "t ≥ 1",
) -> Figure:
    """min_t ‖z(t) − ξ‖₂ against the noise fraction p for each level of the hierarchy
    (own memory, concept, abstract concept): mean with ±1 SEM bars. Each stage
    ``(level, p_start, p_end)`` — the p interval where ``level`` is closest — is shaded
    in that level's colour and numbered I, II, III… in order of p. ``later``: level ->
    (mean, sem) of a second reading (the minimum over t >= 1), drawn dashed with open
    markers and labelled with ``later_label``."""
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
    for lv, (mean, sem) in (later or {}).items():
        m = as_1d(f"later[{lv!r}] mean", mean, len(ps)).astype(float)
        e = as_1d(f"later[{lv!r}] sem", sem, len(ps)).astype(float)
        ax.errorbar(ps, m, yerr=e, color=colours.get(lv, "#555555"), lw=1.0, ls="--",
                    marker="o", ms=3.5, mfc="white", capsize=2.2, elinewidth=0.8,
                    label=f"{names.get(lv, plain(lv))} ({later_label})")
        columns[f"mean_{lv}_later"] = m
        columns[f"sem_{lv}_later"] = e
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
