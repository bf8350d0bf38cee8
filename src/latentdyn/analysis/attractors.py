"""What repeated inference is attracted to, measured against the hierarchy of memories,
concepts and the abstract concept (paper 001), for any protocol model.

The map and its fixed points are :mod:`latentdyn.dynamics.attractors`; which level of
the hierarchy captures a point, each against a baseline of its own, is
:mod:`latentdyn.analysis.capture` (re-exported here). Here they meet:

* :func:`basin_sweep` -- trials from corrupted training images at several noise levels:
  the fate of each (converged / cycling / drifting / unsettled), where it ended (own
  memory, another memory, own concept, another concept, the abstract concept, none:
  :data:`END_LEVELS`), under the capture rule and, beside it, the single radius of the
  rule before issue 19; the step of convergence and, with a classifier, the digit read
  from x(T);
* :func:`memory_stability` -- the spectral radius of J_F and the residual ‖F(ξ) − ξ‖ at
  training memories, concepts and the abstract concept. ρ < 1 at a memory that is not a
  fixed point is a *local contraction* there, not an attractor: the share of memories
  with ρ < 1 is reported as that (``contraction_share``); the attractor test of
  Radhakrishnan, Belkin & Uhler (PNAS 2020) asks for a fixed point with ρ < 1, which
  ``fixed_attractor_share`` (memories that are fixed points and contract) and the
  fixed points' own radii measure;
* :func:`hierarchy_fixed_points` -- the fixed points reached from given starts, each
  with the level that captures it and its spectral radius
  (:meth:`FixedPointMap.by_level`), and :func:`memories_at_attractors`, the share of
  measured memories with an attracting fixed point within the memory capture radius.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from latentdyn.analysis.capture import (
    CAPTURE_QUANTILE,
    END_LEVELS,
    NEAREST,
    OLD_QUANTILE,
    Capture,
    Ends,
    HeldOut,
    Nearest,
    Scale,
    as_capture,
    classify_ends,
    empty_nearest,
    held_out_levels,
    hierarchy_scale,
    nearest_level,
)
from latentdyn.analysis.hierarchy import Hierarchy
from latentdyn.analysis.trials import level_seed, run_trials
from latentdyn.checks import as_float, as_generator
from latentdyn.dynamics.attractors import (
    FATES,
    Fates,
    FixedPoints,
    apply_map,
    classify_fates,
    find_fixed_points,
    spectral_radii,
)
from latentdyn.errors import ConfigError
from latentdyn.models.inference import predict_labels

# ----------------------------------------------------------------- basins by noise
@dataclass
class NoiseLevel:
    """The trials of one noise level."""

    p: float
    fates: Fates
    ends: Ends  # the capture rule
    labels: Tensor  # (n,)
    memory_index: Tensor  # (n,)
    z_end: Tensor  # (n, nz): z(T)
    digit: Tensor | None  # (n,) the classifier's reading of x(T), or None
    ends_old: Ends | None = None  # the single radius of the rule before issue 19


def _per_p(shares: list[dict], keys) -> dict[str, list[float]]:
    return {k: [s[k] for s in shares] for k in keys} if shares else {}


@dataclass
class BasinSweep:
    """Fates and ends of trials from corrupted training images, per noise level."""

    ps: list[float]
    noise: str
    steps: int
    trials: int
    tol: float
    capture: Capture
    levels: list[NoiseLevel]
    old_radius: float | None = None

    @property
    def radius(self) -> float:
        """The memory level's capture radius."""
        return self.capture.memory

    def fate_shares(self) -> dict[str, list[float]]:
        """Per fate, its share at each p (the four sum to 1 at every p)."""
        return _per_p([lv.fates.share() for lv in self.levels], FATES)

    def converged_old(self) -> list[float]:
        """Per p, the share whose last step is below tol: "converged" before issue 19."""
        return [float(lv.fates.last_step_below.double().mean()) for lv in self.levels]

    def end_shares(self) -> dict[str, list[float]]:
        return _per_p([lv.ends.share() for lv in self.levels], END_LEVELS)

    def end_shares_old(self) -> dict[str, list[float]] | None:
        if not self.levels or self.levels[0].ends_old is None:
            return None
        return _per_p([lv.ends_old.share() for lv in self.levels], END_LEVELS)

    def own_memory_chance(self) -> list[float]:
        """Per p, the own-memory share expected if ends were unrelated to starts."""
        return [lv.ends.own_memory_chance() for lv in self.levels]

    def mean_steps(self) -> list[float]:
        return [lv.fates.mean_step() for lv in self.levels]

    def digit_kept(self) -> list[float] | None:
        """Per p, the share of trials whose x(T) the classifier reads as their label."""
        if not self.levels or self.levels[0].digit is None:
            return None
        return [float((lv.digit == lv.labels).double().mean()) for lv in self.levels]


def basin_sweep(model, hier: Hierarchy, images: Tensor, labels: Tensor, ps, trials: int, *,
                noise: str = "swap", steps: int = 80, seed: int = 0, tol: float,
                capture, old_radius: float | None = None, classifier=None,
                label: int | None = None, max_period: int = 8, progress=None) -> BasinSweep:
    """``trials`` corrupted training images (of ``label``, or of any label) per noise
    level p of ``ps``, ``steps`` deterministic steps each (noise level k seeded
    ``level_seed(seed, k)``, as everywhere in :mod:`latentdyn.analysis.trials`); the
    ends under ``capture`` (a :class:`Capture`, or one radius for every level) and,
    with ``old_radius``, under that single radius beside."""
    ps = [float(p) for p in ps]
    if not ps:
        raise ConfigError("ps needs at least one noise level")
    if steps < 1:
        raise ConfigError(f"steps must be >= 1 for a fate, got {steps}")
    capture = as_capture(capture, hier)
    out = []
    for k, p in enumerate(ps):
        idx, traj = run_trials(model, images, labels, label, trials, noise, p, steps,
                               "deterministic", level_seed(seed, k), record_x=(steps,))
        lab = hier.labels[idx]
        z_end = traj.z[:, -1]
        digit = None
        if classifier is not None:
            digit = predict_labels(classifier, traj.x_at(steps))
        old = None if old_radius is None else classify_ends(z_end, hier, lab, idx, old_radius)
        out.append(NoiseLevel(p, classify_fates(traj.z, tol, max_period),
                              classify_ends(z_end, hier, lab, idx, capture), lab, idx, z_end,
                              digit, old))
        if progress is not None:
            progress(k + 1, len(ps))
    return BasinSweep(ps, noise, steps, trials, tol, capture, out, old_radius)


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
    def contraction_share(self) -> float:
        """Share of the measured memories at which the latent map contracts (spectral
        radius < 1). Not an attractor test: a memory that is not a fixed point is not
        where the map comes to rest, so ρ < 1 there only says F is locally contracting
        (issue 19; reported as ``attractor_share`` before)."""
        return float((self.memory_radius < 1).double().mean())

    @property
    def fixed_share(self) -> float:
        """Share of the measured memories that are fixed points, ‖F(ξ) − ξ‖ ≤ fixed_tol."""
        return float((self.memory_residual.double() <= self.fixed_tol).double().mean())

    @property
    def fixed_attractor_share(self) -> float:
        """Share that are attractors in Radhakrishnan et al.'s sense: fixed points
        (‖F(ξ) − ξ‖ ≤ fixed_tol) with spectral radius < 1."""
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
    """The fixed points reached from the starts, each with the level that captures it
    (the capture rule) and, beside it, its level under the old single radius."""

    fixed: FixedPoints
    nearest: Nearest  # (m,)
    n_starts: int
    nearest_old: Nearest | None = None

    @property
    def n(self) -> int:
        return self.fixed.n

    @property
    def attractor_share(self) -> float:
        """Share of the fixed points that attract (spectral radius < 1; nan without any)."""
        return float(self.fixed.stable.double().mean()) if self.n else float("nan")

    def level_counts(self, old: bool = False) -> dict[str, int]:
        near = self.nearest_old if old else self.nearest
        if near is None:
            return {}
        return {lv: int((near.level == k).sum()) for k, lv in enumerate(NEAREST)}

    def by_level(self) -> dict[str, dict]:
        """Per capturing level: the fixed points, how many attract, their median ρ."""
        out = {}
        for k, lv in enumerate(NEAREST):
            at = self.nearest.level == k
            r = self.fixed.radius[at].double()
            out[lv] = {"n": int(at.sum()), "attracting": int((r < 1).sum()),
                       "median_radius": float(r.median()) if r.numel() else None}
        return out


def hierarchy_fixed_points(model, hier: Hierarchy, starts, *, tol: float, capture,
                           old_radius: float | None = None,
                           candidate_tol: float | None = None,
                           dedup_tol: float | None = None, max_steps: int = 500,
                           method: str = "rev", chunk_size: int = 128, device=None,
                           progress: bool = False) -> FixedPointMap:
    """:func:`~latentdyn.dynamics.attractors.find_fixed_points` from ``starts``, and the
    level that captures each fixed point (``capture`` as :func:`nearest_level`; with
    ``old_radius``, also under that single radius)."""
    starts = as_float(starts, "starts", 2)
    fixed = find_fixed_points(model, starts, max_steps=max_steps, tol=tol,
                              candidate_tol=candidate_tol, dedup_tol=dedup_tol,
                              method=method, chunk_size=chunk_size, device=device,
                              progress=progress)
    if not fixed.n:
        return FixedPointMap(fixed, empty_nearest(), int(starts.shape[0]),
                             None if old_radius is None else empty_nearest())
    old = None if old_radius is None else nearest_level(fixed.points, hier, old_radius)
    return FixedPointMap(fixed, nearest_level(fixed.points, hier, capture),
                         int(starts.shape[0]), old)


def memories_at_attractors(stab: Stability, fixed: FixedPointMap, hier: Hierarchy,
                           capture) -> float:
    """Share of the measured memories with an attracting fixed point (ρ < 1) within the
    memory capture radius -- the attractor reading of a memory measured at fixed points
    (nan without measured memories)."""
    n = stab.memory_index.numel()
    if n == 0:
        return float("nan")
    if not fixed.n:
        return 0.0
    pts = fixed.fixed.points[fixed.fixed.stable]
    if pts.shape[0] == 0:
        return 0.0
    d = torch.cdist(hier.memories[stab.memory_index].double(), pts.double()).min(1).values
    return float((d <= as_capture(capture, hier).memory).double().mean())


# ----------------------------------------------------------------- all of it
CANDIDATE_FACTOR, DEDUP_FACTOR = 50, 10  # candidate and merge radii, multiples of tol


@dataclass
class AttractorAnalysis:
    """Everything :func:`analyse_attractors` measured, and the tolerances it used."""

    scale: Scale  # the latent scale, the capture radii and the old single radius
    tol: float  # absolute: relative tolerance × scale
    basins: BasinSweep
    stability: Stability
    fixed: FixedPointMap
    start_counts: dict  # where the fixed-point starts came from
    held_out: HeldOut | None = None  # the capture rule on held-out test encodings
    memories_at_attractors: float = float("nan")


def _fixed_point_starts(hier: Hierarchy, stab: Stability, basins: BasinSweep, starts: int,
                        seed: int) -> tuple[Tensor, dict]:
    """Every concept and the abstract concept, then at most ``starts`` − K − 1 of the
    measured memories and the trials' ends, drawn with ``seed``; and their counts."""
    first = torch.cat([hier.concepts, hier.abstract[None]])
    memories = hier.memories[stab.memory_index]
    rest = torch.cat([memories, torch.cat([lv.z_end for lv in basins.levels])])
    keep = torch.randperm(rest.shape[0], generator=as_generator(seed))
    keep = keep[:max(0, starts - first.shape[0])].sort().values
    n_mem = memories.shape[0]
    counts = {"concepts": hier.num_classes, "abstract": 1,
              "memories": int((keep < n_mem).sum()), "trial_ends": int((keep >= n_mem).sum())}
    return torch.cat([first, rest[keep]]), counts


def analyse_attractors(model, hier: Hierarchy, images: Tensor, labels: Tensor, *, ps,
                       trials: int, noise: str = "swap", steps: int = 80,
                       label: int | None = None, memories: int = 500, starts: int = 1000,
                       tol: float = 1e-3, max_steps: int = 500, method: str = "rev",
                       seed: int = 0, classifier=None, held_out=None, device=None,
                       timer=None) -> AttractorAnalysis:
    """Basins over ``ps``, stability at ``memories`` memories, the fixed points reached
    from at most ``starts`` points (every concept, the abstract concept, the measured
    memories and the trials' end points z(T), drawn with ``seed``), and, with
    ``held_out`` images (the test set), the capture rule's rates on their encodings.

    ``tol`` is relative to the latent scale: a trajectory within ``tol`` · scale of its
    end over its last steps has converged; fixed points are accepted at that residual,
    candidates taken below :data:`CANDIDATE_FACTOR` times it and merged within
    :data:`DEDUP_FACTOR` times it, which is also the tolerance at which a memory counts
    as a fixed point. Every level captures within its own radius
    (:mod:`latentdyn.analysis.capture`). ``timer`` (name -> context manager) times each
    part."""
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
                             steps=steps, seed=seed, tol=abs_tol, capture=scale.capture,
                             old_radius=scale.old_radius, classifier=classifier, label=label)
    with timer("stability"):
        stab = memory_stability(model, hier, memories, fixed_tol=DEDUP_FACTOR * abs_tol,
                                generator=seed + 1, method=method, device=device)
    points, counts = _fixed_point_starts(hier, stab, basins, starts, seed + 2)
    with timer("fixed_points"):
        fixed = hierarchy_fixed_points(model, hier, points, tol=abs_tol, capture=scale.capture,
                                       old_radius=scale.old_radius,
                                       candidate_tol=CANDIDATE_FACTOR * abs_tol,
                                       dedup_tol=DEDUP_FACTOR * abs_tol, max_steps=max_steps,
                                       method=method, device=device)
    held = None
    if held_out is not None:
        held = held_out_levels(model, hier, held_out, scale, generator=seed + 3)
    return AttractorAnalysis(scale, abs_tol, basins, stab, fixed, counts, held,
                             memories_at_attractors(stab, fixed, hier, scale.capture))


__all__ = ["AttractorAnalysis", "BasinSweep", "CANDIDATE_FACTOR", "CAPTURE_QUANTILE",
           "Capture", "DEDUP_FACTOR", "END_LEVELS", "Ends", "FixedPointMap", "HeldOut",
           "NEAREST", "Nearest", "NoiseLevel", "OLD_QUANTILE", "Scale", "Stability",
           "analyse_attractors", "basin_sweep", "classify_ends", "hierarchy_fixed_points",
           "hierarchy_scale", "memories_at_attractors", "memory_stability", "nearest_level"]
