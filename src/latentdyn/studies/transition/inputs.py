"""``prepare`` of ``latentdyn transition``: the profile with the options applied, every
data set loaded, the grid planned by the conditions map's engine
(:func:`latentdyn.studies.conditions.grid.plan`) with each model's twin beside it, and
every sweep checked, before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from latentdyn.errors import ConfigError
from latentdyn.studies.conditions import grid as G
from latentdyn.studies.conditions.inputs import checked_grid, override
from latentdyn.studies.transition.profiles import PROFILES, Profile, log_steps


@dataclass
class Setup:
    prof: Profile
    datasets: dict
    plan: G.Plan
    twins: dict  # main group name -> its twin Group (disjoint images, same settings)
    device: Any
    settings: dict
    seed: int
    data_dir: str | None
    workers: int | None
    backend: dict
    notes: list
    data_record: dict

    @property
    def steps(self) -> list:
        return list(self.prof.snapshots)


def _profile(p) -> Profile:
    from latentdyn.studies.common import get_profile

    prof = get_profile(PROFILES, p.profile)
    if p.max_steps is not None:
        if isinstance(p.max_steps, bool) or not isinstance(p.max_steps, int) \
                or not 16 <= p.max_steps <= 10**8:
            raise ConfigError(f"--training-steps must be an integer in [16, 10^8], got "
                              f"{p.max_steps!r}")
        prof = replace(prof, max_steps=p.max_steps, trainings=(f"steps={p.max_steps}",),
                       snapshots=log_steps(p.max_steps))
    if p.twins and p.no_twins:
        raise ConfigError("--twins and --no-twins contradict each other; give one")
    if p.twins or p.no_twins:
        prof = replace(prof, twins=bool(p.twins))
    prof = override(prof, datasets=p.datasets, sizes=p.sizes, nz=p.nz, seeds=p.seeds,
                    trials=p.trials)
    if any(s == "all" for s in prof.sizes):
        raise ConfigError("--sizes: give numbers of training images (the twins need the "
                          "next n images of the same data set)")
    if list(prof.sizes) != sorted(prof.sizes) or len(prof.sizes) < 2:
        raise ConfigError("--sizes: give at least two sizes, ascending (the largest is "
                          "predicted from the others)")
    return prof


def _twins(plan: G.Plan, prof: Profile) -> tuple[dict, list]:
    twins, notes = {}, []
    if not prof.twins:
        return twins, notes
    for name, g in plan.groups.items():
        if 2 * g.n_train > len(g.data.train_labels):
            notes.append(f"No twin test at size {g.n_train} of {g.dataset}: it has fewer "
                         f"than {2 * g.n_train} training images.")
            continue
        twins[name] = replace(g, name=f"{name}-twin", offset=g.n_train)
    return twins, notes


def prepare(p) -> Setup:
    """Check every option of ``p``, load the data, plan the grid; write nothing."""
    prof = _profile(p)
    twins: dict = {}

    def plan_twins(plan: G.Plan) -> list:
        found, notes = _twins(plan, prof)
        twins.update(found)
        return notes

    g = checked_grid(prof, p, plan_twins)
    return Setup(prof, g.datasets, g.plan, twins, g.device, g.settings, p.seed, p.data_dir,
                 p.workers, g.backend, g.notes, g.data_record)
