"""The repeated-inference experiments of Nagano et al. (2017), as plain functions.

Each takes a model offering encode/decode, its :class:`~latentdyn.analysis.Hierarchy`
and the training images the trials start from, and returns plain tensors and numbers.
``latentdyn reproduce nagano2017`` and ``latentdyn dynamics`` are thin layers over them.

Trials start from *training* images (as in the paper: "noise was added to an image of
the training dataset"), so each trial has its own memory ξ⁽ⁱ⁾. Every experiment draws
its trials and noise from its own seeded generator, so results do not depend on which
other experiments ran before: a batch of trials seeded ``s`` draws its start images
and noise from seed ``s`` and its dynamics from ``s + 1``; noise level ``k`` of a sweep
seeded ``s`` is seeded :func:`level_seed` ``(s, k)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from latentdyn.checks import as_generator
from latentdyn.analysis import (
    Hierarchy,
    closest_level,
    dip_statistic_from_trials,
    distance_to,
    hierarchy_min_distances,
    level_mean_sem,
    mean_sem,
    stage_intervals,
    stages_ordered,
)
from latentdyn.data.corruption import corrupt
from latentdyn.dynamics import Trajectory, run_dynamics
from latentdyn.errors import ConfigError

LEVEL_SEED_STRIDE = 7919  # a prime: noise levels of one sweep never share a seed
LEVELS = ("memory", "concept", "abstract")


def level_seed(seed: int, k: int) -> int:
    """The seed of the ``k``-th noise level of a sweep seeded ``seed``."""
    return seed + LEVEL_SEED_STRIDE * k


# ------------------------------------------------------------------------ trials
def select_trials(labels: Tensor, label: int, n: int,
                  generator: torch.Generator | int) -> Tensor:
    """Indices of ``n`` training images of ``label``: drawn without replacement when
    there are enough of them, with replacement otherwise."""
    generator = as_generator(generator)
    pool = (labels == label).nonzero().flatten()
    if pool.numel() == 0:
        raise ConfigError(f"no training images with label {label}")
    if n <= pool.numel():
        return pool[torch.randperm(pool.numel(), generator=generator)[:n]]
    return pool[torch.randint(pool.numel(), (n,), generator=generator)]


def select_any_trials(labels: Tensor, n: int, generator: torch.Generator | int) -> Tensor:
    """Indices of ``n`` training images of any label: a random permutation's first
    ``n``, or (when there are fewer images) ``n`` drawn with replacement after it."""
    generator = as_generator(generator)
    idx = torch.randperm(len(labels), generator=generator)[:n]
    if n > len(labels):
        idx = torch.randint(len(labels), (n,), generator=generator)
    return idx


def corrupted_trials(images: Tensor, labels: Tensor, label: int | None, n: int, noise: str,
                     p: float, seed: int, channels: int = 1) -> tuple[Tensor, Tensor]:
    """(indices, corrupted images) of ``n`` trials from training images of ``label``
    (of any label when ``label`` is None); images of ``channels`` channels are corrupted
    channel by channel."""
    gen = torch.Generator().manual_seed(seed)
    if label is None:
        idx = select_any_trials(labels, n, gen)
    else:
        idx = select_trials(labels, label, n, gen)
    return idx, corrupt(images[idx], kind=noise, p=p, generator=gen, channels=channels)


def run_trials(model, images: Tensor, labels: Tensor, label: int | None, n: int, noise: str,
               p: float, steps: int, mode: str, seed: int,
               record_x=(), channels: int = 1) -> tuple[Tensor, Trajectory]:
    """(indices, trajectory) of ``n`` trials: :func:`corrupted_trials` seeded ``seed``,
    then ``steps`` steps of repeated inference seeded ``seed + 1``."""
    idx, x0 = corrupted_trials(images, labels, label, n, noise, p, seed, channels)
    traj = run_dynamics(model, x0, steps=steps, mode=mode, record_x=record_x, generator=seed + 1)
    return idx, traj


# ------------------------------------------------------------------- Fig. 2: dip
@dataclass
class TimeCourse:
    """Distance of trajectories to their concept, ‖z(t) − ξ̄_label‖₂ (Fig. 2)."""

    label: int
    distances: Tensor  # (trials, T+1)
    mean: Tensor  # (T+1,)
    sem: Tensor  # (T+1,)
    dip: dict  # see analysis.dip_statistic_from_trials
    trajectory: Trajectory | None = None
    indices: Tensor | None = None


def concept_time_course(model, hierarchy: Hierarchy, images: Tensor, labels: Tensor, label: int,
                        trials: int, p: float, noise: str = "swap", steps: int = 80,
                        mode: str = "deterministic", seed: int = 0, keep: bool = False,
                        record_x=()) -> TimeCourse:
    """Fig. 2 for one label: trials from corrupted training images of ``label``."""
    idx, traj = run_trials(model, images, labels, label, trials, noise, p, steps, mode, seed,
                           record_x)
    d = distance_to(traj.z, hierarchy.concept(label))
    mean, sem = mean_sem(d)
    return TimeCourse(label, d, mean, sem, dip_statistic_from_trials(d),
                      traj if keep else None, idx)


# ---------------------------------------------------------------- Fig. 4: stages
READINGS = {"t>=0": 0, "t>=1": 1}  # eq. 13 read literally; what repeated inference reaches


@dataclass
class StageReading:
    """Fig. 4 under one reading of min_t (over t >= ``start``): per noise level the mean
    and SEM of each level's minimum, the closest level, the stages (runs of it), their
    widths, the paired differences between levels (``{"a-b": (mean, sem)}`` per p), the
    closest level's margin in paired SEMs per p, and the per-trial minima (level ->
    (P, n) array) for resampling."""

    start: int
    mean: dict[str, list[float]]
    sem: dict[str, list[float]]
    closest: list[str]
    stages: list[tuple[str, float, float]]
    ordered: bool
    widths: list[dict]
    differences: list[dict]
    margins: list[float]
    mins: dict


@dataclass
class NoiseSweep:
    """min_t ‖z(t) − ξ‖ for ξ in {own memory, concept, abstract} against p (Fig. 4).

    ``mean``, ``sem``, ``closest``, ``stages``, ``ordered`` are those of the minimum over
    t >= 0 (the paper's eq. 13); ``readings`` holds both readings (``"t>=0"``,
    ``"t>=1"``) in full, and ``at_start[level][k]`` the share of trials at noise level k
    whose minimum over t >= 0 is at t = 0.
    """

    ps: list[float]
    label: int
    mean: dict[str, list[float]] = field(default_factory=dict)  # level -> per p
    sem: dict[str, list[float]] = field(default_factory=dict)
    closest: list[str] = field(default_factory=list)
    stages: list[tuple[str, float, float]] = field(default_factory=list)
    ordered: bool = False
    readings: dict = field(default_factory=dict)
    at_start: dict = field(default_factory=dict)
    trials: int = 0


def stage_reading(ps, per_level_mins: list[dict], start: int) -> StageReading:
    """The :class:`StageReading` of per-noise-level minima (one ``{level: (n,)}`` per p)."""
    from latentdyn.analysis.stages import closest_margin, paired_differences, stage_widths

    mean: dict = {}
    sem: dict = {}
    for mins in per_level_mins:
        for level, (m, s) in level_mean_sem(mins).items():
            mean.setdefault(level, []).append(m)
            sem.setdefault(level, []).append(s)
    closest = closest_level(mean["memory"], mean["concept"], mean["abstract"])
    arrays = {lv: torch.stack([m[lv] for m in per_level_mins]).numpy() for lv in LEVELS}
    return StageReading(start, mean, sem, closest, stage_intervals(ps, closest),
                        stages_ordered(closest), stage_widths(ps, closest),
                        [paired_differences(m) for m in per_level_mins],
                        [closest_margin(m)[1] for m in per_level_mins], arrays)


def noise_sweep(model, hierarchy: Hierarchy, images: Tensor, labels: Tensor, label: int,
                ps, trials: int, noise: str = "swap", steps: int = 80,
                mode: str = "deterministic", seed: int = 0, progress=None) -> NoiseSweep:
    """Fig. 4: for each p, ``trials`` corrupted training images of ``label``; the
    minimum over t of the distance to each trial's own memory, to the concept of
    ``label`` and to the abstract concept, over t >= 0 and over t >= 1."""
    from latentdyn.analysis.stages import hierarchy_distances, minima

    ps = [float(p) for p in ps]
    out = NoiseSweep(ps=ps, label=label, trials=trials)
    per_reading: dict = {name: [] for name in READINGS}
    for k, p in enumerate(ps):
        idx, traj = run_trials(model, images, labels, label, trials, noise, p, steps, mode,
                               level_seed(seed, k))
        dist = hierarchy_distances(traj.z, hierarchy, idx)
        for name, start in READINGS.items():
            per_reading[name].append(minima(dist, start) if steps >= start else minima(dist))
        for level, d in dist.items():
            out.at_start.setdefault(level, []).append(float((d.argmin(dim=1) == 0)
                                                            .double().mean()))
        if progress is not None:
            progress(k + 1, len(ps))
    out.readings = {name: stage_reading(ps, per_reading[name], start)
                    for name, start in READINGS.items()}
    lit = out.readings["t>=0"]
    out.mean, out.sem, out.closest = lit.mean, lit.sem, lit.closest
    out.stages, out.ordered = lit.stages, lit.ordered
    return out


# ------------------------------------------------------- the export of `dynamics`
def trajectories_by_noise(model, hierarchy: Hierarchy, images: Tensor, labels: Tensor, ps,
                          trials: int, noise: str = "swap", steps: int = 80,
                          mode: str = "deterministic", seed: int = 0,
                          label: int | None = None, progress=None, channels: int = 1) -> dict:
    """Trajectories from ``trials`` corrupted training images per noise level, with
    their analyses, as a dict of numpy arrays (what ``latentdyn dynamics`` exports).

    Trials start from training images of ``label``, or from all training images when
    ``label`` is None; images of ``channels`` channels are corrupted channel by channel.
    Keys: ``ps``, ``z`` (P, n, T+1, nz), ``memory_index`` and
    ``labels`` (P, n), ``d_concept`` (P, n, T+1) to each trial's own concept,
    ``min_memory`` / ``min_concept`` / ``min_abstract`` (P, n), their means and SEMs
    (P,), ``closest`` (P,) and the hierarchy (``concepts``, ``abstract``, ``classes``).
    """
    import numpy as np

    ps = [float(p) for p in ps]
    out: dict = {"ps": np.asarray(ps), "concepts": hierarchy.concepts.numpy(),
                 "abstract": hierarchy.abstract.numpy(), "classes": hierarchy.classes.numpy()}
    per_level = [_level_arrays(model, hierarchy, images, labels, label, trials, noise, p, steps,
                               mode, level_seed(seed, k), progress, (k + 1, len(ps)), channels)
                 for k, p in enumerate(ps)]
    for key in ("z", "memory_index", "labels", "d_concept"):
        out[key] = np.stack([level[key] for level in per_level])
    for level in LEVELS:
        arr = np.stack([values[f"min_{level}"] for values in per_level])
        out[f"min_{level}"] = arr
        out[f"min_{level}_mean"] = arr.mean(axis=1)
        out[f"min_{level}_sem"] = arr.std(axis=1, ddof=1) / np.sqrt(arr.shape[1]) \
            if arr.shape[1] > 1 else np.zeros(arr.shape[0])
    out["closest"] = np.asarray(closest_level(out["min_memory_mean"], out["min_concept_mean"],
                                              out["min_abstract_mean"]))
    return out


def _level_arrays(model, hierarchy: Hierarchy, images: Tensor, labels: Tensor,
                  label: int | None, trials: int, noise: str, p: float, steps: int, mode: str,
                  seed: int, progress, done: tuple[int, int], channels: int = 1) -> dict:
    """One noise level of :func:`trajectories_by_noise`, as numpy arrays."""
    idx, traj = run_trials(model, images, labels, label, trials, noise, p, steps, mode, seed,
                           channels=channels)
    lab = hierarchy.labels[idx]
    arrays = {"z": traj.z.numpy(), "memory_index": idx.numpy(), "labels": lab.numpy(),
              "d_concept": distance_to(traj.z, hierarchy.concepts_for(lab)).numpy()}
    for level, v in hierarchy_min_distances(traj.z, hierarchy, idx).items():
        arrays[f"min_{level}"] = v.numpy()
    if progress is not None:
        progress(*done)
    return arrays
