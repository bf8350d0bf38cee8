"""``prepare``: every option of the conditions map checked, every data set loaded and
the grid planned (:func:`latentdyn.studies.conditions.grid.plan`) before anything is
written; the result is a :class:`Setup`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.dynamics import MODES
from latentdyn.errors import ConfigError
from latentdyn.studies.conditions import grid as G
from latentdyn.studies.conditions.profiles import AXES, PROFILES, Profile

LIMIT = 10**6  # the largest count any option takes (memory is checked as well)
#: the Params fields that override a field of the profile (the same names)
OVERRIDES = ("datasets", "sizes", "trainings", "nz", "seeds", "noises", "modes", "trials",
             "steps", "rows", "cols", "facet")


@dataclass
class Setup:
    """What :func:`prepare` found: the profile with the overrides applied, the data sets
    (name as listed -> Dataset), the planned grid, and what the driver records."""

    prof: Profile
    datasets: dict  # name -> Dataset
    plan: G.Plan
    device: Any
    settings: dict
    seed: int
    data_dir: str | None
    workers: int | None
    backend: dict  # the keywords of run_sweep the command passes on: --backend, the Ray
    #                options and --overwrite
    notes: list  # the report's notes: data sets and sizes left out
    data_record: dict  # the manifest's data: per data set, its name and checksums


#: the command-line option of each list field of a profile
FLAGS = {"datasets": "--datasets", "sizes": "--sizes", "trainings": "--training",
         "nz": "--latent-sizes", "seeds": "--seeds", "noises": "--noises", "modes": "--modes"}


def override(prof: Profile, **given) -> Profile:
    """``prof`` with the given (not None) fields replaced, every value checked; sizes
    and training amounts in their normal form (``"300"`` -> 300, ``steps=5``). A value
    listed twice (also in two spellings: ``20,020``, ``epochs=1,epochs=01``) is refused,
    naming the option."""
    from latentdyn.train.config import MAX_SEED

    fields = {k: tuple(v) if isinstance(v, (list, tuple)) else v
              for k, v in given.items() if v is not None}
    prof = replace(prof, **fields)
    for name in ("nz", "seeds"):
        vals, high = getattr(prof, name), (LIMIT if name == "nz" else MAX_SEED)
        if not vals or any(isinstance(v, bool) or not isinstance(v, int) or
                           not (1 if name == "nz" else 0) <= v <= high for v in vals):
            raise ConfigError(f"{FLAGS[name]}: give "
                              f"{'positive' if name == 'nz' else 'non-negative'} integers, at "
                              f"most {high}, got {', '.join(map(str, vals))}")
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
    axes = (prof.rows, prof.cols, prof.facet)
    if any(a not in AXES for a in axes) or len(set(axes)) < 3:
        raise ConfigError(f"--rows, --cols and --facet must be three different axes of "
                          f"{', '.join(AXES)}, got {', '.join(axes)}")
    for name in ("datasets", "sizes", "trainings"):
        if not getattr(prof, name):
            raise ConfigError(f"{FLAGS[name]}: give at least one value")
    sizes = tuple(G.parse_size(s) for s in prof.sizes)
    trainings = tuple(_training(t) for t in prof.trainings)
    from latentdyn.data.identity import canonical_name

    prof = replace(prof, sizes=sizes, trainings=trainings)
    for name in FLAGS:
        _once(getattr(prof, name), FLAGS[name],
              canonical_name if name == "datasets" else lambda v: v)
    return prof


def _training(text) -> str:
    """A training amount in its normal form, its count bounded (a number of epochs or
    steps beyond :data:`MAX_TRAINING` is no realistic request)."""
    tr = G.parse_training(text)
    if tr.value > MAX_TRAINING:
        raise ConfigError(f"--training {text}: at most {MAX_TRAINING:,} {tr.kind}")
    return tr.spec


MAX_TRAINING = 10**9


def _once(values, flag: str, key) -> None:
    """One line naming ``flag`` when two of ``values`` are the same (by ``key``)."""
    seen: dict = {}
    for v in values:
        k = key(v)
        if k in seen:
            same = f"{seen[k]!r} and {v!r} are" if str(seen[k]) != str(v) else f"{v!r} is"
            raise ConfigError(f"{flag}: {same} the same value, listed twice; give each "
                              "once")
        seen[k] = v


def check_groups(plan: G.Plan, prof: Profile, device) -> None:
    """Every sweep of the plan checked as the sweep engine will check it (its training
    configs), before anything is written; a problem names the grid's options."""
    from latentdyn.sweep import SweepSpec

    for group in plan.groups.values():
        grid = G.sweep_grid(group, prof, device, group.dataset, None)
        try:
            SweepSpec.coerce(grid).validate()
        except ConfigError as exc:
            raise ConfigError(f"the models of {group.dataset} at size {group.size} with "
                              f"{group.epochs} epochs (--training, --sizes, --latent-sizes, "
                              f"--seeds) cannot be trained: {exc}") from None


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


def _check_backend(p, workers) -> dict:
    """The backend keywords that were given, each one the sweep engine takes, checked
    by the engine before anything trains."""
    from latentdyn.studies.common import backend_of
    from latentdyn.sweep import check_backend

    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ConfigError(f"--workers must be a positive integer, got {workers!r}")
    backend = backend_of(p)
    unknown = sorted(set(backend) - set(G.sweep_backend_keywords()))
    if unknown:
        raise ConfigError("the sweep engine of this build takes no "
                          + ", ".join("--" + k.replace("_", "-") for k in unknown))
    opts = check_backend(**backend, workers=workers, device=str(p.device))
    if opts.name == "ray":  # nothing written before the cluster is known to answer
        import os

        from latentdyn.sweep.ray_backend import check_reachable

        target = opts.address or os.environ.get("RAY_ADDRESS")
        if target:
            check_reachable(target)
    # --overwrite passes on to the sweeps: one of another profile in a sweep folder is
    # then replaced (grid.train_group replaces no sweep of the same grid)
    return {**backend, "overwrite": True} if getattr(p, "overwrite", False) else backend


def _check_memory(prof: Profile, dim: int, classes: int) -> None:
    """Refuse, before any work, trajectories that would not fit in memory (a cell runs
    the dip's trials of every label as one batch, and the stages' of every label and
    noise level as another)."""
    from latentdyn.models.build import available_memory

    trials = max(prof.trials, prof.trials_stages * len(prof.ps)) * classes
    need = 4 * trials * ((prof.steps + 1) * max(prof.nz) + 2 * dim)
    if need > available_memory() // 2:
        raise ConfigError(f"--trials {prof.trials} x --steps {prof.steps} needs about "
                          f"{need / 1e9:.1f} GB per batch of trials; choose smaller sizes")


@dataclass
class CheckedGrid:
    """What every grid study checks and loads before anything is written: the backend
    keywords, the device, the data sets, the planned grid, the settings and data record
    the driver writes, and the report's notes."""

    backend: dict
    device: Any
    datasets: dict
    plan: G.Plan
    settings: dict
    data_record: dict
    notes: list


def checked_grid(prof: Profile, p, check=None) -> CheckedGrid:
    """Check the seed, backend and device of ``p`` (a study's ``Params``), load the data
    sets of ``prof``, plan the grid and check its sweeps and memory; ``check(plan)``
    runs after planning (its notes join the report's); write nothing."""
    from latentdyn.checks import resolve_device
    from latentdyn.studies.common import check_seed

    check_seed(p.seed)
    backend = _check_backend(p, p.workers)
    dev = resolve_device(p.device)
    datasets, notes = _load_datasets(prof, p.datasets is not None, p.data_dir)
    plan = G.plan(prof, datasets)
    notes += check(plan) if check is not None else []
    check_groups(plan, prof, dev)
    _check_memory(prof, max(d.dim for d in datasets.values()),
                  max(len(set(d.train_labels.tolist())) for d in datasets.values()))
    settings = {"profile": p.profile, **prof.settings(), "datasets_used": list(datasets),
                "seed": p.seed, "device": str(dev), "data_dir": p.data_dir}
    record = {name: {"dataset": d.name, "checksums": d.checksums()}
              for name, d in datasets.items()}
    return CheckedGrid(backend, dev, datasets, plan, settings, record,
                       notes + [f"Left out: {s}." for s in plan.skipped])


def prepare(p) -> Setup:
    """Check every option of ``p`` (the study's ``Params``), load the data, plan the
    grid; write nothing."""
    from latentdyn.studies.common import get_profile

    prof = override(get_profile(PROFILES, p.profile), **{k: getattr(p, k) for k in OVERRIDES})
    g = checked_grid(prof, p)
    return Setup(prof, g.datasets, g.plan, g.device, g.settings, p.seed, p.data_dir,
                 p.workers, g.backend, g.notes, g.data_record)
