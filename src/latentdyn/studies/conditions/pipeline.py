"""``run``: the conditions map as one plain function.

Every option is checked, every data set loaded and the grid planned in :func:`prepare`,
before anything is written. Then, inside a :class:`~latentdyn.studies.study.StudyRun`:
the training subsets and one sweep per (data set, size, epochs) under ``out/sweeps``
(resumed and reused on the next call), the statistics of every model and cell (cached
under ``out/cells``, keyed by the weights' md5 and the evaluation settings, so an
interrupted map continues where it stopped), and the outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.dynamics import MODES
from latentdyn.errors import ConfigError
from latentdyn.studies.conditions import evaluate as E
from latentdyn.studies.conditions import grid as G
from latentdyn.studies.conditions import report as R
from latentdyn.studies.conditions.profiles import AXES, PROFILES, Profile

DEFAULT_OUT = "results/conditions"
KIND = "conditions"
EVAL_FIELDS = ("trials", "steps", "p_dip", "ps", "trials_stages", "memories")
LIMIT = 10**6  # the largest count any option takes (memory is checked as well)


@dataclass
class Setup:
    prof: Profile
    datasets: dict  # name -> Dataset
    plan: G.Plan
    device: Any
    settings: dict
    seed: int
    data_dir: str | None
    workers: int
    backend: dict
    notes: list


def _override(prof: Profile, **given) -> Profile:
    fields = {k: tuple(v) if isinstance(v, (list, tuple)) else v
              for k, v in given.items() if v is not None}
    prof = replace(prof, **fields)
    for name in ("nz", "seeds"):
        vals = getattr(prof, name)
        if not vals or any(isinstance(v, bool) or not isinstance(v, int) or
                           v < (1 if name == "nz" else 0) for v in vals):
            raise ConfigError(f"--{'latent-sizes' if name == 'nz' else name}: give "
                              f"{'positive' if name == 'nz' else 'non-negative'} integers")
    bad = [k for k in prof.noises if k not in NOISE_KINDS]
    if bad or not prof.noises:
        raise ConfigError(f"--noises: unknown noise {bad}; choose from {', '.join(NOISE_KINDS)}")
    bad = [m for m in prof.modes if m not in MODES]
    if bad or not prof.modes:
        raise ConfigError(f"--modes: unknown mode {bad}; choose from {', '.join(MODES)}")
    for name, least in (("trials", 2), ("steps", 1), ("trials_stages", 2), ("memories", 1)):
        v = getattr(prof, name)
        if isinstance(v, bool) or not isinstance(v, int) or not least <= v <= LIMIT:
            raise ConfigError(f"--{name.replace('_', '-')} must be an integer in "
                              f"[{least}, {LIMIT}], got {v!r}")
    if max(prof.nz) > LIMIT:
        raise ConfigError(f"--latent-sizes: at most {LIMIT}")
    axes = (prof.rows, prof.cols, prof.facet)
    if any(a not in AXES for a in axes) or len(set(axes)) < 3:
        raise ConfigError(f"--rows, --cols and --facet must be three different axes of "
                          f"{', '.join(AXES)}, got {', '.join(axes)}")
    for name in ("datasets", "sizes", "trainings"):
        if not getattr(prof, name) or len(set(getattr(prof, name))) < len(getattr(prof, name)):
            raise ConfigError(f"--{name}: give at least one value, each once")
    sizes = tuple(G.parse_size(s) for s in prof.sizes)
    trainings = tuple(G.parse_training(t).spec for t in prof.trainings)
    return replace(prof, sizes=sizes, trainings=trainings)


def _load_datasets(prof: Profile, explicit: bool, data_dir) -> tuple[dict, list]:
    """The data sets of the grid; for a profile's own list, those not on this machine
    (mnist, fashion-mnist not downloaded) are left out with a note."""
    from latentdyn.data import list_datasets, load_dataset

    present = {d["name"]: d["available"] for d in list_datasets(data_dir)}
    out, notes = {}, []
    for name in prof.datasets:
        if not explicit and present.get(name) is False:
            notes.append(f"Data set {name} is not on this machine (latentdyn data download "
                         f"{name}); left out of the grid.")
            continue
        out[name] = load_dataset(name, data_dir)
    if not out:
        raise ConfigError("none of the grid's data sets is on this machine")
    return out, notes


def prepare(profile: str, out: Path, *, overrides: dict, data_dir, seed, device, workers,
            backend: dict | None, overwrite: bool) -> Setup:
    """Check every option, load the data, plan the grid; write nothing."""
    from latentdyn.checks import resolve_device
    from latentdyn.studies.study import check_seed, get_profile, guard_output

    prof = _override(get_profile(PROFILES, profile), **overrides)
    check_seed(seed)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ConfigError(f"--workers must be a positive integer, got {workers!r}")
    backend = {k: v for k, v in (backend or {}).items() if v is not None}
    unknown = sorted(set(backend) - set(G.sweep_backend_keywords()))
    if unknown:
        raise ConfigError("the sweep engine of this build takes no "
                          + ", ".join("--" + k.replace("_", "-") for k in unknown))
    from latentdyn.sweep import check_backend

    check_backend(**backend, workers=workers, device=str(device))  # before anything trains
    dev = resolve_device(device)
    datasets, notes = _load_datasets(prof, overrides.get("datasets") is not None, data_dir)
    plan = G.plan(prof, datasets)
    _check_memory(prof, max(d.dim for d in datasets.values()))
    settings = {"profile": profile, **prof.settings(), "datasets_used": list(datasets),
                "seed": seed, "device": str(dev), "data_dir": data_dir}
    guard_output(out, {"profile": profile, "seed": seed}, overwrite)
    return Setup(prof, datasets, plan, dev, settings, seed, data_dir, workers, backend,
                 notes + [f"Left out: {s}." for s in plan.skipped])


def _check_memory(prof: Profile, dim: int) -> None:
    """Refuse, before any work, trajectories that would not fit in memory."""
    from latentdyn.models.build import available_memory

    trials = max(prof.trials, prof.trials_stages)
    need = 4 * trials * ((prof.steps + 1) * max(prof.nz) + 2 * dim)
    if need > available_memory() // 2:
        raise ConfigError(f"--trials {trials} x --steps {prof.steps} needs about "
                          f"{need / 1e9:.1f} GB per experiment; choose smaller sizes")


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
                    row["below_start_fraction"] = row["below_start"] / row["classes"]
                rows.append(row)
    return rows


# ----------------------------------------------------------------- the run
def run(profile: str = "quick", out: str | Path = DEFAULT_OUT, *, datasets=None, sizes=None,
        trainings=None, nz=None, seeds=None, noises=None, modes=None, trials=None,
        steps=None, rows=None, cols=None, facet=None, data_dir=None, workers=None,
        backend: dict | None = None, seed: int = 0, device: str = "auto",
        overwrite: bool = False, progress: bool = True) -> Path:
    """Train and evaluate the conditions map of ``profile`` (with the given overrides)
    into ``out``; return ``out``."""
    from latentdyn.studies.study import StudyRun, finish

    out = Path(out)
    overrides = dict(datasets=datasets, sizes=sizes, trainings=trainings, nz=nz, seeds=seeds,
                     noises=noises, modes=modes, trials=trials, steps=steps, rows=rows,
                     cols=cols, facet=facet)
    s = prepare(profile, out, overrides=overrides, data_dir=data_dir, seed=seed,
                device=device, workers=workers, backend=backend, overwrite=overwrite)
    data_info = {name: {"dataset": d.name, "checksums": d.checksums()}
                 for name, d in s.datasets.items()}
    with StudyRun(out, KIND, s.settings, seed=seed, device=s.device, data=data_info,
                  progress=progress, overwrite=overwrite) as r:
        groups = s.plan.groups
        total = sum(m.steps for m in {(m.group, m.point): m for m in s.plan.models}.values())
        with r.stage("train", f"training {len(groups)} sweeps ({total} optimiser steps)"):
            summaries = {name: G.train_group(g, r.folder, s.prof, device=s.device,
                                             data_dir=s.data_dir, workers=s.workers,
                                             progress=progress, backend=s.backend)
                         for name, g in groups.items()}
        with r.stage("evaluate", "evaluating the cells"):
            cells = cell_rows(s, r.folder, summaries, progress)
        with r.stage("report"):
            R.write_outputs(r.out, cells, s.prof, s.settings, s.notes, r.timings)
        r.record(backend=s.backend, cells=len(cells), picture_holds=sum(bool(c.get("picture_holds"))
                                                    for c in cells))
    finish(out, [], progress)
    return out
