"""The statistics of one cell of the conditions map, as plain functions of a trained
model and the training set it saw.

Per model (they do not depend on the noise or the mode): active units (C2), the share
of training memories whose Jacobian of the latent map has spectral radius < 1 (the
attractor share) and the strict share that also are fixed points.

Per cell (model × noise × mode):

* the dip (C1): ``trials`` corrupted training images of every label at p = ``p_dip``
  (the start images and noise of :func:`latentdyn.analysis.trials.concept_time_course`,
  all labels run as one batch); the labels whose mean distance to their concept dips
  (the rule of :func:`latentdyn.analysis.dip_statistic_from_trials`), the mean depth
  d(0) − d(t*) absolute and relative to d(0), the median t*, and the labels whose
  trajectories end closer to their concept than they started (d(T) < d(0));
* the fates of those trajectories (deterministic mode only; a sampled chain never
  comes to rest): the converged, drifting and cycling shares and the mean step of
  convergence;
* the stages (C5): ``trials_stages`` corrupted training images of any label per noise
  level of ``ps`` (all levels as one batch); the closest level of min_t distance
  (over t >= 0, eq. 13 as written) at each p, whether the runs are memory → concept →
  abstract (:func:`latentdyn.analysis.stages_ordered`), and each level's width: the
  share of the noise levels at which it is closest.

Every experiment has its own seed (offsets of the cell's seed), as in the studies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import median

import torch

from latentdyn.analysis import (
    LEVELS,
    active_units,
    closest_level,
    dip_statistic_from_trials,
    distance_to,
    hierarchy_min_distances,
    level_mean_sem,
    stage_intervals,
    stages_ordered,
)
from latentdyn.analysis.attractors import DEDUP_FACTOR, hierarchy_scale, memory_stability
from latentdyn.analysis.trials import corrupted_trials, level_seed
from latentdyn.dynamics import run_dynamics
from latentdyn.dynamics.attractors import classify_fates
from latentdyn.studies.conditions.profiles import Profile

DIP_SEED_STRIDE, STAGES_SEED, STABILITY_SEED = 101, 5000, 77
TOL = 1e-3  # convergence: a step below this fraction of the latent scale


@dataclass
class ModelStats:
    active_units: int
    attractor_share: float
    fixed_attractor_share: float
    memory_radius_median: float
    latent_scale: float


@dataclass
class CellStats:
    classes: int
    dip_count: int
    dip_depth: float
    dip_depth_rel: float
    t_star_median: float
    below_start: int  # labels with d(T) < d(0)
    converged_share: float | None
    drifting_share: float | None
    cycling_share: float | None
    mean_convergence_step: float | None
    stages: str
    stages_ordered: bool
    width_memory: float
    width_concept: float
    width_abstract: float

    @property
    def dip_all(self) -> bool:
        return self.dip_count == self.classes

    @property
    def picture_holds(self) -> bool:
        """The paper's picture: a dip for every label (C1) and the stages in order (C5)."""
        return self.dip_all and self.stages_ordered


def model_stats(model, hier, prof: Profile, seed: int) -> ModelStats:
    """Active units and the attractor shares of one model (module doc)."""
    _, n_active = active_units(hier.memories)
    scale = hierarchy_scale(hier, generator=seed)
    stab = memory_stability(model, hier, prof.memories,
                            fixed_tol=DEDUP_FACTOR * TOL * scale.scale,
                            generator=seed + STABILITY_SEED)
    return ModelStats(n_active, stab.attractor_share, stab.fixed_attractor_share,
                      float(stab.memory_radius.median()), scale.scale)


def _batched(model, parts: list, prof: Profile, mode: str, seed: int):
    """One run of the dynamics over the trials of every part (their start images and
    noise drawn as :func:`~latentdyn.analysis.trials.corrupted_trials` draws them), so
    that a cell's experiments run as two large batches; the trajectory of each part."""
    x0 = torch.cat([x for _, x in parts])
    z = run_dynamics(model, x0, steps=prof.steps, mode=mode, generator=seed).z
    return list(torch.split(z, [x.shape[0] for _, x in parts]))


def _dip_and_fates(model, hier, images, labels, prof: Profile, noise: str, mode: str,
                   seed: int, tol: float) -> dict:
    classes = [int(c) for c in hier.classes]
    parts = [corrupted_trials(images, labels, c, prof.trials, noise, prof.p_dip,
                              seed + DIP_SEED_STRIDE * (c + 1)) for c in classes]
    zs = _batched(model, parts, prof, mode, seed + 1)
    dips = {c: dip_statistic_from_trials(distance_to(z, hier.concept(c)))
            for c, z in zip(classes, zs)}
    fates = [classify_fates(z, tol) for z in zs] if mode == "deterministic" else []
    out = {"classes": len(classes), "dip_count": sum(d["has_dip"] for d in dips.values()),
           "dip_depth": sum(d["depth"] for d in dips.values()) / len(dips),
           "dip_depth_rel": sum(d["depth"] / d["d0"] if d["d0"] > 0 else 0.0
                                for d in dips.values()) / len(dips),
           "t_star_median": float(median(d["t_star"] for d in dips.values())),
           "below_start": sum(d["d_T"] < d["d0"] for d in dips.values())}
    keys = ("converged_share", "drifting_share", "cycling_share", "mean_convergence_step")
    if fates:
        n = sum(f.n for f in fates)
        shares = {k: sum(f.share()[k] * f.n for f in fates) / n
                  for k in ("converged", "drifting", "cycling")}
        steps = [float(s) for f in fates for s in f.step.tolist() if s >= 0]
        out.update(converged_share=shares["converged"], drifting_share=shares["drifting"],
                   cycling_share=shares["cycling"],
                   mean_convergence_step=sum(steps) / len(steps) if steps else None)
    else:
        out.update({k: None for k in keys})
    return out


def _stages(model, hier, images, labels, prof: Profile, noise: str, mode: str,
            seed: int) -> dict:
    parts = [corrupted_trials(images, labels, None, prof.trials_stages, noise, p,
                              level_seed(seed + STAGES_SEED, k))
             for k, p in enumerate(prof.ps)]
    zs = _batched(model, parts, prof, mode, seed + STAGES_SEED + 1)
    means = {lv: [] for lv in LEVELS}
    for (idx, _), z in zip(parts, zs):
        for lv, (m, _) in level_mean_sem(hierarchy_min_distances(z, hier, idx)).items():
            means[lv].append(m)
    closest = closest_level(means["memory"], means["concept"], means["abstract"])
    runs = stage_intervals(list(prof.ps), closest)
    return {"stages": " → ".join(f"{lv} [{a:g}, {b:g}]" for lv, a, b in runs),
            "stages_ordered": stages_ordered(closest),
            **{f"width_{lv}": closest.count(lv) / len(closest) for lv in LEVELS}}


def cell_stats(model, hier, images, labels, prof: Profile, noise: str, mode: str,
               seed: int, latent_scale: float) -> CellStats:
    """The dip, the fates and the stages of one cell (module doc)."""
    found = _dip_and_fates(model, hier, images, labels, prof, noise, mode, seed,
                           TOL * latent_scale)
    found.update(_stages(model, hier, images, labels, prof, noise, mode, seed))
    return CellStats(**found)


def to_dict(stats) -> dict:
    out = asdict(stats)
    if isinstance(stats, CellStats):
        out.update(dip_all=stats.dip_all, picture_holds=stats.picture_holds)
    return out
