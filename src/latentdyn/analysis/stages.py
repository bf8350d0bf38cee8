"""The three stages of Fig. 4 (paper 001, eq. 13; claim C5).

For each noise fraction p, trials give min_t ‖z(t) − ξ‖₂ for three levels of the
hierarchy: the trial's own memory ξ⁽ⁱ⁾, the concept of its label ξ̄_num, and the
abstract concept ξ̄_all. The *closest level* at p is the level with the smallest mean
minimum distance; stage I is memory, stage II concept, stage III abstract. C5 holds
when, as p grows, the closest level passes memory → concept → abstract, each over an
interval of p, with no other change.

Issue 11 adds what a reader needs to trust that reading: the minimum over t >= 1 (what
repeated inference reaches; ``start=1``) beside the minimum over t >= 0 (eq. 13 read
literally, which at high noise is often the encoding of the corrupted input itself),
the share of trials whose minimum is at t = 0, the paired standard errors of the
differences between levels (:func:`paired_differences`), the margin by which the
closest level wins (:func:`closest_margin`, in paired SEMs) and each stage's width
(:func:`stage_widths`).

C5's rule (:func:`stages_resolved`, with :data:`STAGE_START` and
:data:`STAGE_MARGIN_SEM`) lives here so that every study that reads the stages uses
the one rule of ``reproduce nagano2017`` (issue 19 moved it from
``studies/nagano2017/claims.py``, which imports it from here): the stages are read from
the minimum over t >= 1, and they hold when the runs of closest level are exactly
memory → concept → abstract and each stage's level leads the runner-up by more than
:data:`STAGE_MARGIN_SEM` paired SEMs at one of its noise levels at least.
"""

from __future__ import annotations

import math
from itertools import groupby

import torch

from latentdyn.checks import as_float, as_labels
from latentdyn.analysis.distances import distance_to, mean_sem
from latentdyn.analysis.hierarchy import Hierarchy
from latentdyn.errors import ConfigError

LEVELS = ("memory", "concept", "abstract")
# C5, fixed before any run (nagano2017's issue 11): the reading of min_t (over t >= 1,
# what repeated inference reaches) and the lead each stage must have over the runner-up
# at one of its noise levels at least, in paired SEMs
STAGE_START = 1
STAGE_MARGIN_SEM = 2.0


def hierarchy_distances(z, hierarchy: Hierarchy, memory_index, labels=None) -> dict:
    """Per-trial distances to the three levels at every time, ``{level: (n, T+1)}``.

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
    return {level: distance_to(z, t.to(z.device)) for level, t in targets.items()}


def hierarchy_min_distances(z, hierarchy: Hierarchy, memory_index, labels=None,
                            start: int = 0) -> dict:
    """Per-trial minimum distances to the three levels over t >= ``start``, as
    ``{level: (n,) tensor}`` (arguments as :func:`hierarchy_distances`)."""
    return minima(hierarchy_distances(z, hierarchy, memory_index, labels), start)


def minima(distances: dict, start: int = 0) -> dict:
    """``{level: min over t >= start}`` of ``{level: (n, T+1)}`` distances."""
    out = {}
    for level, d in distances.items():
        if not 0 <= int(start) < d.shape[1]:
            raise ConfigError(f"start must lie in [0, {d.shape[1] - 1}], got {start}")
        out[level] = d[:, int(start):].min(dim=1).values
    return out


def paired_differences(mins: dict) -> dict:
    """``{"a-b": (mean, sem)}`` of the per-trial differences min_a − min_b for each pair
    of levels (paired over trials: the same trial's minima), as floats."""
    out = {}
    for i, a in enumerate(LEVELS):
        for b in LEVELS[i + 1:]:
            m, s = mean_sem(as_float(mins[a], a, 1) - as_float(mins[b], b, 1))
            out[f"{a}-{b}"] = (float(m), float(s))
    return out


def closest_margin(mins: dict) -> tuple[str, float]:
    """The closest level (smallest mean minimum) and by how many paired SEMs it beats
    the runner-up: min over the other levels of mean(other − closest) / sem (inf when
    the differences do not vary)."""
    means = {lv: float(as_float(mins[lv], lv, 1).double().mean()) for lv in LEVELS}
    best = min(LEVELS, key=lambda lv: (means[lv], LEVELS.index(lv)))
    margins = []
    for other in LEVELS:
        if other == best:
            continue
        m, s = mean_sem(as_float(mins[other], other, 1).double()
                        - as_float(mins[best], best, 1).double())
        margins.append(float(m) / float(s) if float(s) > 0 else
                       (float("inf") if float(m) > 0 else 0.0))
    return best, min(margins)


def stage_widths(ps, levels) -> list[dict]:
    """Each run of equal closest level with its width: ``{"level", "points" (noise levels
    in the run), "p_start", "p_end"}`` in order of p."""
    runs = stage_intervals(ps, levels)  # checks ps and levels
    counts = [len(list(run)) for _, run in groupby(list(levels))]
    return [{"level": lv, "points": k, "p_start": a, "p_end": b}
            for (lv, a, b), k in zip(runs, counts)]


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


def stage_margins(reading) -> dict:
    """Per stage, the largest lead (paired SEMs) of its level at one of its noise levels;
    ``reading`` has the closest level and its margin per noise level (``closest``,
    ``margins``: a :class:`~latentdyn.analysis.trials.StageReading`)."""
    out: dict = {}
    for level, margin in zip(reading.closest, reading.margins):
        out[level] = max(out.get(level, -math.inf), margin)
    return out


def stages_resolved(reading) -> bool:
    """C5's rule on one reading (read it over t >= :data:`STAGE_START`): the runs of
    closest level are exactly memory, concept, abstract, and each stage's level leads
    the runner-up by > :data:`STAGE_MARGIN_SEM` paired SEMs at one of its noise levels."""
    margins = stage_margins(reading)
    return bool(stages_ordered(reading.closest) and margins
                and min(margins.values()) > STAGE_MARGIN_SEM)
