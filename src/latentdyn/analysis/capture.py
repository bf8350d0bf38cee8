"""Which level of the hierarchy -- a memory, a concept, the abstract concept, or none --
has *captured* a latent point, each level against a baseline of its own (issue 19).

Why a baseline per level. The rule before issue 19 gave a point to the nearest of all
memories, concepts and the abstract concept, and called it ``none`` only beyond one
radius, the 95th percentile of the distance of a memory to its nearest other memory.
That radius was most of the latent scale (3.88 of 4.76 in a quick run), so it labelled
93 % of held-out *test* encodings -- images that have no memory of their own -- as
"memory"; and with 10 000 memories against 10 concepts and one abstract concept the
nearest point is a memory by count alone. Such a reading says nothing.

The rule now (:func:`capture_radii`, :func:`nearest_level`): each level has a capture
radius fixed in code as the :data:`CAPTURE_QUANTILE` quantile of that level's own
reference distances over the training memories --

* a memory: the distance of a memory to its nearest *other* memory;
* a concept (one radius per label): the distance of that label's memories to it;
* the abstract concept: the distance of the memories to it --

so that a point drawn like the memories is captured by each level at about that rate
(5 %), whatever the number of points the level has. A point is given to the level
that captures it most tightly (smallest distance in units of that level's radius; ties
to the finer level), and to ``none`` when no level captures it. What the rate is on
data that has no memory of its own is measured, not assumed: :func:`held_out_levels`
labels held-out test encodings by the same rule (for the memory level, the rate at
which held-out images are called "memory"), to be reported beside every share.

One radius for every level (a float where a :class:`Capture` is asked for) is the rule
before issue 19: nearest of all, ``none`` beyond the radius; :data:`OLD_QUANTILE` is
its radius, kept so that the old reading can be shown beside the new one.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import torch
from torch import Tensor

from latentdyn.analysis.hierarchy import Hierarchy
from latentdyn.checks import as_float, as_generator, as_labels
from latentdyn.errors import ConfigError

NEAREST = ("memory", "concept", "abstract", "none")
END_LEVELS = ("own_memory", "other_memory", "own_concept", "other_concept", "abstract", "none")
CAPTURE_QUANTILE = 0.05  # each level's capture radius: this quantile of its own distances
OLD_QUANTILE = 0.95  # the one radius of the rule before issue 19 (reported beside)
MAX_MEMORIES = 2000  # memories on which the nearest-other-memory distances are measured


@dataclass
class Capture:
    """Per level, the distance within which a point counts as captured by it."""

    memory: float
    concept: Tensor  # (K,) float64, one per row of hier.concepts
    abstract: float
    quantile: float | None  # None: one radius for every level (the old rule)

    @classmethod
    def uniform(cls, radius: float, k: int) -> "Capture":
        """One radius for every level: nearest of all, none beyond it (the old rule)."""
        r = float(radius)
        if not r >= 0:
            raise ConfigError(f"a capture radius must be >= 0, got {radius}")
        return cls(r, torch.full((k,), r, dtype=torch.float64), r, None)

    def to_dict(self) -> dict:
        return {"quantile": self.quantile, "memory": self.memory,
                "concept": self.concept.tolist(), "abstract": self.abstract}


def as_capture(capture, hier: Hierarchy) -> Capture:
    """A :class:`Capture`, or one radius for every level (a number)."""
    if isinstance(capture, Capture):
        if capture.concept.shape != (hier.num_classes,):
            raise ConfigError(f"the capture has {capture.concept.shape[0]} concept radii but "
                              f"the hierarchy has {hier.num_classes} concepts")
        return capture
    return Capture.uniform(capture, hier.num_classes)


@dataclass
class Scale:
    """The latent scale of a hierarchy, its capture radii and the old single radius."""

    scale: float  # sqrt(mean ‖ξ_i − ξ̄_all‖²) over the memories
    capture: Capture
    old_radius: float  # OLD_QUANTILE quantile of the nearest-other-memory distance

    @property
    def radius(self) -> float:
        """The memory level's capture radius."""
        return self.capture.memory

    @property
    def quantile(self) -> float | None:
        return self.capture.quantile


def nearest_other_memory(hier: Hierarchy, max_memories: int = MAX_MEMORIES,
                         generator=0) -> Tensor:
    """The distance of each of at most ``max_memories`` memories (drawn with
    ``generator``) to its nearest other memory (float64)."""
    mem = hier.memories.double()
    if mem.shape[0] < 2:
        return torch.zeros(0, dtype=torch.float64)
    pick = torch.randperm(mem.shape[0], generator=as_generator(generator))[:max_memories]
    parts = []
    for s in range(0, pick.numel(), 512):
        rows = pick[s:s + 512]
        d = torch.cdist(mem[rows], mem)
        d[torch.arange(rows.numel()), rows] = float("inf")  # not itself
        parts.append(d.min(1).values)
    return torch.cat(parts)


def hierarchy_scale(hier: Hierarchy, quantile: float = CAPTURE_QUANTILE,
                    max_memories: int = MAX_MEMORIES, generator=0) -> Scale:
    """The latent scale, the capture radii of every level at ``quantile`` (module doc;
    the memory level's measured on at most ``max_memories`` memories drawn with
    ``generator``) and the old single radius."""
    if not 0 < quantile <= 1:
        raise ConfigError(f"quantile must lie in (0, 1], got {quantile}")
    mem = hier.memories.double()
    to_abstract = torch.linalg.vector_norm(mem - hier.abstract.double(), dim=1)
    scale = float(to_abstract.pow(2).mean().sqrt())
    if not (math.isfinite(scale) and scale > 0):  # every tolerance is a fraction of it
        raise ConfigError(f"the model encodes every training image to the same latent point "
                          f"(latent scale {scale:g}): its encoder is saturated or degenerate "
                          "(weights too large?), so no fate or fixed point can be told apart")
    nn_d = nearest_other_memory(hier, max_memories, generator)
    if nn_d.numel() == 0:  # one memory: no neighbour to measure against
        return Scale(scale, Capture.uniform(scale, hier.num_classes), scale)
    to_concept = torch.linalg.vector_norm(mem - hier.concepts_for(hier.labels).double(), dim=1)
    concept = torch.stack([torch.quantile(to_concept[hier.labels == c], quantile)
                           for c in hier.classes.tolist()])
    capture = Capture(float(torch.quantile(nn_d, quantile)), concept,
                      float(torch.quantile(to_abstract, quantile)), float(quantile))
    return Scale(scale, capture, float(torch.quantile(nn_d, OLD_QUANTILE)))


def _min_dist(a: Tensor, b: Tensor, batch: int = 1024) -> tuple[Tensor, Tensor]:
    """For each row of ``a``: the smallest distance to a row of ``b`` and its index."""
    vals, idx = [], []
    b = b.double()
    for s in range(0, a.shape[0], batch):
        v, i = torch.cdist(a[s:s + batch].double(), b).min(1)
        vals.append(v)
        idx.append(i)
    return torch.cat(vals), torch.cat(idx)


def _ratio(d: Tensor, r) -> Tensor:
    """d in units of the radius r (0 when both are 0, inf beyond a radius of 0)."""
    r = torch.as_tensor(r, dtype=torch.float64)
    zero = torch.where(d > 0, torch.full_like(d, float("inf")), torch.zeros_like(d))
    return torch.where(r > 0, d / r.clamp_min(torch.finfo(torch.float64).tiny), zero)


@dataclass
class Nearest:
    """The level of the hierarchy that captured each of n latent points."""

    level: Tensor  # (n,) int64 index into NEAREST
    distance: Tensor  # (n,) to the point of that level (of the tightest level for none)
    memory: Tensor  # (n,) row of the nearest memory
    d_memory: Tensor
    concept: Tensor  # (n,) label of the tightest concept (nearest in units of its radius)
    d_concept: Tensor
    d_abstract: Tensor
    ratio: Tensor | None = None  # (n,) distance in units of that level's capture radius

    def names(self) -> list[str]:
        return [NEAREST[int(i)] for i in self.level]

    def share(self) -> dict[str, float]:
        n = max(int(self.level.numel()), 1)
        return {lv: int((self.level == k).sum()) / n for k, lv in enumerate(NEAREST)}


def nearest_level(z, hier: Hierarchy, capture) -> Nearest:
    """The level that captures each row of ``z`` (n, nz) (module doc): ``capture`` a
    :class:`Capture`, or one radius for every level (the old rule)."""
    z = as_float(z, "z", 2)
    if z.shape[1] != hier.nz:
        raise ConfigError(f"z has {z.shape[1]} latent units but the hierarchy has {hier.nz}")
    cap = as_capture(capture, hier)
    d_mem, mem = _min_dist(z, hier.memories)
    d_all = torch.cdist(z.double(), hier.concepts.double())  # (n, K)
    r_con, con = _ratio(d_all, cap.concept).min(1)
    d_con = d_all.gather(1, con[:, None])[:, 0]
    d_abs = torch.linalg.vector_norm(z.double() - hier.abstract.double(), dim=1)
    ratios = torch.stack([_ratio(d_mem, cap.memory), r_con, _ratio(d_abs, cap.abstract)], 1)
    best, level = ratios.min(1)  # ties go to the finer level
    dist = torch.stack([d_mem, d_con, d_abs], 1).gather(1, level[:, None])[:, 0]
    level = torch.where(best > 1, torch.full_like(level, NEAREST.index("none")), level)
    return Nearest(level, dist, mem, d_mem, hier.classes[con], d_con, d_abs, best)


def empty_nearest() -> Nearest:
    e, ei = torch.empty(0, dtype=torch.float64), torch.empty(0, dtype=torch.int64)
    return Nearest(ei, e, ei, e, ei, e, e, e)


@dataclass
class Ends:
    """Where each trajectory ended, relative to its own memory and label."""

    level: Tensor  # (n,) int64 index into END_LEVELS
    nearest: Nearest
    d_own_memory: Tensor  # (n,)
    d_own_concept: Tensor  # (n,)
    memory_index: Tensor | None = None  # (n,) the memory each trial started from

    def names(self) -> list[str]:
        return [END_LEVELS[int(i)] for i in self.level]

    def share(self) -> dict[str, float]:
        return {lv: float((self.level == k).double().mean()) for k, lv in enumerate(END_LEVELS)}

    def own_memory_chance(self) -> float:
        """The own-memory share expected if ends were unrelated to starts: the mean over
        uniformly random pairings of these ends with these starts (exact, in closed
        form: each end captured by a memory counts the starts from that memory)."""
        if self.memory_index is None or self.level.numel() == 0:
            return float("nan")
        is_mem = self.nearest.level == NEAREST.index("memory")
        size = int(max(self.memory_index.max(), self.nearest.memory.max())) + 1
        hits = torch.bincount(self.memory_index, minlength=size)[self.nearest.memory]
        n = self.level.numel()
        return float((is_mem.double() * hits.double()).sum() / (n * n))


def classify_ends(z, hier: Hierarchy, labels, memory_index, capture) -> Ends:
    """:data:`END_LEVELS` of each end point ``z`` (n, nz) of trials started from training
    images ``memory_index`` (n,) of ``labels`` (n,) (``capture`` as :func:`nearest_level`)."""
    z = as_float(z, "z", 2)
    labels, idx = as_labels(labels), as_labels(memory_index, "memory_index")
    if not labels.shape[0] == idx.shape[0] == z.shape[0]:
        raise ConfigError("z, labels and memory_index need one row per trial")
    near = nearest_level(z, hier, capture)
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
    return Ends(level, near, d_own_m, d_own_c, idx)


@dataclass
class HeldOut:
    """Held-out images (no memory of their own) labelled by the capture rule: the
    baseline every share of "memory", "concept" or "abstract" is read against."""

    n: int
    shares: dict  # NEAREST level -> share of the held-out encodings (the new rule)
    shares_old: dict  # the same under the old single radius


def held_out_levels(model, hier: Hierarchy, images, scale: Scale,
                    max_images: int = MAX_MEMORIES, generator=0) -> HeldOut:
    """Encode at most ``max_images`` held-out ``images`` (drawn with ``generator``) and
    label their latent means by the capture rule of ``scale`` (and by the old one)."""
    from latentdyn.models.inference import encode_all

    images = as_float(images, "held-out images")
    if images.shape[0] == 0:
        raise ConfigError("held-out images: none given")
    pick = torch.randperm(images.shape[0], generator=as_generator(generator))[:max_images]
    z = encode_all(model, images[pick.sort().values])
    return HeldOut(int(pick.numel()), nearest_level(z, hier, scale.capture).share(),
                   nearest_level(z, hier, scale.old_radius).share())


__all__ = ["CAPTURE_QUANTILE", "Capture", "END_LEVELS", "Ends", "HeldOut", "NEAREST",
           "Nearest", "OLD_QUANTILE", "Scale", "as_capture", "classify_ends",
           "empty_nearest", "held_out_levels", "hierarchy_scale", "nearest_level",
           "nearest_other_memory"]
