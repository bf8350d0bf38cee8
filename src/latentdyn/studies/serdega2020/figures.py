"""The figures of serdega2020, Serdega & Kim (2020), variational MI maximisation for
VAE codes (paper 003, SPEC §2): the MI lower bound of every latent code with and
without the MI term (λ = 0 vs λ > 0), training curves, concept attraction, and the
categorical code's own time course during repeated inference.

Like every latentdyn figure function these take plain arrays plus a ``caption`` and
return a :class:`matplotlib.figure.Figure` carrying its plotted numbers, which
:func:`latentdyn.figures.save_figure` writes as CSV beside the PNG and PDF. Curves
are keyed by λ (a float); :func:`~.profiles.lam_label` and :func:`~.profiles.lam_tag`
spell it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from latentdyn.studies.serdega2020.profiles import lam_label, lam_tag

# (category as at t = 0, category -> true label) shades, one pair per λ
TIMECOURSE_SHADES = (("#1b4f8a", "#8fb3de"), ("#c0392b", "#eba59d"))


def mi_bar_figure(codes: Sequence[str], chosen: set[str],
                  stats: Mapping[float, Mapping[str, tuple[float, float]]],
                  caption: str) -> Figure:
    """Grouped bars: the MI bound of each code, one bar per λ, error bars = sd.
    ``stats[lam][code]``: (mean, sd) of the bound."""
    from latentdyn.figures.style import (FONT_SMALL, add_caption, attach_data, curve_colour,
                                          finish_axes, new_figure)

    lams = list(stats)
    fig = new_figure(min(7.5, 1.6 + 0.38 * len(codes) * max(1, len(lams)) / 1.6), 3.0)
    ax = fig.add_subplot()
    x = np.arange(len(codes))
    width = 0.8 / max(1, len(lams))
    columns: dict[str, Any] = {"code": np.array(codes),
                               "chosen": np.array([c in chosen for c in codes])}
    for i, lam in enumerate(lams):
        m = np.array([stats[lam][c][0] for c in codes])
        s = np.array([stats[lam][c][1] for c in codes])
        ax.bar(x + (i - (len(lams) - 1) / 2) * width, m, width, yerr=s, capsize=2,
               color=curve_colour(i), label=lam_label(lam), error_kw={"elinewidth": 0.8})
        columns[f"bound_{lam_tag(lam)}"] = m
        columns[f"sd_{lam_tag(lam)}"] = s
    ax.axhline(0, color="#555555", lw=0.6)
    ax.set_xticks(x, [c + ("*" if c in chosen else "") for c in codes], fontsize=FONT_SMALL,
                  rotation=90 if len(codes) > 12 else 0)
    ax.set_xlabel("latent code (* = chosen for the MI term)")
    ax.set_ylabel("MI lower bound H(c) − CE (nats)")
    ax.legend(frameon=False)
    finish_axes(ax, grid=True)
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


def training_curves_figure(metrics: Mapping[float, Sequence[Mapping[str, Any]]],
                           caption: str) -> Figure:
    """Training ELBO per epoch, one curve per λ; ``metrics[lam]``: the run's metric rows
    (``epoch``, ``train_elbo``)."""
    from latentdyn.figures import curves

    xs = {lam_label(lam): [int(r["epoch"]) for r in rows] for lam, rows in metrics.items()}
    ys = {lam_label(lam): [float(r["train_elbo"]) for r in rows] for lam, rows in metrics.items()}
    return curves(xs, ys, xlabel="epoch", ylabel="training ELBO (nats / image)",
                  caption=caption, markers=True)


def concept_attraction_figure(t: np.ndarray, rel_mean: Mapping[float, np.ndarray],
                              rel_sem: Mapping[float, np.ndarray], caption: str) -> Figure:
    """Distance of the trajectory to its own concept relative to t = 0, mean ± SEM,
    one curve per λ."""
    from latentdyn.figures import curves

    return curves(t, {lam_label(lam): m for lam, m in rel_mean.items()},
                  yerr={lam_label(lam): s for lam, s in rel_sem.items()},
                  xlabel="inference step t",
                  ylabel="‖z(t) − own concept‖ / ‖z(0) − own concept‖", caption=caption)


def categorical_timecourse_figure(t: np.ndarray, same_cat: Mapping[float, np.ndarray],
                                  cat_right: Mapping[float, np.ndarray],
                                  caption: str) -> Figure:
    """Per λ: the fraction of trials whose category equals the one at t = 0 (dark) and
    whose category maps to the trial's true label (light)."""
    from latentdyn.figures import curves

    ys, colours = {}, {}
    for lam, (dark, light) in zip(same_cat, TIMECOURSE_SHADES):
        ys[f"{lam_label(lam)}: category as at t = 0"] = same_cat[lam]
        ys[f"{lam_label(lam)}: category → true label"] = cat_right[lam]
        colours[f"{lam_label(lam)}: category as at t = 0"] = dark
        colours[f"{lam_label(lam)}: category → true label"] = light
    return curves(t, ys, xlabel="inference step t", ylabel="fraction of trials",
                  colours=colours, caption=caption)


__all__ = ["TIMECOURSE_SHADES", "categorical_timecourse_figure", "concept_attraction_figure",
           "mi_bar_figure", "training_curves_figure"]
