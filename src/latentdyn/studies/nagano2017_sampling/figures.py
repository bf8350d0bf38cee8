"""Figures of ``reproduce nagano2017-sampling`` (paper 002, the sampling dynamics),
each for the three distance readings of :mod:`latentdyn.analysis.sampling`: the
sampled sequence (Fig. 2a), the distance to the concept for every digit (Fig. 2b) and
the minimum distance to the three levels of the hierarchy against the noise fraction
(Fig. 3).

Each function takes plain arrays and a caption, returns a figure, and attaches the
plotted numbers for :func:`~latentdyn.figures.save_figure`'s CSV.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from latentdyn.analysis.sampling import READINGS
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
    curve_colour,
    finish_axes,
    label_colour,
    new_figure,
    plain,
    sub,
)
from latentdyn.figures.generic import image_stack, mosaic, pixel_columns, show_images
from latentdyn.figures.nagano import DEFAULT_LEVEL_LABELS, ROMAN

# what each reading measures, as axis text (mathtext)
READING_AXES = {
    "raw": r"raw $\|z(t)-\xi\|_2$",
    "mean": r"posterior mean $\|\mu(x(t))-\xi\|_2$",
    "corrected": r"floor-corrected $\|z(t)-\xi\|_2^2-\Sigma_u\sigma_u^2$",
}
READING_TITLES = {"raw": "raw (sample z)", "mean": "posterior mean μ(x)",
                  "corrected": "raw² − noise floor Σσ²"}


def _readings(given: Mapping) -> list[str]:
    names = [r for r in READINGS if r in given]
    if not names or set(given) - set(READINGS):
        raise FigureDataError(f"readings must be among {READINGS}, got {list(given)}")
    return names


# --------------------------------------------------------------------------- Fig. 2a
def fig2a_sampled_sequence(frames: Any, means: Any, steps: Any, concept_image: Any,
                           label: Any, caption: str = "") -> Figure:
    """A sampled chain from a corrupted digit: the binary samples x(t) (top row) and
    the decoded posterior means E_p[x | μ(x(t))] (bottom row), beside the decoded
    concept E_p[x | ξ̄_label]. ``frames``, ``means`` (S, H, W) (colour: (S, H, W, 3) or
    (S, C, H, W), see :func:`~latentdyn.figures.generic.image_stack`); ``steps`` (S,);
    ``concept_image`` one image of the same shape."""
    frames, means = image_stack(frames, "frames"), image_stack(means, "means")
    if means.shape != frames.shape:
        raise FigureDataError(f"frames and means must be images alike, got {frames.shape} "
                              f"and {means.shape}")
    s, h, w = frames.shape[:3]
    steps = as_1d("steps", steps, s)
    concept = image_stack(np.asarray(concept_image, dtype=float)[None], "concept_image")[0]
    if concept.shape != frames.shape[1:]:
        raise FigureDataError(f"concept_image has shape {concept.shape}, frames are "
                              f"{frames.shape[1:]}")
    gap = max(1, round(0.08 * max(h, w)))
    tiled = mosaic(np.stack([frames, means]), gap=gap)
    cell = 0.5
    fig = new_figure(min(FULL_WIDTH + 2, s * cell + 2.2), 2 * cell + 1.1)
    left, right = fig.subfigures(1, 2, width_ratios=[s, 2.6], wspace=0.02)
    ax = left.add_subplot()
    show_images(ax, tiled)
    ax.set_xticks([j * (w + gap) + (w - 1) / 2 for j in range(s)],
                  [f"{float(v):g}" for v in steps], fontsize=FONT_TINY)
    ax.set_yticks([(h - 1) / 2, h + gap + (h - 1) / 2],
                  ["sample x(t)", r"$E_p[x\,|\,\mu(x(t))]$"], fontsize=FONT_SMALL)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel("sampling step t", fontsize=FONT_SMALL)
    left.suptitle(f"sampling dynamics from a corrupted '{plain(label)}'", fontsize=FONT_TITLE)
    axc = right.add_subplot()
    show_images(axc, concept)
    axc.set_xticks([])
    axc.set_yticks([])
    axc.set_title(rf"concept $E_p[x\,|\,\bar{{\xi}}_{sub(label)}]$", fontsize=FONT)
    right.suptitle(" ", fontsize=FONT_TITLE)
    add_caption(fig, caption)
    columns: dict[str, np.ndarray] = pixel_columns(frames.shape[1:])
    for k in range(s):
        columns[f"x_t{float(steps[k]):g}"] = frames[k].reshape(-1)
        columns[f"mean_t{float(steps[k]):g}"] = means[k].reshape(-1)
    columns[f"concept_{label}"] = concept.reshape(-1)
    attach_data(fig, columns)
    return fig


# --------------------------------------------------------------------------- Fig. 2b
def _step_axis(ax, t: np.ndarray) -> None:
    """t on a symlog axis (the dip happens in the first steps), plain tick labels."""
    ax.set_xscale("symlog", linthresh=2, linscale=0.6)
    ticks = [v for v in (0, 1, 2, 5, 10, 20, 40, 80, 160, 320) if v <= t[-1]]
    ax.set_xticks(ticks, [str(v) for v in ticks])
    ax.minorticks_off()


def fig2b_readings(t: Any, means: Mapping[str, Mapping[Any, Any]],
                   sems: Mapping[str, Mapping[Any, Any]], floor: Any, caption: str = "",
                   t_star: Mapping[str, Mapping[Any, Any]] | None = None) -> Figure:
    """Distance to the concept of every digit against t, one panel per reading, mean
    ± SEM (shaded) per label, t* dotted. ``floor`` (T+1,): the mean noise floor Σσ²,
    drawn in the floor-corrected panel (squared units) and as √Σσ² in the raw one."""
    t = as_1d("t", t).astype(float)
    names = _readings(means)
    check_keys("sems", sems.keys(), names)
    floor = as_1d("floor", floor, len(t)).astype(float)
    fig = new_figure(FULL_WIDTH, 2.9)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    columns: dict[str, np.ndarray] = {"t": t, "floor_mean": floor}
    for ax, r in zip(axes, names):
        labels = list(means[r])
        check_keys(f"sems[{r!r}]", sems[r].keys(), labels)
        for k, lab in enumerate(labels):
            m = as_1d(f"means[{r!r}][{lab!r}]", means[r][lab], len(t)).astype(float)
            e = as_1d(f"sems[{r!r}][{lab!r}]", sems[r][lab], len(t)).astype(float)
            ax.fill_between(t, m - e, m + e, color=label_colour(k), alpha=0.25, linewidth=0)
            ax.plot(t, m, color=label_colour(k), lw=1.0, label=f"'{plain(lab)}'")
            ts = (t_star or {}).get(r, {}).get(lab)
            if ts is not None:
                i = int(np.argmin(np.abs(t - float(ts))))
                ax.plot([t[i]], [m[i]], "o", ms=2.5, color=label_colour(k), mec="black",
                        mew=0.4, zorder=3)
            columns[f"{r}_mean_{lab}"], columns[f"{r}_sem_{lab}"] = m, e
        ref = {"raw": (np.sqrt(floor), "√(noise floor Σσ²)"),
               "corrected": (floor, "noise floor Σσ²")}.get(r)
        if ref is not None:
            ax.plot(t, ref[0], color="#333333", lw=0.9, ls="--", label=ref[1])
        ax.set_title(READING_TITLES[r], fontsize=FONT)
        _step_axis(ax, t)
        ax.set_xlabel("sampling step t")
        ax.set_ylabel(READING_AXES[r].replace(r"\xi", r"\bar{\xi}_{\mathrm{label}}"))
        finish_axes(ax, grid=True)
    handles, labels_ = axes[-1].get_legend_handles_labels()
    h0, l0 = axes[0].get_legend_handles_labels()
    handles, labels_ = handles + [h for h, n in zip(h0, l0) if n not in labels_], \
        labels_ + [n for n in l0 if n not in labels_]
    fig.legend(handles, labels_, loc="outside right center", frameon=False,
               fontsize=FONT_TINY)
    add_caption(fig, caption)
    for r in names:
        for lab, ts in (t_star or {}).get(r, {}).items():
            columns[f"{r}_t_star_{lab}"] = np.asarray([float(ts)])
    attach_data(fig, columns)
    return fig


# --------------------------------------------------------------------------- Fig. 3
def _span(ps: np.ndarray, p0: float, p1: float) -> tuple[float, float]:
    """The shaded extent of a stage over the grid points p0..p1: out to the midpoints
    with the neighbouring noise levels (a one-point stage stays visible)."""
    i, j = int(np.argmin(np.abs(ps - p0))), int(np.argmin(np.abs(ps - p1)))
    lo = (ps[i - 1] + ps[i]) / 2 if i > 0 else ps[0]
    hi = (ps[j] + ps[j + 1]) / 2 if j + 1 < len(ps) else ps[-1]
    return float(lo), float(hi)


def _stage_panel(ax, ps: np.ndarray, mean: Mapping[str, Any], sem: Mapping[str, Any],
                 stages: Sequence, columns: dict, prefix: str) -> None:
    levels = list(mean)
    colours = {lv: curve_colour(i) for i, lv in enumerate(levels)}
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for i, (level, p0, p1) in enumerate(sorted(stages, key=lambda s: (s[1], s[2]))):
        colour = colours.get(level, "#999999")
        lo, hi = _span(ps, float(p0), float(p1))
        ax.axvspan(lo, hi, color=colour, alpha=0.10, linewidth=0, zorder=0)
        ax.text((lo + hi) / 2, 0.97, ROMAN[i % len(ROMAN)], transform=trans,
                ha="center", va="top", fontsize=FONT, fontweight="bold", color=colour)
    for lv in levels:
        m = as_1d(f"mean[{lv!r}]", mean[lv], len(ps)).astype(float)
        e = as_1d(f"sem[{lv!r}]", sem[lv], len(ps)).astype(float)
        ax.errorbar(ps, m, yerr=e, color=colours[lv], lw=1.0, marker="o", ms=2.8,
                    capsize=1.8, elinewidth=0.8, label=DEFAULT_LEVEL_LABELS.get(lv, lv))
        columns[f"{prefix}_mean_{lv}"], columns[f"{prefix}_sem_{lv}"] = m, e
    ax.set_ylim(top=ax.get_ylim()[1] + 0.12 * np.ptp(ax.get_ylim()))
    columns[f"{prefix}_closest"] = np.asarray(
        [lv for lv, p0, p1 in stages for p in ps if p0 <= p <= p1])


def fig3_stage_readings(ps: Any, mean: Mapping[str, Mapping[str, Any]],
                        sem: Mapping[str, Mapping[str, Any]],
                        stages: Mapping[str, Sequence[tuple[str, float, float]]],
                        caption: str = "") -> Figure:
    """Minimum distance to the own memory, the concept and the abstract concept against
    the noise fraction p, one panel per reading, mean ± SEM, each reading's stages
    (runs of the closest level) shaded and numbered I, II, III…"""
    ps = as_1d("ps", ps).astype(float)
    names = _readings(mean)
    check_keys("sem", sem.keys(), names)
    check_keys("stages", stages.keys(), names)
    fig = new_figure(FULL_WIDTH, 2.9)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    columns: dict[str, np.ndarray] = {"p": ps}
    for ax, r in zip(axes, names):
        check_keys(f"sem[{r!r}]", sem[r].keys(), list(mean[r]))
        _stage_panel(ax, ps, mean[r], sem[r], stages[r], columns, r)
        ax.set_title(READING_TITLES[r], fontsize=FONT)
        ax.set_xlabel("noise fraction p")
        ax.set_ylabel(r"$\min_t$ " + READING_AXES[r])
        finish_axes(ax, grid=True)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False,
               fontsize=FONT_SMALL)
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


__all__ = ["READING_AXES", "READING_TITLES", "fig2a_sampled_sequence", "fig2b_readings",
           "fig3_stage_readings"]
