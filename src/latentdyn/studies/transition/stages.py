"""The stages of ``latentdyn transition``:

* ``train`` -- every group of the plan and its twin through the conditions map's
  :func:`~latentdyn.studies.conditions.grid.train_group` (the sweep engine: ensembles,
  resumable, ``--backend ray``), each model saving its snapshots;
* ``evaluate`` -- per model and snapshot, :func:`.measure.snapshot_stats` and, with a
  twin, the twin test (:func:`latentdyn.analysis.twins.twin_test`), cached under
  ``out/cells`` (keyed by the snapshot's md5 and the evaluation settings). The sizes
  are evaluated in ascending order; before the largest, the law fitted on the others
  predicts its τ, and the prediction is written to ``data/prediction.json`` first;
* the times and the law (:mod:`.law`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from latentdyn.studies.conditions import grid as G
from latentdyn.studies.conditions.stages import _cached
from latentdyn.studies.transition import law as L
from latentdyn.studies.transition.inputs import Setup

EVAL_FIELDS = ("trials", "steps", "p_dip", "noises", "memories", "elbo_images")
EVAL_RULES = 1
TWIN_SEED = 9001


@dataclass
class Results:
    rows: list  # one per (dataset, size, nz, seed, step)
    times: dict  # "dataset|nz" -> {"concept": {n: Tau}, "memory": {n: Tau}}
    laws: dict  # "dataset|nz" -> {"concept": Law, "memory": Law}
    predictions: dict  # "dataset|nz" -> {"concept": ..., "memory": ...} (checked)
    summaries: dict


def train(run, s: Setup) -> dict:
    from latentdyn.manifest import invocation

    groups = {**s.plan.groups, **{t.name: t for t in s.twins.values()}}
    with run.stage("train", f"training {len(groups)} sweeps of {s.prof.max_steps} steps"):
        return {name: G.train_group(g, run.folder, s.prof, device=s.device,
                                    data_dir=s.data_dir, workers=s.workers,
                                    progress=run.progress, backend=s.backend,
                                    argv=invocation())
                for name, g in groups.items()}


def _key(s: Setup, *weights) -> dict:
    prof = s.prof
    return {"weights": list(weights), "seed": s.seed, "rules": EVAL_RULES,
            **{f: list(v) if isinstance(v, tuple) else v
               for f, v in ((f, getattr(prof, f)) for f in EVAL_FIELDS)}}


def _snapshot_cell(spec, step, s: Setup, folder: Path) -> dict:
    from latentdyn.analysis import build_hierarchy
    from latentdyn.io import md5_file
    from latentdyn.train.runs import load_snapshot
    from latentdyn.train.snapshots import snapshot_path
    from latentdyn.studies.transition.measure import snapshot_stats

    model_dir = folder / "sweeps" / spec.group / spec.point
    cache = folder / "cells" / spec.group / spec.point / f"step-{step}.json"

    def compute():
        model, _ = load_snapshot(model_dir, step, s.device)
        data = G.subset(s.plan.groups[spec.group].data, spec.n_train)
        hier = build_hierarchy(model, data.train_images, data.train_labels)
        return snapshot_stats(model, hier, data, s.prof, s.seed)

    return _cached(cache, _key(s, md5_file(snapshot_path(model_dir, step))), compute)


def _twin_cell(spec, step, s: Setup, folder: Path) -> dict | None:
    from latentdyn.analysis.trials import corrupted_trials
    from latentdyn.analysis.twins import twin_test
    from latentdyn.io import md5_file
    from latentdyn.train.runs import load_snapshot
    from latentdyn.train.snapshots import snapshot_path

    twin = s.twins.get(spec.group)
    if twin is None:
        return None
    a_dir = folder / "sweeps" / spec.group / spec.point
    b_dir = folder / "sweeps" / twin.name / spec.point
    if not (snapshot_path(b_dir, step)).is_file():
        return None
    cache = folder / "cells" / spec.group / spec.point / f"twin-step-{step}.json"

    def compute():
        data = s.plan.groups[spec.group].data
        a, _ = load_snapshot(a_dir, step, s.device)
        b, _ = load_snapshot(b_dir, step, s.device)
        _, x0 = corrupted_trials(data.test_images, data.test_labels, None,
                                 s.prof.trials * 10, s.prof.noises[0], s.prof.p_dip,
                                 s.seed + TWIN_SEED)
        return twin_test(a, b, x0, data.train_images, data.train_labels,
                         steps=s.prof.steps, generator=s.seed + TWIN_SEED).as_dict()

    return _cached(cache, _key(s, md5_file(snapshot_path(a_dir, step)),
                               md5_file(snapshot_path(b_dir, step))), compute)


def _rows_of(spec, s: Setup, folder: Path, summaries: dict, series: dict) -> list[dict]:
    summary = summaries[spec.group].get(spec.point, {})
    status = summary.get("status") or "missing"
    rows = []
    if status != "completed":
        return [{"dataset": spec.dataset, "size": spec.n_train, "nz": spec.nz,
                 "seed": spec.seed, "step": None, "status": status}]
    ser = series.setdefault((spec.dataset, spec.nz, spec.n_train),
                            L.Series(spec.n_train, s.steps))
    dips, train, held = [], [], []
    for step in s.steps:
        cell = _snapshot_cell(spec, step, s, folder)
        twin = _twin_cell(spec, step, s, folder)
        row = {"dataset": spec.dataset, "size": spec.n_train, "nz": spec.nz,
               "seed": spec.seed, "step": step, "epochs": round(step / -(-spec.n_train // s.prof.batch_size), 3),
               "status": status, **cell["stats"]}
        if twin is not None:
            row.update({f"twin_{k}": v for k, v in twin.items()})
        rows.append(row)
        tr = cell["trials"]
        dips.append(None if tr["dip"] is None else np.asarray(tr["dip"], dtype=np.float64))
        train.append(np.asarray(tr["return_train"]))
        held.append(np.asarray(tr["return_held_out"]))
    ser.dip.append(None if any(d is None for d in dips) else np.stack(dips))
    ser.train.append(np.stack(train))
    ser.held_out.append(np.stack(held))
    return rows


def _times(series: dict, key, sizes) -> dict:
    return {kind: {n: L.tau(series[(*key, n)], kind) for n in sizes if (*key, n) in series}
            for kind in ("concept", "memory")}


def evaluate(run, s: Setup, summaries: dict) -> Results:
    """Every snapshot's statistics, the times, the law and its prediction (module doc)."""
    from latentdyn.io import write_json

    sizes = sorted({m.n_train for m in s.plan.models})
    largest = sizes[-1]
    series: dict = {}
    rows: list = []
    with run.stage("evaluate", "evaluating the snapshots"):
        models = sorted(s.plan.models, key=lambda m: (m.n_train == largest, m.n_train))
        small = [m for m in models if m.n_train != largest]
        big = [m for m in models if m.n_train == largest]
        for spec in tqdm(small, desc="snapshots (smaller sizes)", disable=not run.progress):
            rows += _rows_of(spec, s, run.folder, summaries, series)
        keys = sorted({(m.dataset, m.nz) for m in s.plan.models})
        predictions = {}
        for key in keys:  # the prediction, made and written before the largest is measured
            t = _times(series, key, sizes[:-1])
            predictions[f"{key[0]}|{key[1]}"] = {k: L.predict(t[k], largest) for k in t}
        write_json(run.out / "data" / "prediction.json",
                   {"made_before_evaluating": largest, "predictions": predictions})
        for spec in tqdm(big, desc="snapshots (largest size)", disable=not run.progress):
            rows += _rows_of(spec, s, run.folder, summaries, series)
        times, laws, checked = {}, {}, {}
        for key in keys:
            name = f"{key[0]}|{key[1]}"
            times[name] = _times(series, key, sizes)
            laws[name] = {k: L.fit_law(v) for k, v in times[name].items()}
            checked[name] = {k: L.check_prediction(predictions[name][k], times[name][k][largest],
                                                   last_step=max(s.steps))
                             if largest in times[name][k] else {**predictions[name][k],
                                                               "holds": None,
                                                               "verdict": "not measured"}
                             for k in predictions[name]}
    return Results(rows, times, laws, checked, summaries)


def stages(run, s: Setup) -> Results:
    return evaluate(run, s, train(run, s))


__all__ = ["Results", "evaluate", "stages", "train"]
