"""The statistics of one cell of the conditions map, as plain functions of a trained
model and the training set it saw.

Per model (they do not depend on the noise or the mode): active units (C2), the share
of training memories at which the latent map contracts (spectral radius < 1: a local
contraction, not an attractor test, since a memory is rarely a fixed point; called the
"attractor share" before issue 19), and the share that are attractors (fixed points
with spectral radius < 1).

Per cell (model × noise × mode):

* the dip (C1): ``trials`` corrupted training images of every label at p = ``p_dip``
  (the start images and noise of :func:`latentdyn.analysis.trials.concept_time_course`,
  all labels run as one batch); the labels whose mean distance to their concept dips
  (the rule of :func:`latentdyn.analysis.dip_statistic_from_trials`), the mean depth
  d(0) − d(t*) absolute and relative to d(0), the median t*, and the labels whose
  trajectories end closer to their concept than they started (d(T) < d(0));
* the fates of those trajectories (deterministic mode only; a sampled chain never
  comes to rest): the converged, cycling, drifting and unsettled shares, which sum to
  1 (:func:`latentdyn.dynamics.attractors.classify_fates`: converged means at rest over
  the last steps; the share whose last step is below the tolerance, the rule before
  issue 19, beside it), and the mean step of convergence;
* the stages (C5), by the rule of ``reproduce nagano2017``
  (:func:`latentdyn.analysis.stages.stages_resolved`): per label, ``trials_stages``
  corrupted training images of that label per noise level of ``ps`` (every label and
  level as one batch); the stages read from the minimum over t >= 1, holding when the
  closest levels run memory → concept → abstract and each stage leads the runner-up by
  more than :data:`~latentdyn.analysis.stages.STAGE_MARGIN_SEM` paired SEMs at one of
  its noise levels. The cell counts the labels for which it holds; each level's width is
  the share of the noise levels at which it is closest, averaged over labels. Beside it,
  the rule before issue 19 on the same trials: every label pooled, the minimum over
  t >= 0, no margin.

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
    stage_intervals,
    stages_ordered,
)
from latentdyn.analysis.attractors import DEDUP_FACTOR, hierarchy_scale, memory_stability
from latentdyn.analysis.stages import STAGE_START, hierarchy_distances, minima, stages_resolved
from latentdyn.analysis.trials import corrupted_trials, level_seed, stage_reading
from latentdyn.dynamics import run_dynamics
from latentdyn.dynamics.attractors import FATES, classify_fates
from latentdyn.studies.conditions.profiles import Profile

DIP_SEED_STRIDE, STAGES_SEED, STABILITY_SEED = 101, 5000, 77
TOL = 1e-3  # convergence: a step below this fraction of the latent scale


@dataclass
class ModelStats:
    active_units: int
    contraction_share: float  # memories with spectral radius < 1 (not an attractor test)
    fixed_attractor_share: float  # memories that are fixed points with radius < 1
    memory_radius_median: float
    latent_scale: float


@dataclass
class CellStats:
    classes: int
    dip_count: int
    dip_count_old: int  # the dip rule before issue 19 (t* chosen on the trials it tests)
    dip_depth: float
    dip_depth_rel: float
    t_star_median: float
    below_start: int  # labels with d(T) < d(0)
    converged_share: float | None  # at rest over the last steps
    drifting_share: float | None
    cycling_share: float | None
    unsettled_share: float | None  # the four shares sum to 1
    converged_share_old: float | None  # last step below tol (the rule before issue 19)
    mean_convergence_step: float | None
    stages_count: int  # labels for which C5 holds (the rule of reproduce nagano2017)
    stages_labels: str  # those labels
    width_memory: float  # share of the noise levels at which it is closest, mean over labels
    width_concept: float
    width_abstract: float
    stages_old: str  # the rule before issue 19: labels pooled, min over t >= 0, no margin
    stages_ordered_old: bool

    @property
    def dip_all(self) -> bool:
        return self.dip_count == self.classes

    @property
    def stages_all(self) -> bool:
        """C5 holds for every label, as C1 is asked of every label."""
        return self.stages_count == self.classes

    @property
    def picture_holds(self) -> bool:
        """The paper's picture: a dip for every label (C1) and the stages (C5) for every
        label."""
        return self.dip_all and self.stages_all

    @property
    def picture_holds_old(self) -> bool:
        """The picture by the rules before issue 19: C1's dip with t* chosen on the trials
        it tests, and C5 pooled over labels, minima over t >= 0, no margin."""
        return self.dip_count_old == self.classes and self.stages_ordered_old


def model_stats(model, hier, prof: Profile, seed: int) -> ModelStats:
    """Active units and the attractor shares of one model (module doc)."""
    _, n_active = active_units(hier.memories)
    scale = hierarchy_scale(hier, generator=seed)
    stab = memory_stability(model, hier, prof.memories,
                            fixed_tol=DEDUP_FACTOR * TOL * scale.scale,
                            generator=seed + STABILITY_SEED)
    return ModelStats(n_active, stab.contraction_share, stab.fixed_attractor_share,
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
           "dip_count_old": sum(bool(d["old_has_dip"]) for d in dips.values()),
           "dip_depth": sum(d["depth"] for d in dips.values()) / len(dips),
           "dip_depth_rel": sum(d["depth"] / d["d0"] if d["d0"] > 0 else 0.0
                                for d in dips.values()) / len(dips),
           "t_star_median": float(median(d["t_star"] for d in dips.values())),
           "below_start": sum(d["d_T"] < d["d0"] for d in dips.values())}
    keys = ("converged_share", "drifting_share", "cycling_share", "unsettled_share",
            "converged_share_old", "mean_convergence_step")
    if fates:
        n = sum(f.n for f in fates)
        shares = {f"{k}_share": sum(f.share()[k] * f.n for f in fates) / n for k in FATES}
        old = sum(float(f.last_step_below.double().sum()) for f in fates) / n
        steps = [float(s) for f in fates for s in f.step.tolist() if s >= 0]
        out.update(shares, converged_share_old=old,
                   mean_convergence_step=sum(steps) / len(steps) if steps else None)
    else:
        out.update({k: None for k in keys})
    return out


def _stages(model, hier, images, labels, prof: Profile, noise: str, mode: str,
            seed: int) -> dict:
    classes, ps = [int(c) for c in hier.classes], list(prof.ps)
    parts = [corrupted_trials(images, labels, c, prof.trials_stages, noise, p,
                              level_seed(seed + STAGES_SEED + DIP_SEED_STRIDE * (c + 1), k))
             for c in classes for k, p in enumerate(ps)]
    zs = _batched(model, parts, prof, mode, seed + STAGES_SEED + 1)
    held, widths = [], {lv: [] for lv in LEVELS}
    pooled: list[list[dict]] = [[] for _ in ps]  # per p, every label's minima over t >= 0
    for i, c in enumerate(classes):
        mins = []
        for k in range(len(ps)):
            (idx, _), z = parts[i * len(ps) + k], zs[i * len(ps) + k]
            dist = hierarchy_distances(z, hier, idx)
            mins.append(minima(dist, STAGE_START))
            pooled[k].append(minima(dist, 0))
        reading = stage_reading(ps, mins, STAGE_START)
        if stages_resolved(reading):
            held.append(c)
        for lv in LEVELS:
            widths[lv].append(reading.closest.count(lv) / len(ps))
    old = {lv: [float(torch.cat([m[lv] for m in per_p]).double().mean()) for per_p in pooled]
           for lv in LEVELS}
    closest = closest_level(old["memory"], old["concept"], old["abstract"])
    return {"stages_count": len(held), "stages_labels": " ".join(map(str, held)),
            **{f"width_{lv}": sum(w) / len(w) for lv, w in widths.items()},
            "stages_old": " → ".join(f"{lv} [{a:g}, {b:g}]"
                                     for lv, a, b in stage_intervals(ps, closest)),
            "stages_ordered_old": stages_ordered(closest)}


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
        out.update(dip_all=stats.dip_all, stages_all=stats.stages_all,
                   picture_holds=stats.picture_holds,
                   picture_holds_old=stats.picture_holds_old)
    return out
