"""Figures 6, 7 and B.2 of ``reproduce nagano2017`` (Nagano et al. 2017): the
latent-size study and the digit attribution of trajectories."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from latentdyn.figures.style import (
    CMAP_DIVERGING,
    FigureDataError,
    add_caption,
    attach_data,
    curve_colour,
    finish_axes,
    new_figure,
    style_colorbar,
)


def fig6_latent_size(t: Any, means: Mapping[int, Any], sems: Mapping[int, Any],
                     cosines: Mapping[int, Any], caption: str = "", label: Any = 6) -> Figure:
    """Top row: ‖z(t) − ξ̄_label‖ (mean ± SEM) for each Nz; bottom row: the concepts'
    cosine matrix for each Nz."""
    nzs = list(means)
    if not nzs or set(nzs) != set(sems) or set(nzs) != set(cosines):
        raise FigureDataError("means, sems and cosines need the same Nz keys")
    t = np.asarray(t, dtype=float)
    fig = new_figure(1.75 * len(nzs) + 0.6, 4.2)
    axes = fig.subplots(2, len(nzs), squeeze=False)
    columns: dict[str, np.ndarray] = {"t": t}
    im = None
    for k, nz in enumerate(nzs):
        m, s = np.asarray(means[nz], dtype=float), np.asarray(sems[nz], dtype=float)
        ax = axes[0, k]
        ax.plot(t, m, color=curve_colour(0), lw=1.4)
        ax.fill_between(t, m - s, m + s, color=curve_colour(0), alpha=0.25, lw=0)
        ax.set_title(f"Nz = {nz}")
        ax.set_xlabel("t")
        if k == 0:
            ax.set_ylabel(f"‖z(t) − concept '{label}'‖")
        finish_axes(ax, grid=True)
        columns[f"mean_nz{nz}"], columns[f"sem_nz{nz}"] = m, s
        c = np.asarray(cosines[nz], dtype=float)
        ax = axes[1, k]
        im = ax.imshow(c, cmap=CMAP_DIVERGING, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        off = np.abs(c[~np.eye(len(c), dtype=bool)]).mean() if len(c) > 1 else float("nan")
        ax.set_xlabel(f"mean |off-diag| {off:.2f}")
        finish_axes(ax, spines=True)
        for i in range(len(c)):
            columns[f"cos_nz{nz}_row{i}"] = c[i]
    if im is not None:
        cbar = fig.colorbar(im, ax=axes[1, :].tolist(), fraction=0.02, pad=0.01)
        style_colorbar(cbar, "cosine")
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


def fig7_elbo(nz: Sequence[int], test_elbo: Sequence[float], caption: str = "",
              test_ll: Sequence[float] | None = None, active_units: int | None = None) -> Figure:
    """Best test ELBO (and importance-weighted log-likelihood) against Nz, with the
    number of active units of the largest model marked."""
    nz = np.asarray(nz, dtype=float)
    elbo = np.asarray(test_elbo, dtype=float)
    fig = new_figure(4.8, 3.2)
    ax = fig.add_subplot()
    ax.plot(nz, elbo, "o-", color=curve_colour(0), label="test ELBO")
    columns = {"nz": nz, "test_elbo": elbo}
    if test_ll is not None:
        ll = np.asarray(test_ll, dtype=float)
        ax.plot(nz, ll, "s--", color=curve_colour(1), label="test log-likelihood (IWAE)")
        columns["test_ll"] = ll
    if active_units is not None:
        ax.axvline(active_units, color="#555555", ls=":", lw=1.2,
                   label=f"active units at Nz = {int(nz.max())}: {active_units}")
    ax.set_xscale("log")
    ax.set_xticks(nz)
    ax.set_xticklabels([str(int(v)) for v in nz])
    ax.set_xlabel("latent units Nz")
    ax.set_ylabel("nats per image")
    ax.legend(fontsize=7, frameon=False)
    finish_axes(ax, grid=True)
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


def figB2_attribution(probs: Any, t: Any, mean_all: Any, sem_all: Any, mean_kept: Any,
                      sem_kept: Any, caption: str = "", label: Any = 6) -> Figure:
    """(a) classifier probabilities of x(T) per trial (trial × label); (b) distance to
    the concept for all trials and for the trials still read as ``label``."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2:
        raise FigureDataError(f"probs must be (trials, labels), got {probs.shape}")
    t = np.asarray(t, dtype=float)
    fig = new_figure(7.5, 3.0)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.4, 1])
    im = ax1.imshow(probs.T, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                    interpolation="nearest")
    ax1.set_xlabel("trial")
    ax1.set_ylabel("label")
    ax1.set_yticks(range(probs.shape[1]))
    finish_axes(ax1, spines=True)
    cbar = fig.colorbar(im, ax=ax1, fraction=0.04, pad=0.02)
    style_colorbar(cbar, "p(label | x(T))")
    for k, (m, s, name) in enumerate(((mean_all, sem_all, "all trials"),
                                      (mean_kept, sem_kept, f"still read as '{label}'"))):
        m, s = np.asarray(m, dtype=float), np.asarray(s, dtype=float)
        colour = "#888888" if k == 0 else curve_colour(1)
        ax2.plot(t, m, color=colour, lw=1.4, label=name)
        ax2.fill_between(t, m - s, m + s, color=colour, alpha=0.25, lw=0)
    ax2.set_xlabel("inference step t")
    ax2.set_ylabel(f"‖z(t) − concept '{label}'‖")
    ax2.legend(fontsize=7, frameon=False)
    finish_axes(ax2, grid=True)
    add_caption(fig, caption)
    columns = {"t": t, "mean_all": np.asarray(mean_all), "sem_all": np.asarray(sem_all),
               "mean_kept": np.asarray(mean_kept), "sem_kept": np.asarray(sem_kept)}
    for j in range(probs.shape[1]):
        columns[f"p_label{j}"] = probs[:, j]
    attach_data(fig, columns)
    return fig
