"""Figures of the denoising comparison: accuracy and PSNR against the noise level per
method, and example images."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from torch import Tensor

from latentdyn.analysis.denoising import pivot, table_columns
from latentdyn.errors import ConfigError

FAMILY_COLOURS = {"clean": "#555555", "input": "#111111", "vae-inference": "#1b4f8a",
                  "lsd-gan": "#c0392b", "lsd-vae": "#2e8b57", "gan-inference": "#8e44ad"}


def comparison_figure(rows: Sequence[dict], caption: str = ""):
    """Accuracy (top) and PSNR (bottom) against the noise level, one column per noise
    kind, one line per method (colour = family, line style = variant)."""
    from latentdyn.figures.style import (FONT_SMALL, add_caption, attach_data, finish_axes,
                                          new_figure, plain)

    noises = [k for k in dict.fromkeys(r["noise"] for r in rows) if k != "none"]
    if not noises:
        raise ConfigError("no denoising rows to plot")
    has_acc = any(not math.isnan(r["accuracy"]) for r in rows)
    metrics = (["accuracy"] if has_acc else []) + ["psnr"]
    fig = new_figure(min(2.6 * len(noises) + 1.8, 13.0), 2.3 * len(metrics) + 0.6)
    axes = fig.subplots(len(metrics), len(noises), squeeze=False)
    styles = ["-", "--", ":", "-."]
    ref = next((r for r in rows if r["family"] == "clean"), None)
    handles = {}
    for col, noise in enumerate(noises):
        levels, methods = pivot(rows, noise)
        fam_count: dict[str, int] = {}
        for name, by_level in methods:
            fam = next(iter(by_level.values()))["family"]
            idx = fam_count.get(fam, 0)
            fam_count[fam] = idx + 1
            xs = [p for p in levels if p in by_level]
            for r_i, metric in enumerate(metrics):
                ys = [by_level[p][metric] * (100 if metric == "accuracy" else 1) for p in xs]
                (line,) = axes[r_i, col].plot(
                    xs, ys, color=FAMILY_COLOURS.get(fam, "#777777"), ls=styles[idx % 4],
                    marker="osD^v"[idx % 5], ms=3, lw=1.2 if fam != "input" else 1.6,
                    alpha=1.0 if idx < 4 else 0.6)
                handles.setdefault(name, line)
        for r_i, metric in enumerate(metrics):
            ax = axes[r_i, col]
            if metric == "accuracy" and ref is not None and not math.isnan(ref["accuracy"]):
                ax.axhline(100 * ref["accuracy"], color="#999999", lw=0.8, ls=":")
            if r_i == 0:
                ax.set_title(plain(noise))
            if r_i == len(metrics) - 1:
                ax.set_xlabel("noise level p")
            if col == 0:
                ax.set_ylabel("classifier accuracy (%)" if metric == "accuracy" else "PSNR (dB)")
            finish_axes(ax, grid=True)
    fig.legend(list(handles.values()), [plain(n) for n in handles], loc="outside right upper",
               frameon=False, fontsize=FONT_SMALL)
    add_caption(fig, caption)
    attach_data(fig, table_columns(rows))
    return fig


def examples_figure(example: Mapping[str, Tensor], image_shape: Sequence[int], caption: str = "",
                    title: str | None = None):
    """Rows: clean, corrupted, then each method's output; columns: test images."""
    from latentdyn.figures.generic import image_grid

    names = list(example)
    h, w = int(image_shape[-2]), int(image_shape[-1])
    arr = np.stack([example[k].reshape(-1, h, w).numpy() for k in names])
    return image_grid(arr, caption=caption, row_labels=names,
                      col_labels=[str(i) for i in range(arr.shape[1])], title=title,
                      col_title="test image")


