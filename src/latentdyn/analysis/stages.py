"""The three stages of Fig. 4 (paper 001, eq. 13; claim C5).

For each noise fraction p, trials give min_t ‖z(t) − ξ‖₂ for three levels of the
hierarchy: the trial's own memory ξ⁽ⁱ⁾, the concept of its label ξ̄_num, and the
abstract concept ξ̄_all. The *closest level* at p is the level with the smallest mean
minimum distance; stage I is memory, stage II concept, stage III abstract. C5 holds
when, as p grows, the closest level passes memory → concept → abstract, each over an
interval of p, with no other change.
"""

from __future__ import annotations

from itertools import groupby

import torch

from latentdyn.checks import as_float, as_labels
from latentdyn.analysis.distances import distance_to, mean_sem
from latentdyn.analysis.hierarchy import Hierarchy
from latentdyn.errors import ConfigError

LEVELS = ("memory", "concept", "abstract")


def hierarchy_min_distances(z, hierarchy: Hierarchy, memory_index, labels=None) -> dict:
    """Per-trial minimum distances to the three levels, as ``{level: (n,) tensor}``.

    ``z`` (n, T+1, nz) trajectories; ``memory_index`` (n,) the row in
    ``hierarchy.memories`` of each trial's own memory (the training image it started
    from); ``labels`` (n,) the label whose concept is measured, by default the label of
    that memory.
    """
    z = as_float(z, "z", 3)
    idx = as_labels(memory_index, "memory_index")
    n, N = z.shape[0], hierarchy.memories.shape[0]
    if idx.shape[0] != n:
        raise ConfigError(f"memory_index has {idx.shape[0]} entries but z has {n} trials")
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= N):
        raise ConfigError(f"memory_index must lie in [0, {N}), the rows of the memories")
    idx = idx.to(hierarchy.memories.device)
    labels = hierarchy.labels[idx] if labels is None else as_labels(labels)
    if labels.shape[0] != n:
        raise ConfigError(f"labels has {labels.shape[0]} entries but z has {n} trials")
    targets = {"memory": hierarchy.memories[idx],
               "concept": hierarchy.concepts_for(labels),
               "abstract": hierarchy.abstract}
    return {level: distance_to(z, t.to(z.device)).min(dim=1).values
            for level, t in targets.items()}


def level_mean_sem(mins: dict) -> dict:
    """``{level: (mean, sem)}`` as floats, from :func:`hierarchy_min_distances`' output."""
    out = {}
    for level in LEVELS:
        if level not in mins:
            raise ConfigError(f"minimum distances lack the level {level!r}")
        m, s = mean_sem(as_float(mins[level], f"mins[{level!r}]", 1))
        out[level] = (float(m), float(s))
    return out


def closest_level(memory, concept, abstract) -> list[str]:
    """Per noise level, the level with the smallest mean minimum distance.

    Each argument is (L,): the mean minimum distance at each of L noise fractions.
    Exact ties go to the finer level (memory before concept before abstract).
    """
    cols = [as_float(v, name, 1) for v, name in
            ((memory, "memory"), (concept, "concept"), (abstract, "abstract"))]
    if len({c.shape[0] for c in cols}) != 1:
        raise ConfigError("memory, concept and abstract need one value per noise level each, "
                          f"got lengths {[c.shape[0] for c in cols]}")
    stacked = torch.stack([c.double() for c in cols], dim=1)
    return [LEVELS[int(i)] for i in stacked.argmin(dim=1)] if stacked.shape[0] else []


def stage_intervals(ps, levels) -> list[tuple[str, float, float]]:
    """Runs of equal closest level: ``[(level, p_start, p_end), ...]`` in order of p.

    ``ps`` (L,) strictly increasing noise fractions, ``levels`` the closest level at each
    (as from :func:`closest_level`). p_start/p_end are the first and last p of a run.
    """
    ps = as_float(ps, "ps", 1)
    levels = list(levels)
    if len(levels) != ps.shape[0]:
        raise ConfigError(f"ps has {ps.shape[0]} values but levels has {len(levels)}")
    if ps.shape[0] > 1 and not bool((ps[1:] > ps[:-1]).all()):
        raise ConfigError("ps must be strictly increasing")
    unknown = sorted({lv for lv in levels if lv not in LEVELS})
    if unknown:
        raise ConfigError(f"unknown level(s) {unknown}; levels are {', '.join(LEVELS)}")
    out, i = [], 0
    for level, run in groupby(levels):
        k = len(list(run))
        out.append((level, float(ps[i]), float(ps[i + k - 1])))
        i += k
    return out


def stages_ordered(levels, min_points: int = 1) -> bool:
    """C5: the runs of closest level are exactly memory, concept, abstract, in that order.

    Each stage must hold for at least ``min_points`` consecutive noise levels (default 1:
    one grid point counts as an interval, the finest the grid can resolve). Any return
    to an earlier level, or a missing stage, gives False.
    """
    if min_points < 1:
        raise ConfigError(f"min_points must be >= 1, got {min_points}")
    runs = [(level, len(list(run))) for level, run in groupby(list(levels))]
    return ([lv for lv, _ in runs] == list(LEVELS)
            and all(k >= min_points for _, k in runs))
