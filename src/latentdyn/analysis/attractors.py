"""What repeated inference is attracted to, measured against the hierarchy of memories,
concepts and the abstract concept (paper 001), for any protocol model.

The map and its fixed points are :mod:`latentdyn.dynamics.attractors`; here they meet
the hierarchy:

* :func:`hierarchy_scale` -- the latent scale every tolerance is a fraction of (the RMS
  distance of the memories from the abstract concept) and the *capture radius* (the
  95th percentile of the distance of a memory to its nearest other memory);
* :func:`nearest_level` -- the nearest point of the hierarchy (any memory, any concept,
  the abstract concept; ties go to the finer level), or ``none`` when it is farther
  than the capture radius;
* :func:`classify_ends` -- where a trajectory ended, relative to its start: its own
  memory, another memory, its own concept, another concept, the abstract concept, or
  none (:data:`END_LEVELS`);
* :func:`basin_sweep` -- trials from corrupted training images at several noise levels:
  the fate of each (converged / cycling / drifting / unsettled), where it ended, the
  step of convergence and, with a classifier, the digit read from x(T);
* :func:`memory_stability` -- the spectral radius of J_F at training memories, concepts
  and the abstract concept; the share of memories with radius < 1 is the attractor test
  of Radhakrishnan, Belkin & Uhler (PNAS 2020) carried to the latent map; the strict
  share also asks ‖F(ξ) − ξ‖ ≤ the fixed-point tolerance (the memory is a fixed point);
* :func:`hierarchy_fixed_points` -- the fixed points reached from given starts, each
  with its nearest level of the hierarchy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from latentdyn.analysis.hierarchy import Hierarchy
from latentdyn.analysis.trials import level_seed, run_trials
from latentdyn.checks import as_float, as_generator, as_labels
from latentdyn.dynamics.attractors import (
    Fates,
    FixedPoints,
    apply_map,
    classify_fates,
    find_fixed_points,
    spectral_radii,
)
from latentdyn.errors import ConfigError
from latentdyn.models.inference import predict_labels

NEAREST = ("memory", "concept", "abstract", "none")
END_LEVELS = ("own_memory", "other_memory", "own_concept", "other_concept", "abstract", "none")


# ----------------------------------------------------------------- scale, levels
@dataclass
class Scale:
    """The latent scale of a hierarchy and its capture radius."""

    scale: float  # sqrt(mean ‖ξ_i − ξ̄_all‖²) over the memories
    radius: float  # quantile of the memories' nearest-other-memory distance
    quantile: float


def _min_dist(a: Tensor, b: Tensor, batch: int = 1024) -> tuple[Tensor, Tensor]:
    """For each row of ``a``: the smallest distance to a row of ``b`` and its index."""
    vals, idx = [], []
    b = b.double()
    for s in range(0, a.shape[0], batch):
        d = torch.cdist(a[s:s + batch].double(), b)
        v, i = d.min(1)
        vals.append(v)
        idx.append(i)
    return torch.cat(vals), torch.cat(idx)


def hierarchy_scale(hier: Hierarchy, quantile: float = 0.95, max_memories: int = 2000,
                    generator=0) -> Scale:
    """The latent scale and the capture radius (module doc), the radius measured on at
    most ``max_memories`` memories drawn with ``generator``."""
    if not 0 < quantile <= 1:
        raise ConfigError(f"quantile must lie in (0, 1], got {quantile}")
    mem = hier.memories.double()
    scale = float(torch.linalg.vector_norm(mem - hier.abstract.double(), dim=1)
                  .pow(2).mean().sqrt())
    if mem.shape[0] < 2:
        return Scale(scale, scale, quantile)
    pick = torch.randperm(mem.shape[0], generator=as_generator(generator))[:max_memories]
    parts = []
    for s in range(0, pick.numel(), 512):
        rows = pick[s:s + 512]
        d = torch.cdist(mem[rows], mem)
        d[torch.arange(rows.numel()), rows] = float("inf")  # not itself
        parts.append(d.min(1).values)
    return Scale(scale, float(torch.quantile(torch.cat(parts), quantile)), quantile)


@dataclass
class Nearest:
    """The nearest point of the hierarchy to each of n latent points."""

    level: Tensor  # (n,) int64 index into NEAREST
    distance: Tensor  # (n,) to the nearest hierarchy point
    memory: Tensor  # (n,) row of the nearest memory
    d_memory: Tensor
    concept: Tensor  # (n,) label of the nearest concept
    d_concept: Tensor
    d_abstract: Tensor

    def names(self) -> list[str]:
        return [NEAREST[int(i)] for i in self.level]


def nearest_level(z, hier: Hierarchy, radius: float) -> Nearest:
    """The nearest of every memory, every concept and the abstract concept to each row of
    ``z`` (n, nz); ``none`` beyond ``radius``."""
    z = as_float(z, "z", 2)
    if z.shape[1] != hier.nz:
        raise ConfigError(f"z has {z.shape[1]} latent units but the hierarchy has {hier.nz}")
    d_mem, mem = _min_dist(z, hier.memories)
    d_con, con = _min_dist(z, hier.concepts)
    d_abs = torch.linalg.vector_norm(z.double() - hier.abstract.double(), dim=1)
    stacked = torch.stack([d_mem, d_con, d_abs], 1)
    dist, level = stacked.min(1)
    level = torch.where(dist > radius, torch.full_like(level, NEAREST.index("none")), level)
    return Nearest(level, dist, mem, d_mem, hier.classes[con], d_con, d_abs)


@dataclass
class Ends:
    """Where each trajectory ended, relative to its own memory and label."""

    level: Tensor  # (n,) int64 index into END_LEVELS
    nearest: Nearest
    d_own_memory: Tensor  # (n,)
    d_own_concept: Tensor  # (n,)

    def names(self) -> list[str]:
        return [END_LEVELS[int(i)] for i in self.level]

    def share(self) -> dict[str, float]:
        return {lv: float((self.level == k).double().mean()) for k, lv in enumerate(END_LEVELS)}


def classify_ends(z, hier: Hierarchy, labels, memory_index, radius: float) -> Ends:
    """:data:`END_LEVELS` of each end point ``z`` (n, nz) of trials started from training
    images ``memory_index`` (n,) of ``labels`` (n,)."""
    z = as_float(z, "z", 2)
    labels, idx = as_labels(labels), as_labels(memory_index, "memory_index")
    if not labels.shape[0] == idx.shape[0] == z.shape[0]:
        raise ConfigError("z, labels and memory_index need one row per trial")
    near = nearest_level(z, hier, radius)
    own_mem = near.memory == idx
    own_con = near.concept == labels
    names = {k: END_LEVELS.index(k) for k in END_LEVELS}
    level = torch.full_like(near.level, names["none"])
    is_ = {lv: near.level == NEAREST.index(lv) for lv in ("memory", "concept", "abstract")}
    level[is_["memory"] & own_mem] = names["own_memory"]
    level[is_["memory"] & ~own_mem] = names["other_memory"]
    level[is_["concept"] & own_con] = names["own_concept"]
    level[is_["concept"] & ~own_con] = names["other_concept"]
    level[is_["abstract"]] = names["abstract"]
    zd = z.double()
    d_own_m = torch.linalg.vector_norm(zd - hier.memories[idx].double(), dim=1)
    d_own_c = torch.linalg.vector_norm(zd - hier.concepts_for(labels).double(), dim=1)
    return Ends(level, near, d_own_m, d_own_c)


# ----------------------------------------------------------------- basins by noise
@dataclass
class NoiseLevel:
    """The trials of one noise level."""

    p: float
    fates: Fates
    ends: Ends
    labels: Tensor  # (n,)
    memory_index: Tensor  # (n,)
    z_end: Tensor  # (n, nz): z(T)
    digit: Tensor | None  # (n,) the classifier's reading of x(T), or None


@dataclass
class BasinSweep:
    """Fates and ends of trials from corrupted training images, per noise level."""

    ps: list[float]
    noise: str
    steps: int
    trials: int
    tol: float
    radius: float
    levels: list[NoiseLevel]

    def fate_shares(self) -> dict[str, list[float]]:
        shares = [lv.fates.share() for lv in self.levels]
        return {f: [s[f] for s in shares] for f in shares[0]} if shares else {}

    def end_shares(self) -> dict[str, list[float]]:
        shares = [lv.ends.share() for lv in self.levels]
        return {e: [s[e] for s in shares] for e in END_LEVELS} if shares else {}

    def mean_steps(self) -> list[float]:
        return [lv.fates.mean_step() for lv in self.levels]

    def digit_kept(self) -> list[float] | None:
        """Per p, the share of trials whose x(T) the classifier reads as their label."""
        if not self.levels or self.levels[0].digit is None:
            return None
        return [float((lv.digit == lv.labels).double().mean()) for lv in self.levels]


def basin_sweep(model, hier: Hierarchy, images: Tensor, labels: Tensor, ps, trials: int, *,
                noise: str = "swap", steps: int = 80, seed: int = 0, tol: float,
                radius: float, classifier=None, label: int | None = None,
                max_period: int = 8, progress=None) -> BasinSweep:
    """``trials`` corrupted training images (of ``label``, or of any label) per noise
    level p of ``ps``, ``steps`` deterministic steps each (noise level k seeded
    ``level_seed(seed, k)``, as everywhere in :mod:`latentdyn.analysis.trials`)."""
    ps = [float(p) for p in ps]
    if not ps:
        raise ConfigError("ps needs at least one noise level")
    if steps < 1:
        raise ConfigError(f"steps must be >= 1 for a fate, got {steps}")
    out = []
    for k, p in enumerate(ps):
        idx, traj = run_trials(model, images, labels, label, trials, noise, p, steps,
                               "deterministic", level_seed(seed, k), record_x=(steps,))
        lab = hier.labels[idx]
        z_end = traj.z[:, -1]
        digit = None
        if classifier is not None:
            digit = predict_labels(classifier, traj.x_at(steps))
        out.append(NoiseLevel(p, classify_fates(traj.z, tol, max_period),
                              classify_ends(z_end, hier, lab, idx, radius), lab, idx, z_end,
                              digit))
        if progress is not None:
            progress(k + 1, len(ps))
    return BasinSweep(ps, noise, steps, trials, tol, radius, out)


# ----------------------------------------------------------------- local stability
@dataclass
class Stability:
    """Spectral radius of J_F and residual ‖F(ξ) − ξ‖ at memories, concepts, abstract."""

    memory_index: Tensor  # (n,) rows of hier.memories measured
    memory_label: Tensor
    memory_radius: Tensor
    memory_residual: Tensor
    concept_radius: Tensor  # (K,)
    concept_residual: Tensor
    abstract_radius: float
    abstract_residual: float
    fixed_tol: float

    @property
    def attractor_share(self) -> float:
        """Share of the measured memories with spectral radius < 1 (locally contracting)."""
        return float((self.memory_radius < 1).double().mean())

    @property
    def fixed_attractor_share(self) -> float:
        """Share that also are fixed points: radius < 1 and ‖F(ξ) − ξ‖ ≤ fixed_tol."""
        ok = (self.memory_radius < 1) & (self.memory_residual.double() <= self.fixed_tol)
        return float(ok.double().mean())


def memory_stability(model, hier: Hierarchy, memories: int = 500, *, fixed_tol: float,
                     generator=0, method: str = "rev", chunk_size: int = 128, device=None,
                     progress: bool = False) -> Stability:
    """Jacobians of the latent map at ``memories`` memories (drawn with ``generator``;
    all of them when there are fewer), at every concept and at the abstract concept."""
    if isinstance(memories, bool) or not isinstance(memories, int) or memories < 1:
        raise ConfigError(f"memories must be a positive integer, got {memories!r}")
    n_all = hier.memories.shape[0]
    idx = torch.randperm(n_all, generator=as_generator(generator))[:memories].sort().values
    points = torch.cat([hier.memories[idx], hier.concepts, hier.abstract[None]])
    radius = spectral_radii(model, points, method=method, chunk_size=chunk_size, device=device,
                            progress=progress)
    residual = torch.linalg.vector_norm(
        (apply_map(model, points, device=device) - points).double(), dim=1).to(points.dtype)
    n, k = idx.numel(), hier.num_classes
    return Stability(idx, hier.labels[idx], radius[:n], residual[:n], radius[n:n + k],
                     residual[n:n + k], float(radius[-1]), float(residual[-1]),
                     float(fixed_tol))


# ----------------------------------------------------------------- fixed points
@dataclass
class FixedPointMap:
    """The fixed points reached from the starts, each with its nearest level."""

    fixed: FixedPoints
    nearest: Nearest  # (m,)
    n_starts: int

    @property
    def n(self) -> int:
        return self.fixed.n

    def level_counts(self) -> dict[str, int]:
        return {lv: int((self.nearest.level == k).sum()) for k, lv in enumerate(NEAREST)}


def hierarchy_fixed_points(model, hier: Hierarchy, starts, *, tol: float, radius: float,
                           candidate_tol: float | None = None,
                           dedup_tol: float | None = None, max_steps: int = 500,
                           method: str = "rev", chunk_size: int = 128, device=None,
                           progress: bool = False) -> FixedPointMap:
    """:func:`~latentdyn.dynamics.attractors.find_fixed_points` from ``starts``, and the
    nearest level of the hierarchy to each fixed point."""
    starts = as_float(starts, "starts", 2)
    fixed = find_fixed_points(model, starts, max_steps=max_steps, tol=tol,
                              candidate_tol=candidate_tol, dedup_tol=dedup_tol,
                              method=method, chunk_size=chunk_size, device=device,
                              progress=progress)
    points = fixed.points if fixed.n else torch.empty(0, hier.nz)
    near = nearest_level(points, hier, radius) if fixed.n else _no_nearest()
    return FixedPointMap(fixed, near, int(starts.shape[0]))


def _no_nearest() -> Nearest:
    e, ei = torch.empty(0, dtype=torch.float64), torch.empty(0, dtype=torch.int64)
    return Nearest(ei, e, ei, e, ei, e, e)


# ----------------------------------------------------------------- all of it
CANDIDATE_FACTOR, DEDUP_FACTOR = 50, 10  # candidate and merge radii, multiples of tol


@dataclass
class AttractorAnalysis:
    """Everything :func:`analyse_attractors` measured, and the tolerances it used."""

    scale: Scale
    tol: float  # absolute: relative tolerance × scale
    basins: BasinSweep
    stability: Stability
    fixed: FixedPointMap
    start_counts: dict  # where the fixed-point starts came from


def analyse_attractors(model, hier: Hierarchy, images: Tensor, labels: Tensor, *, ps,
                       trials: int, noise: str = "swap", steps: int = 80,
                       label: int | None = None, memories: int = 500, starts: int = 1000,
                       tol: float = 1e-3, max_steps: int = 500, method: str = "rev",
                       seed: int = 0, classifier=None, device=None,
                       timer=None) -> AttractorAnalysis:
    """Basins over ``ps``, stability at ``memories`` memories, and the fixed points
    reached from at most ``starts`` points (every concept, the abstract concept, the
    measured memories and the trials' end points z(T), drawn with ``seed``).

    ``tol`` is relative to the latent scale: a step below ``tol`` · scale has converged;
    fixed points are accepted at that residual, candidates taken below
    :data:`CANDIDATE_FACTOR` times it and merged within :data:`DEDUP_FACTOR` times it,
    which is also the tolerance at which a memory counts as a fixed point. ``timer``
    (name -> context manager) times each part."""
    import contextlib

    timer = timer or (lambda name: contextlib.nullcontext())
    if not 0 < tol < 1:
        raise ConfigError(f"tol must lie in (0, 1) (a fraction of the latent scale), got {tol}")
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
        raise ConfigError(f"starts must be a positive integer, got {starts!r}")
    scale = hierarchy_scale(hier, generator=seed)
    abs_tol = tol * scale.scale
    with timer("basins"):
        basins = basin_sweep(model, hier, images, labels, ps, trials, noise=noise,
                             steps=steps, seed=seed, tol=abs_tol, radius=scale.radius,
                             classifier=classifier, label=label)
    with timer("stability"):
        stab = memory_stability(model, hier, memories, fixed_tol=DEDUP_FACTOR * abs_tol,
                                generator=seed + 1, method=method, device=device)
    pools = {"concepts": hier.concepts, "abstract": hier.abstract[None],
             "memories": hier.memories[stab.memory_index],
             "trial_ends": torch.cat([lv.z_end for lv in basins.levels])}
    first = torch.cat([pools["concepts"], pools["abstract"]])
    rest = torch.cat([pools["memories"], pools["trial_ends"]])
    keep = torch.randperm(rest.shape[0], generator=as_generator(seed + 2))
    keep = keep[:max(0, starts - first.shape[0])].sort().values
    n_mem = pools["memories"].shape[0]
    counts = {"concepts": hier.num_classes, "abstract": 1,
              "memories": int((keep < n_mem).sum()), "trial_ends": int((keep >= n_mem).sum())}
    with timer("fixed_points"):
        fixed = hierarchy_fixed_points(model, hier, torch.cat([first, rest[keep]]),
                                       tol=abs_tol, radius=scale.radius,
                                       candidate_tol=CANDIDATE_FACTOR * abs_tol,
                                       dedup_tol=DEDUP_FACTOR * abs_tol, max_steps=max_steps,
                                       method=method, device=device)
    return AttractorAnalysis(scale, abs_tol, basins, stab, fixed, counts)
