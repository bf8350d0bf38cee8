"""The figures of ``latentdyn transition``: the phase diagram (size × steps, each cell
coloured by where most trajectories end, the τ curves with their intervals over it), the
collapse figure (memorisation against steps / n^α) and the per-statistic curves."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.patches import Patch

from latentdyn.analysis.capture import END_LEVELS
from latentdyn.figures.style import FONT_SMALL, add_caption, curve_colour, finish_axes, new_figure

FATE_COLOURS = {"own_memory": "#c0392b", "other_memory": "#e59866", "own_concept": "#1b4f8a",
                "other_concept": "#85c1e9", "abstract": "#2e8b57", "none": "#d5d8dc"}
CURVES = (("dip_fraction", "labels with a dip (C1)"), ("end_own_memory", "ends at own memory"),
          ("end_own_concept", "ends at own concept"), ("memorisation", "memorisation"),
          ("elbo_gap", "train − test ELBO (nats)"), ("active_units", "active units"),
          ("twin_relative_distance", "twin distance / unrelated"),
          ("twin_agreement", "twins read the same"))


def _mean_by(rows, key, stat):
    out: dict = {}
    for r in rows:
        v = r.get(stat)
        if r.get("step") is None or v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        out.setdefault(key(r), []).append(float(v))
    return {k: sum(v) / len(v) for k, v in out.items()}


def phase_diagram(rows, steps, sizes, times, caption: str):
    fig = new_figure(height=3.2)
    ax = fig.add_subplot(1, 1, 1)
    shares = {lv: _mean_by(rows, lambda r: (r["size"], r["step"]), f"end_{lv}")
              for lv in END_LEVELS}
    cols = {"step": [], "size": [], "dominant": []}
    for n in sizes:
        for s in steps:
            vals = {lv: shares[lv].get((n, s)) for lv in END_LEVELS}
            if any(v is None for v in vals.values()):
                continue
            dom = max(vals, key=vals.get)
            ax.scatter([s], [n], marker="s", s=160, color=FATE_COLOURS[dom], zorder=1)
            cols["step"].append(s), cols["size"].append(n), cols["dominant"].append(dom)
    for kind, colour, mark in (("concept", "#1b4f8a", "o"), ("memory", "#c0392b", "D")):
        pts = [(n, t) for n, t in times.get(kind, {}).items() if math.isfinite(t.point)]
        for n, t in pts:
            hi = t.hi if math.isfinite(t.hi) else steps[-1] * 1.5
            ax.plot([t.lo, hi], [n, n], color=colour, lw=2, zorder=3)
        if pts:
            ax.plot([t.point for _, t in pts], [n for n, _ in pts], marker=mark, color=colour,
                    mec="white", zorder=4, label=f"τ_{kind}")
    ax.set_xscale("log", base=2), ax.set_yscale("log")
    ax.set_xlabel("optimiser steps"), ax.set_ylabel("training images n")
    handles = [Patch(color=c, label=lv.replace("_", " ")) for lv, c in FATE_COLOURS.items()]
    ax.legend(handles=handles + ax.get_legend_handles_labels()[0], fontsize=FONT_SMALL,
              loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    finish_axes(ax)
    add_caption(fig, caption)
    return fig, cols


def collapse(rows, sizes, alpha, caption: str):
    fig = new_figure(height=2.8)
    ax = fig.add_subplot(1, 1, 1)
    a = alpha if alpha is not None else 1.0
    m = _mean_by(rows, lambda r: (r["size"], r["step"]), "memorisation")
    cols = {"size": [], "step": [], "scaled": [], "memorisation": []}
    for i, n in enumerate(sizes):
        pts = sorted((s, v) for (nn, s), v in m.items() if nn == n)
        if not pts:
            continue
        x = [s / n ** a for s, _ in pts]
        ax.plot(x, [v for _, v in pts], marker="o", ms=3, color=curve_colour(i), label=f"n = {n}")
        for (s, v), xx in zip(pts, x):
            cols["size"].append(n), cols["step"].append(s)
            cols["scaled"].append(xx), cols["memorisation"].append(v)
    ax.set_xscale("log")
    ax.set_xlabel(f"steps / n^{a:.2f}"), ax.set_ylabel("memorisation")
    ax.legend(fontsize=FONT_SMALL, frameon=False)
    finish_axes(ax)
    add_caption(fig, caption)
    return fig, cols


def curves(rows, sizes, caption: str):
    present = [(k, t) for k, t in CURVES if any(r.get(k) is not None for r in rows)]
    ncol = 4
    nrow = max(1, -(-len(present) // ncol))
    fig = new_figure(height=2.0 * nrow)
    cols: dict = {}
    for j, (key, title) in enumerate(present):
        ax = fig.add_subplot(nrow, ncol, j + 1)
        m = _mean_by(rows, lambda r: (r["size"], r["step"]), key)
        for i, n in enumerate(sizes):
            pts = sorted((s, v) for (nn, s), v in m.items() if nn == n)
            if pts:
                ax.plot([s for s, _ in pts], [v for _, v in pts], marker="o", ms=2,
                        color=curve_colour(i), label=f"n = {n}")
                cols[f"{key}_n{n}_step"] = np.asarray([s for s, _ in pts])
                cols[f"{key}_n{n}"] = np.asarray([v for _, v in pts])
        ax.set_xscale("log", base=2)
        ax.set_title(title, fontsize=FONT_SMALL)
        finish_axes(ax)
        if j == 0:
            ax.legend(fontsize=6, frameon=False)
    add_caption(fig, caption)
    return fig, cols
