"""The stages of the conditions map, each returning a typed result:

* ``train`` (:class:`Trained`): the training subsets and one sweep per (data set, size,
  epochs) under ``out/sweeps``, resumed and reused on the next call;
* ``evaluate`` (:class:`Evaluated`): the statistics of every model and cell, cached
  under ``out/cells`` (keyed by the weights' md5 and the evaluation settings, so an
  interrupted map continues where it stopped), one row per cell.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from latentdyn.studies.conditions import evaluate as E
from latentdyn.studies.conditions import grid as G
from latentdyn.studies.conditions.inputs import Setup

EVAL_FIELDS = ("trials", "steps", "p_dip", "ps", "trials_stages", "memories")
# the rules a cached cell was evaluated by: 2 since issue 19 (C5 by the study's rule,
# per label; converged at rest; four fate shares; contraction share), so that a cell
# cached under the old rules is evaluated again, never mixed with new ones
EVAL_RULES = 3  # 3: cells carry dip_count_old


@dataclass
class Trained:
    """The sweeps of the grid: group name -> (point name -> its summary row)."""

    summaries: dict


@dataclass
class Evaluated:
    """One row per cell of the grid (the columns of ``report.COLUMNS``)."""

    rows: list

    @property
    def picture_holds(self) -> int:
        """The cells where the paper's picture holds (C1 for every label and C5)."""
        return sum(bool(c.get("picture_holds")) for c in self.rows)


@dataclass
class Results:
    trained: Trained
    evaluated: Evaluated


# ----------------------------------------------------------------- training
def train(run, s: Setup) -> Trained:
    """Train (or resume, or reuse) the sweep of every group of the plan."""
    from latentdyn.manifest import invocation

    groups = s.plan.groups
    total = sum(m.steps for m in {(m.group, m.point): m for m in s.plan.models}.values())
    with run.stage("train", f"training {len(groups)} sweeps ({total} optimiser steps)"):
        return Trained({name: G.train_group(g, run.folder, s.prof, device=s.device,
                                            data_dir=s.data_dir, workers=s.workers,
                                            progress=run.progress, backend=s.backend,
                                            argv=invocation())
                        for name, g in groups.items()})


# ----------------------------------------------------------------- evaluation
def _cached(path: Path, key: dict, compute) -> dict:
    from latentdyn.io import write_json

    try:
        old = json.loads(path.read_text())
        if old.get("key") == key:
            return old["stats"]
    except (OSError, ValueError, AttributeError):
        pass
    stats = compute()
    write_json(path, {"key": key, "stats": stats})
    return stats


def _evaluate_model(spec: G.ModelSpec, s: Setup, folder: Path, model_dir: Path) -> dict:
    """(noise, mode) -> cell statistics, and the model's own, for one trained model."""
    from latentdyn.analysis import build_hierarchy
    from latentdyn.io import md5_file
    from latentdyn.train.runs import load_run

    prof = s.prof
    data = G.subset(s.plan.groups[spec.group].data, spec.n_train)
    model, _ = load_run(model_dir, device=s.device)
    base = {"weights": md5_file(model_dir / "model.safetensors"), "seed": s.seed,
            "rules": EVAL_RULES,
            **{k: list(v) if isinstance(v, tuple) else v
               for k, v in ((f, getattr(prof, f)) for f in EVAL_FIELDS)}}
    cache = folder / "cells" / spec.group / spec.point
    hier = build_hierarchy(model, data.train_images, data.train_labels)
    mstats = _cached(cache / "model.json", base, lambda: E.to_dict(
        E.model_stats(model, hier, prof, s.seed)))
    out = {}
    for noise in prof.noises:
        for mode in prof.modes:
            out[(noise, mode)] = _cached(
                cache / f"{noise}-{mode}.json", {**base, "noise": noise, "mode": mode},
                lambda: E.to_dict(E.cell_stats(model, hier, data.train_images,
                                               data.train_labels, prof, noise, mode,
                                               s.seed, mstats["latent_scale"])))
    return {"model": mstats, "cells": out}


def cell_rows(s: Setup, folder: Path, summaries: dict, progress: bool) -> list[dict]:
    """One row per cell of the grid (``report.COLUMNS``)."""
    done: dict = {}
    rows = []
    for spec in tqdm(s.plan.models, desc="cells (models)", disable=not progress):
        model_dir = folder / "sweeps" / spec.group / spec.point
        summary = summaries[spec.group].get(spec.point, {})
        status = summary.get("status") or "missing"
        key = (spec.group, spec.point)
        if status == "completed" and key not in done:
            done[key] = _evaluate_model(spec, s, folder, model_dir)
        for noise in s.prof.noises:
            for mode in s.prof.modes:
                row = {"dataset": spec.dataset, "size": spec.size, "training": spec.training,
                       "nz": spec.nz, "seed": spec.seed, "noise": noise, "mode": mode,
                       "epochs": spec.epochs, "steps": spec.steps, "n_train": spec.n_train,
                       "status": status, "test_elbo": summary.get("test_elbo"),
                       "model": str(Path("sweeps") / spec.group / spec.point)}
                if key in done:
                    found = done[key]
                    row.update(found["model"])
                    row.update(found["cells"][(noise, mode)])
                    row["dip_fraction"] = row["dip_count"] / row["classes"]
                    row["stages_fraction"] = row["stages_count"] / row["classes"]
                    row["below_start_fraction"] = row["below_start"] / row["classes"]
                rows.append(row)
    return rows


def evaluate(run, s: Setup, trained: Trained) -> Evaluated:
    """The statistics of every cell of the grid (cached under ``out/cells``)."""
    with run.stage("evaluate", "evaluating the cells"):
        return Evaluated(cell_rows(s, run.folder, trained.summaries, run.progress))


def stages(run, s: Setup) -> Results:
    """Train the grid's models, then evaluate its cells (module doc)."""
    trained = train(run, s)
    return Results(trained, evaluate(run, s, trained))
