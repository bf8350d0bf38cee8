"""The outputs of the conditions map (:func:`report`): ``data/cells.csv`` (every cell),
the heat maps (one per statistic over two axes, one panel per value of a third;
:mod:`.figures`), ``conditions.json``, and ``report.html`` with a description, in words,
of where the paper's picture holds.

A heat map holds the axes it does not show at the paper's setting (:func:`reference`)
and averages over the training seeds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from latentdyn.analysis.stages import STAGE_MARGIN_SEM
from latentdyn.reporting.prose import listing, timings_text
from latentdyn.studies.conditions.profiles import AXES, MODEL_AXES, Profile

# name, short label, description, vmin, vmax, format, depends on the evaluation axes
STATS = (
    ("picture_holds", "picture holds", "the paper's picture holds: C1 and C5 for every "
     "label (share of seeds)", 0, 1, ".2f", True),
    ("dip_fraction", "labels with a dip", "share of labels whose distance to the concept "
     "dips (C1)", 0, 1, ".2f", True),
    ("dip_depth_rel", "dip depth / d(0)", "mean over labels of (d(0) - d(t*)) / d(0)", None,
     None, ".2f", True),
    ("below_start_fraction", "labels d(T) < d(0)", "share of labels whose trajectories end "
     "nearer the concept than they started", 0, 1, ".2f", True),
    ("stages_fraction", "labels with stages", "share of labels whose stages run memory, "
     "concept, abstract in order of noise, each resolved by > 2 paired SEM, min over "
     "t >= 1 (C5)", 0, 1, ".2f", True),
    ("width_concept", "stage II width", "share of the noise levels at which the concept is "
     "the closest level (mean over labels)", 0, 1, ".2f", True),
    ("converged_share", "converged by T", "share of deterministic trajectories at rest over "
     "their last steps by T", 0, 1, ".2f", True),
    ("active_units", "active units", "active units (C2)", None, None, ".0f", False),
    ("contraction_share", "memories with ρ < 1", "share of training memories at which the "
     "latent map contracts (not fixed points: a local contraction, not attraction)", 0, 1,
     ".2f", False),
)
COLUMNS = (*AXES, "epochs", "steps", "n_train", "status", "classes", "dip_count",
           "dip_count_old", "dip_fraction", "dip_depth", "dip_depth_rel", "t_star_median", "below_start",
           "below_start_fraction", "stages_count", "stages_fraction", "stages_labels",
           "stages_all", "width_memory", "width_concept", "width_abstract", "stages_old",
           "stages_ordered_old", "converged_share", "cycling_share", "drifting_share",
           "unsettled_share", "converged_share_old", "mean_convergence_step", "active_units",
           "contraction_share", "fixed_attractor_share", "memory_radius_median", "test_elbo",
           "picture_holds", "picture_holds_old", "model")


def order(axis: str, values) -> list:
    """The display order of an axis' values: sizes ascending with ``all`` last, Nz and
    seeds ascending, the others as listed."""
    values = list(dict.fromkeys(values))
    if axis == "size":
        return sorted(values, key=lambda v: (v == "all", int(v) if v != "all" else 0))
    if axis in ("nz", "seed"):
        return sorted(values, key=int)
    return values


def reference(axis: str, values) -> object:
    """The paper's setting on an axis (where a heat map does not show it): the whole
    training set (else the largest), Nz = 100 (else the largest), swap noise,
    deterministic dynamics, else the first value listed."""
    values = order(axis, values)
    prefer = {"size": "all", "nz": 100, "noise": "swap", "mode": "deterministic"}.get(axis)
    if prefer in values:
        return prefer
    return values[-1] if axis in ("size", "nz") else values[0]


def _number(v) -> float:
    if v is None or v == "":
        return math.nan
    return float(v)


def heat_panels(cells: Sequence[Mapping], prof_axes: Mapping[str, list], rows: str,
                cols: str, facet: str, stat: str) -> tuple[dict, list, list, dict]:
    """(facet value -> (rows, cols) mean of ``stat`` over seeds, row values, column
    values, the reference values of the other axes)."""
    rv, cv, fv = (order(a, prof_axes[a]) for a in (rows, cols, facet))
    fixed = {a: reference(a, prof_axes[a]) for a in AXES
             if a not in (rows, cols, facet, "seed")}
    panels = {}
    for f in fv:
        grid = np.full((len(rv), len(cv)), np.nan)
        for i, r in enumerate(rv):
            for j, c in enumerate(cv):
                vals = [_number(x[stat]) for x in cells if x["status"] == "completed"
                        and str(x[rows]) == str(r) and str(x[cols]) == str(c)
                        and str(x[facet]) == str(f)
                        and all(str(x[a]) == str(v) for a, v in fixed.items())]
                vals = [v for v in vals if not math.isnan(v)]
                if vals:
                    grid[i, j] = sum(vals) / len(vals)
        panels[f] = grid
    return panels, rv, cv, fixed


def save_heatmaps(cells, prof_axes, maps, out: Path, caption: str) -> list:
    """One figure per map of ``maps`` ((rows, cols, facet) triples), one row of panels
    per statistic: [(title, SavedFigure)]."""
    from latentdyn.figures import save_figure
    from latentdyn.studies.conditions.figures import HeatStat, condition_heatmaps

    saved = []
    for rows, cols, facet in maps:
        stats, described = [], []
        for name, label, text, lo, hi, fmt, per_cell in STATS:
            if not per_cell and not {rows, cols} & set(MODEL_AXES):
                continue  # a model's property: the same across noise and mode
            panels, rv, cv, fixed = heat_panels(cells, prof_axes, rows, cols, facet, name)
            stats.append(HeatStat(label, panels, lo, hi, fmt))
            described.append(f"{label}: {text}")
        held = ", ".join(f"{a} = {v}" for a, v in fixed.items())
        fig = condition_heatmaps(stats, rv, cv, caption=(
            f"Each row one statistic ({'; '.join(described)}). Other axes at {held}; mean "
            f"over seeds {prof_axes['seed']}; {caption}"), row_title=rows, col_title=cols,
            facet_title=facet)
        saved.append((f"Heat maps: {rows} × {cols}, by {facet}",
                       save_figure(fig, out / "figures", f"conditions_{rows}_{cols}",
                                   data_dir=out / "data")))
    return saved


def cell_columns(cells: Sequence[Mapping]) -> dict:
    return {c: ["" if x.get(c) is None else x.get(c) for x in cells] for c in COLUMNS}


# ----------------------------------------------------------------- in words
def _marginal(cells, axis: str, key: str) -> dict:
    out: dict = {}
    for x in cells:
        if x["status"] != "completed" or x.get(key) is None:
            continue
        h, t = out.get(str(x[axis]), (0, 0))
        out[str(x[axis])] = (h + bool(x[key]), t + 1)
    return out


def _share_text(m: dict, axis: str) -> str:
    return ", ".join(f"{v} {h}/{t}" for v, (h, t) in
                     ((v, m[str(v)]) for v in order(axis, m)) if t)


def findings(cells: Sequence[Mapping], prof_axes: Mapping[str, list]) -> list[str]:
    """Sentences on where the paper's picture holds on the grid, and where not."""
    done = [x for x in cells if x["status"] == "completed"]
    n = len(done)
    if not n:
        return ["No cell was evaluated (every model diverged or was skipped)."]
    holds = sum(bool(x["picture_holds"]) for x in done)
    dip = sum(bool(x["dip_count"] == x["classes"]) for x in done)
    ordered = sum(bool(x["stages_all"]) for x in done)
    below = sum(bool(x["below_start"] == x["classes"]) for x in done)
    old = sum(bool(x["stages_ordered_old"]) for x in done)
    dip_old = sum(bool(x["dip_count_old"] == x["classes"]) for x in done)
    old_holds = sum(bool(x["picture_holds_old"]) for x in done)
    out = [f"The paper's picture (for every label a dip toward the concept, C1, and the "
           f"stages memory → concept → abstract in order of noise, C5) holds in {holds} of "
           f"{n} evaluated cells. C1 alone holds in {dip}, C5 alone in {ordered}. For every "
           f"label the trajectories end nearer their concept than they started (d(T) < d(0))"
           f" in {below} of {n} cells.",
           f"C5 is read by the rule of reproduce nagano2017 (per label, the minimum over "
           f"t >= 1, each stage resolved by more than {STAGE_MARGIN_SEM:g} paired SEM). By "
           f"the map's rule before issue 19 (labels pooled, the minimum over t >= 0, no "
           f"margin: not C5) on the same trials, the stages were in order in {old} of {n} "
           f"cells; by the dip rule before issue 19 (t* chosen on the trials it then tests) "
           f"C1 held in {dip_old}; by both old rules the picture held in {old_holds}."]
    for axis in AXES:
        values = prof_axes[axis]
        if len(values) < 2:
            continue
        m = _marginal(done, axis, "picture_holds")
        always = [v for v in order(axis, m) if m[v][0] == m[v][1] and m[v][1]]
        never = [v for v in order(axis, m) if m[v][0] == 0 and m[v][1]]
        text = f"By {axis}, the picture holds in: {_share_text(m, axis)} cells."
        if always:
            text += f" It holds in every cell with {axis} = {', '.join(always)}."
        if never and len(never) < len(m):
            text += f" It holds in no cell with {axis} = {', '.join(never)}."
        out.append(text)
    out += _size_vs_training(done, prof_axes) + _fates_text(done)
    return out


def _size_vs_training(done, prof_axes) -> list[str]:
    if len(prof_axes["training"]) < 2 or len(prof_axes["size"]) < 2:
        return []
    out = []
    for tr in prof_axes["training"]:
        sub = [x for x in done if x["training"] == tr]
        m = _marginal(sub, "size", "picture_holds")
        yes = [v for v in order("size", m) if m[v][1] and 2 * m[v][0] >= m[v][1]]
        out.append(f"With {tr}, the picture holds in at least half of the cells at sizes: "
                   f"{', '.join(yes) if yes else 'none'} (of {', '.join(order('size', m))}).")
    return out


def _fates_text(done) -> list[str]:
    det = [x for x in done if x.get("converged_share") is not None]
    out = []
    if det:
        def span(key):
            v = [float(x[key]) for x in det]
            return f"{min(v):.0%} to {max(v):.0%}"

        conv = [float(x["converged_share"]) for x in det]
        out.append(f"Deterministic trajectories are at rest by T (within the tolerance of "
                   f"where they end over their last steps) in {span('converged_share')} of "
                   f"the trials of a cell (mean {np.mean(conv):.0%}); cycling "
                   f"{span('cycling_share')}; drifting outward {span('drifting_share')}; "
                   f"unsettled {span('unsettled_share')}. By the rule before issue 19 (last "
                   f"step below the tolerance, which also counts a slow drift) "
                   f"{span('converged_share_old')} had converged.")
    att = [float(x["contraction_share"]) for x in done
           if x.get("contraction_share") is not None]
    if att:
        out.append(f"The share of training memories at which the latent map contracts "
                   f"(spectral radius < 1) ranges from {min(att):.0%} to {max(att):.0%} over "
                   "the models; a memory is rarely a fixed point, so this is a local "
                   "contraction, not the share of memories that are attractors.")
    return out


# ----------------------------------------------------------------- the report
TITLE = "Conditions map: where repeated inference finds concepts"
INTRO = ("A phase diagram of the phenomena of Nagano, Karakida & Okada (2017) over the "
         "conditions that plausibly decide them: the data set, the size of its training set, "
         "the amount of training (epochs, and equal optimiser steps across sizes, so that "
         "data size and training length are told apart), Nz, the noise kind and the mode of "
         "the dynamics. Every model is the paper's VAE trained through the sweep engine; "
         "every cell measures the dip toward the concept (C1), the active units (C2), the "
         "stages of Fig. 4 (C5, by the rule of reproduce nagano2017), the fates of the "
         "trajectories and the share of training memories at which the latent map "
         "contracts.")


def _grid_text(prof: Profile, settings: Mapping) -> str:
    return (f"Profile {prof.name}: data sets {listing(settings['datasets_used'])}; sizes "
            f"{listing(prof.sizes)}; training {listing(prof.trainings)}; Nz "
            f"{listing(prof.nz)}; seeds {listing(prof.seeds)}; noise {listing(prof.noises)}; "
            f"modes {listing(prof.modes)}. Each cell: {prof.trials} trials per label at p = "
            f"{prof.p_dip} for the dip and the fates, {prof.trials_stages} trials per label and "
            f"noise level at p = {listing(prof.ps)} for the stages, T = {prof.steps}, the "
            "Jacobian at "
            f"{prof.memories} memories.")


def write_outputs(out: Path, cells, prof: Profile, settings: Mapping, notes: Sequence[str],
                  timings: Mapping) -> Path:
    """cells.csv, the heat maps, conditions.json and report.html under ``out``."""
    from latentdyn.figures import write_csv
    from latentdyn.io import write_json
    from latentdyn.reporting.report import Section, write_report

    write_csv(out / "data" / "cells.csv", cell_columns(cells))
    prof_axes = {"dataset": list(settings["datasets_used"]), "size": list(prof.sizes),
                 "training": list(prof.trainings), "nz": list(prof.nz),
                 "seed": list(prof.seeds), "noise": list(prof.noises),
                 "mode": list(prof.modes)}
    maps = [(prof.rows, prof.cols, prof.facet)]
    if len(prof.noises) > 1 and len(prof.modes) > 1 and \
            {"noise", "mode"} != {prof.rows, prof.cols}:
        maps.append(("noise", "mode", "nz" if prof.facet in ("noise", "mode") else prof.facet))
    caption = f"profile {prof.name}"
    saved = save_heatmaps(cells, prof_axes, maps, out, caption)
    words = findings(cells, prof_axes)
    write_json(out / "conditions.json", {"findings": words, "cells": len(cells),
                                         "grid": prof_axes, "settings": dict(settings)})
    sections = [Section("Where the paper's picture holds", None, _grid_text(prof, settings),
                        "for MNIST, 60 000 images, 100 epochs, Nz = 100: a dip for all ten "
                        "labels and the three stages in order.", "\n\n".join(words),
                        data=out / "data" / "cells.csv")]
    sections += [Section(title, f.png, f.caption, "", "the findings above are computed "
                         "from these cells; every cell's value is printed in the map and "
                         "listed in cells.csv.", data=f.csv)
                 for title, f in saved]
    return write_report(out / "report.html", TITLE, INTRO, settings, sections, [],
                        [*notes, timings_text(timings)])


def report(run, s, results, claims) -> None:
    """The study's report stage: :func:`write_outputs` into ``run.out`` (the map has no
    claims), and the counts in the manifest."""
    cells = results.evaluated.rows
    with run.stage("report"):
        write_outputs(run.out, cells, s.prof, s.settings, s.notes, run.timings)
    run.record(backend=s.backend, cells=len(cells),
               picture_holds=results.evaluated.picture_holds)
