"""The figures and data files of the study, drawn from the stage results: PNG and PDF
under ``figures/``, the plotted numbers as CSV and the statistics as JSON under
``data/``. Each function returns the :class:`~latentdyn.figures.SavedFigure` the report
links to."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentdyn.analysis.sampling import READINGS
from latentdyn.figures import SavedFigure, save_figure
from latentdyn.io import write_json
from latentdyn.studies.nagano2017 import Experiment
from latentdyn.studies.nagano2017_sampling.figures import (
    fig2a_sampled_sequence,
    fig2b_readings,
    fig3_stage_readings,
)
from latentdyn.studies.nagano2017_sampling.profiles import LABEL
from latentdyn.studies.nagano2017_sampling.stages import (
    ConceptReadings,
    SampledSequence,
    StageSweep,
)


def settings_caption(exp: Experiment, p: float, nz: int, dataset: str) -> str:
    return (f"{exp.noise} noise p = {p}, sampling dynamics (paper 002, eqs. 2-3), "
            f"T = {exp.steps}, Nz = {nz}, {dataset}, seed {exp.seed}")


def _save(fig, out: Path, stem: str) -> SavedFigure:
    return save_figure(fig, out / "figures", stem, data_dir=out / "data")


def save_fig2a(seq: SampledSequence, out: Path, caption: str) -> SavedFigure:
    return _save(fig2a_sampled_sequence(
        seq.frames, seq.means, seq.steps, seq.concept_image, LABEL,
        caption=f"Fig. 2a: one sampled chain from a corrupted '{LABEL}': the binary samples "
                f"x(t) and the decoded means of their posteriors, beside the decoded "
                f"concept; {caption}"), out, "fig2a_sequence")


def save_fig2b(res: ConceptReadings, exp: Experiment, out: Path, caption: str) -> SavedFigure:
    t = np.arange(exp.steps + 1)
    floor = np.mean([res.floor[c].numpy() for c in res.classes], 0)
    means = {r: {c: tc.mean.numpy() for c, tc in res.courses[r].items()} for r in READINGS}
    sems = {r: {c: tc.sem.numpy() for c, tc in res.courses[r].items()} for r in READINGS}
    stars = {r: {c: tc.dip["t_star"] for c, tc in res.courses[r].items()} for r in READINGS}
    saved = _save(fig2b_readings(
        t, means, sems, floor, t_star=stars,
        caption=f"Fig. 2b: distance to the concept of every digit, mean ± SEM over "
                f"{res.trials} trials per digit, in three readings: the sample z(t) (the "
                f"paper's quantity; dashed: the square root of the mean noise floor), the "
                f"posterior mean mu(x(t)), and the squared sample distance minus its noise "
                f"floor sum_u sigma_u^2(x(t)) (squared units; dashed: the floor); {caption}"),
        out, "fig2b_distance")
    write_json(out / "data" / "fig2b_dips.json", {
        r: {str(c): tc.dip for c, tc in res.courses[r].items()} for r in READINGS})
    write_json(out / "data" / "escape.json", {
        r: {str(c): {k: v for k, v in e.items() if k != "boot"}
            for c, e in res.escape[r].items()} for r in READINGS})
    write_json(out / "data" / "noise_floor.json", {
        "rms_sigma": res.rms_sigma, "floor_dips": {str(c): f for c, f in res.floor_dips.items()},
        "mean_floor_per_label": {str(c): res.floor[c].tolist() for c in res.classes}})
    return saved


def save_fig3(sweep: StageSweep, exp: Experiment, out: Path) -> SavedFigure:
    rs = sweep.readings
    saved = _save(fig3_stage_readings(
        np.asarray(sweep.ps), {r: rs[r].mean for r in READINGS},
        {r: rs[r].sem for r in READINGS}, {r: rs[r].stages for r in READINGS},
        caption=f"Fig. 3: minimum over t of the distance from chains started at corrupted "
                f"'{LABEL}'s ({sweep.trials} per p) to their own memory, the concept of "
                f"'{LABEL}' and the abstract concept, in the three readings (raw and "
                f"posterior mean: per-trial minimum; floor-corrected: minimum of the "
                f"trial-mean curve); {exp.noise} noise, T = {exp.steps}; stages shaded"),
        out, "fig3_stages")
    write_json(out / "data" / "fig3_stages.json", {
        "ps": sweep.ps, "floor": sweep.floor, **{r: {
            "mean": s.mean, "sem": s.sem, "closest": s.closest, "stages": s.stages,
            "ordered": s.ordered, "closest_t0": s.closest_t0,
            "bootstrap_ordered_share": s.boot.ordered} for r, s in rs.items()}})
    return saved


__all__ = ["save_fig2a", "save_fig2b", "save_fig3", "settings_caption"]
