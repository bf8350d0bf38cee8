"""Planning the conditions map: the models a grid needs, grouped into sweeps, and the
training subsets they are trained on; then training each group through the sweep
engine (:func:`latentdyn.sweep.run_sweep`: ensembles, resumable, ``workers``).

One sweep per (data set, training-set size, epochs): its grid is Nz × seed, at the
profile's learning rate and batch size. Two cells that ask for the same model (e.g.
``epochs=20`` and ``steps=2000`` on 10 000 images) share it.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentdyn.data.base import Dataset, arrays_sha256, make_dataset
from latentdyn.errors import ConfigError
from latentdyn.studies.conditions.profiles import SUBSET_SEED, Profile

#: the keywords of run_sweep that --backend and the Ray options pass on (when it has them)
BACKEND_KEYWORDS = ("backend", "address", "cpus_per_task", "gpus_per_task", "retries")


@dataclass(frozen=True)
class Training:
    """``epochs=E`` or ``steps=S`` (see :mod:`.profiles`)."""

    spec: str
    kind: str
    value: int

    def epochs_for(self, n_train: int, batch_size: int) -> int:
        if self.kind == "epochs":
            return self.value
        return max(1, math.ceil(self.value / math.ceil(n_train / batch_size)))


def parse_training(text) -> Training:
    kind, sep, value = str(text).strip().partition("=")
    kind = kind.strip()
    try:
        number = int(value)
    except ValueError:
        number = None
    if not sep or kind not in ("epochs", "steps") or number is None or number < 1:
        raise ConfigError(f"training {text!r}: write epochs=E or steps=S with a positive "
                          "integer")
    return Training(f"{kind}={number}", kind, number)


def parse_size(value):
    """A training-set size: a positive integer or ``all``."""
    if isinstance(value, str) and value.strip() == "all":
        return "all"
    try:
        n = int(value)
        if isinstance(value, bool) or (isinstance(value, float) and n != value):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"size {value!r}: give a number of training images or 'all'") \
            from None
    if n < 2:
        raise ConfigError(f"size {n}: a training set needs at least 2 images")
    return n


@dataclass(frozen=True)
class ModelSpec:
    """One model of the map: the cell axes that make it, and where it is trained."""

    dataset: str
    size: str  # as listed: a number or "all"
    n_train: int
    training: str
    epochs: int
    steps: int  # optimiser steps it is trained for
    nz: int
    seed: int
    group: str  # its sweep's folder name
    point: str  # its folder in that sweep


@dataclass
class Group:
    """One sweep: a training set, its epochs, and the Nz × seed grid."""

    name: str
    dataset: str  # the data set as listed in the profile
    size: str
    n_train: int
    epochs: int
    nz: tuple
    seeds: tuple
    data: Dataset = field(repr=False)
    offset: int = 0  # the subset starts at this place of the permutation (a twin's half)


@dataclass
class Plan:
    models: list  # ModelSpec, one per (dataset, size, training, nz, seed)
    groups: dict  # name -> Group
    skipped: list  # one sentence per combination the data cannot give


def _tag(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_")


def subset(data: Dataset, n: int, offset: int = 0) -> Dataset:
    """The first ``n`` of a seeded random permutation of the training images (nested
    across sizes), with the full test set; with ``offset``, the ``n`` after the first
    ``offset`` (disjoint from the first ``offset``: the other half of a twin pair)."""
    if n >= len(data.train_labels) and offset == 0:
        return data
    if offset + n > len(data.train_labels):
        raise ConfigError(f"{data.name}: {offset + n} training images asked for, it has "
                          f"{len(data.train_labels)}")
    perm = torch.randperm(len(data.train_labels),
                          generator=torch.Generator().manual_seed(SUBSET_SEED))[offset:offset + n]
    perm = perm.sort().values
    name = f"{data.name}[subset {n}]" if offset == 0 else f"{data.name}[subset {n} from {offset}]"
    return make_dataset(name,
                        (data.train_images[perm].numpy(), data.train_labels[perm].numpy()),
                        (data.test_images.numpy(), data.test_labels.numpy()),
                        data.image_shape, num_classes=data.num_classes)


def plan(prof: Profile, datasets: dict) -> Plan:
    """Every model of the grid of ``prof`` over the loaded ``datasets`` (name -> Dataset);
    writes nothing."""
    from latentdyn.sweep import point_name

    trainings = [parse_training(t) for t in prof.trainings]
    models, groups, skipped = [], {}, []
    grid_tag = f"nz{'_'.join(map(str, prof.nz))}-s{'_'.join(map(str, prof.seeds))}"
    if len(grid_tag) > 60:
        grid_tag = "g" + hashlib.sha256(grid_tag.encode()).hexdigest()[:12]
    for name, data in datasets.items():
        n_all = len(data.train_labels)
        for size in prof.sizes:
            n = n_all if size == "all" else int(size)
            if n > n_all:
                skipped.append(f"size {size} on {name}: it has only {n_all} training images")
                continue
            for tr in trainings:
                epochs = tr.epochs_for(n, prof.batch_size)
                gname = f"{_tag(name)}-n{n}-e{epochs}-{grid_tag}"
                if gname not in groups:
                    groups[gname] = Group(gname, name, str(size), n, epochs, tuple(prof.nz),
                                          tuple(prof.seeds), data)
                steps = epochs * math.ceil(n / prof.batch_size)
                for nz in prof.nz:
                    for seed in prof.seeds:
                        models.append(ModelSpec(name, str(size), n, tr.spec, epochs, steps, nz,
                                                seed, gname, point_name(nz, prof.lr,
                                                                        prof.batch_size, seed)))
    if not models:
        raise ConfigError("the grid holds no model the data sets can give: "
                          + "; ".join(skipped))
    return Plan(models, groups, skipped)


def subset_file(group: Group, folder: Path) -> Dataset:
    """The training set of ``group``: the data set itself when whole, else its subset
    written once as ``folder/<group data>.npz`` (reused while its arrays are the same)
    and loaded back, so its runs name a data set that can be loaded again."""
    from latentdyn.data.arrays import load_npz
    from latentdyn.io import atomic_path

    data = subset(group.data, group.n_train, group.offset)
    if data is group.data:
        return data
    tail = f"-o{group.offset}" if group.offset else ""
    path = (folder / f"{_tag(group.dataset)}-n{group.n_train}{tail}.npz").resolve()
    if path.is_file():
        try:
            again = load_npz(path)
            if arrays_sha256(again) == arrays_sha256(data):
                return again
        except Exception:  # unreadable: written again below
            pass
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, images=data.train_images.numpy(),
                                labels=data.train_labels.numpy(),
                                test_images=data.test_images.numpy(),
                                test_labels=data.test_labels.numpy(),
                                image_shape=np.asarray(data.image_shape))
    return load_npz(path)


def sweep_backend_keywords() -> list[str]:
    """Which of :data:`BACKEND_KEYWORDS` :func:`latentdyn.sweep.run_sweep` accepts."""
    from latentdyn.sweep import run_sweep

    params = inspect.signature(run_sweep).parameters
    return [k for k in BACKEND_KEYWORDS if k in params]


def sweep_grid(group: Group, prof: Profile, device, dataset: str, data_dir) -> dict:
    """The grid of ``run_sweep`` that trains ``group`` on ``dataset``."""
    grid = {"dataset": dataset, "data_dir": data_dir, "epochs": group.epochs,
            "hidden": prof.hidden, "batch_size": [prof.batch_size], "lr": [prof.lr],
            "nz": list(group.nz), "seed": list(group.seeds), "device": str(device),
            "checkpoint_every": max(1, group.epochs // 5), "eval_every": group.epochs}
    if prof.snapshots is not None:  # the training axis as snapshots of one run
        grid["snapshots"] = prof.snapshots if isinstance(prof.snapshots, str) \
            else list(prof.snapshots)
    if prof.constant_lr:
        grid.update(lr_factors=[1.0], lr_milestones=[])
    return grid


def _other_sweep(folder: Path, grid: dict) -> bool:
    """Whether ``folder`` holds a sweep of another grid than ``grid``."""
    from latentdyn.io import read_json
    from latentdyn.sweep import SweepSpec

    try:
        previous = read_json(folder / "sweep.json")
    except (OSError, ValueError):
        return (folder / "sweep.json").exists()
    return not isinstance(previous, dict) or SweepSpec.coerce(grid).difference(previous) \
        is not None


def train_group(group: Group, folder: Path, prof: Profile, *, device, data_dir, workers,
                progress: bool, backend: dict | None = None,
                argv: list[str] | None = None) -> dict:
    """Train (or resume, or reuse) the sweep of ``group`` under ``folder``; returns its
    summary rows by point name. ``argv``: the command line its manifests record.
    ``backend``: the keywords of run_sweep the command passes on; with ``overwrite``
    a sweep of another grid in the group's folder (another profile's) is replaced, and
    one of the same grid is reused as always."""
    from latentdyn.sweep import read_summary, run_sweep

    backend = dict(backend or {})
    overwrite = bool(backend.pop("overwrite", False))
    data = subset_file(group, folder / "subsets")
    grid = sweep_grid(group, prof, device,
                      data.name if data is not group.data else group.dataset,
                      data_dir if data is group.data else None)
    out = folder / "sweeps" / group.name
    summary = run_sweep(grid, out, workers=workers, ll_k=0, progress=progress, dataset=data,
                        argv=argv, overwrite=overwrite and _other_sweep(out, grid), **backend)
    return {row["point"]: row for row in read_summary(summary)}
