"""How sure each verdict of C1-C8 is: seeded bootstraps of the statistics the claims test.

Each function resamples the units a statistic is measured on (trials for the dynamics,
training images for the geometry, test images for the ELBO), recomputes the statistic
as a vector on each resample, and returns a
:class:`~latentdyn.analysis.uncertainty.Bootstrap` of it. The claims (:mod:`.claims`)
read their intervals from it and apply their own rule to each resample
(``Bootstrap.share``); nothing here decides a verdict. Trials of different labels,
noise levels or Nz are independent, so each group draws its trials with its own index
(:func:`~latentdyn.analysis.uncertainty.grouped_bootstrap`; before issue 19 one index
served every group, which ties their resamples together). Every resampled trial keeps
its half of the dip rule's split (:func:`~latentdyn.analysis.distances.split_halves`),
so a trial drawn twice never both chooses t* and tests it. The bootstraps are seeded
from the run's seed (offsets below).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latentdyn.analysis.distances import has_dip_np, split_dip, split_halves
from latentdyn.analysis.geometry import (
    NULL_DRAWS,
    NULL_LEVEL,
    mean_abs_offdiagonal_batch,
    random_concepts,
    random_cosine,
)
from latentdyn.analysis.uncertainty import Bootstrap, bootstrap, grouped_bootstrap
from latentdyn.studies.nagano2017.profiles import FIG6_NZ
from latentdyn.studies.nagano2017.stages import NULL_SEED

SEEDS = {"C1": 9100, "C234": 9200, "C5": 9500, "C6": 9600, "C7": 9700, "C8": 9800}
ACTIVE_THRESHOLD = 0.01  # C2's rule (Burda et al. 2016)
GEOMETRY_RESAMPLES = 200  # over training images: a 100 x 100 covariance of 10 000 memories each


# ------------------------------------------------------------------------ C1
def _halves(n: int, groups: int) -> np.ndarray:
    """Each trial's half of the dip rule, (n, groups)."""
    return np.repeat(split_halves(n)[:, None], groups, axis=1)


def dip_vector(d: np.ndarray, half: np.ndarray | None = None) -> np.ndarray:
    """[labels with a dip, has_dip per label..., relative depth per label...] of per-trial
    distances ``d`` (n, K, T+1), with each trial's ``half`` (n, K) of the dip rule (the
    relative depth is that of the tested half, as the rule reads it)."""
    r = split_dip(d, half)
    dips = r["has_dip"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = r["depth"] / np.where(r["d0"] > 0, r["d0"], np.nan)
    return np.concatenate([[dips.sum()], dips.astype(float), rel])


def dip_bootstrap(distances: list[np.ndarray], n: int, seed: int) -> Bootstrap:
    """C1 over the trials of every label (``distances``: one (trials, T+1) per label),
    each label resampled with its own index."""
    d = np.stack(distances, axis=1)
    return grouped_bootstrap((d, _halves(*d.shape[:2])), dip_vector, n_resamples=n,
                             seed=seed + SEEDS["C1"])


# ------------------------------------------------------------------------ C2-C4
GEOMETRY_FIELDS = ("n_active", "dims_70", "dims_99", "participation_ratio", "offdiagonal",
                   "random_cosine", "null_quantile")


def geometry_vector(memories: np.ndarray, onehot: np.ndarray, null_seed: int = 0,
                    null_draws: int = NULL_DRAWS) -> np.ndarray:
    """[active units, components for 70 % and 99 %, participation ratio, mean
    |off-diagonal cosine| of the concepts, random-direction |cosine| at that ratio
    (issue 11's reference), the 5 % quantile of C4's null (issue 19; its draws seeded
    ``null_seed`` in every resample, so resamples differ only by their memories)]
    (the products in torch: its BLAS is the one the rest of the package uses)."""
    m = torch.from_numpy(np.ascontiguousarray(memories, dtype=np.float64))
    oh = torch.from_numpy(np.ascontiguousarray(onehot, dtype=np.float64))
    var = m.var(0, correction=1)
    x = m - m.mean(0)
    lam = torch.linalg.eigvalsh(x.T @ x / (len(x) - 1)).flip(0).clamp(min=0)
    cum = torch.cumsum(lam, 0) / lam.sum()
    d70, d99 = (int((cum >= f - 1e-12).nonzero()[0, 0]) + 1 for f in (0.7, 0.99))
    pr = float(lam.sum() ** 2 / (lam ** 2).sum())
    counts = oh.sum(0)
    off = q = float("nan")
    if not bool((counts == 0).any()):  # a class missing from the resample: no concept
        concepts = oh.T @ m / counts[:, None]
        off = float(mean_abs_offdiagonal_batch(concepts[None])[0])
        resid = m - oh @ concepts
        cov = resid.T @ resid / (len(m) - len(concepts))
        null = mean_abs_offdiagonal_batch(random_concepts(cov, concepts, draws=null_draws,
                                                  seed=null_seed))
        q = float(torch.quantile(null, NULL_LEVEL))
    return np.array([int((var > ACTIVE_THRESHOLD).sum()), d70, d99, pr, off,
                     random_cosine(pr), q])


def geometry_bootstrap(memories, labels, n: int, seed: int) -> Bootstrap:
    """C2-C4 over the training images (memories with their labels); at most
    :data:`GEOMETRY_RESAMPLES` resamples (each recomputes the covariance of every memory
    and C4's null)."""
    mem = np.asarray(memories, dtype=np.float64)
    lab = np.asarray(labels)
    onehot = (lab[:, None] == np.unique(lab)[None, :]).astype(np.float64)
    null_seed = seed + NULL_SEED
    return bootstrap((mem, onehot), lambda m, oh: geometry_vector(m, oh, null_seed),
                     n_resamples=min(n, GEOMETRY_RESAMPLES), seed=seed + SEEDS["C234"])


# ------------------------------------------------------------------------ C5
def stages_vector(mins: np.ndarray) -> np.ndarray:
    """[stages ordered (1/0), the weakest stage's margin in paired SEMs, points of
    memory, concept and abstract as the closest level] of per-trial minima ``mins``
    (n, P, 3: memory, concept, abstract)."""
    n = mins.shape[0]
    mean = mins.mean(0)  # (P, 3)
    closest = mean.argmin(1)
    runs = [int(c) for i, c in enumerate(closest) if i == 0 or c != closest[i - 1]]
    ordered = runs == [0, 1, 2]
    idx = np.arange(mins.shape[1])
    diffs = mins - mins[:, idx, closest][:, :, None]  # (n, P, 3), 0 for the closest
    sem = diffs.std(0, ddof=1) / np.sqrt(n)
    mean_diff = diffs.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):  # as closest_margin: a
        # zero-variance lead is inf when positive and 0 when it is a tie
        ratio = np.where(sem > 0, mean_diff / sem, np.where(mean_diff > 0, np.inf, 0.0))
    ratio[idx, closest] = np.inf
    margin = ratio.min(1)  # (P,): the closest level's lead over the runner-up
    weakest = min(margin[closest == lv].max() for lv in set(closest.tolist()))
    return np.array([float(ordered), weakest,
                     *[(closest == lv).sum() for lv in range(3)]])


def stage_mins(reading) -> np.ndarray:
    """The per-trial minima of a :class:`~latentdyn.analysis.trials.StageReading` as
    (n, P, 3)."""
    return np.stack([reading.mins[lv].T for lv in ("memory", "concept", "abstract")], axis=2)


def stages_bootstrap(reading, n: int, seed: int) -> Bootstrap:
    """C5 over the trials of every noise level (each level with its own index; a
    trial's three minima stay paired), for one reading of min_t."""
    return grouped_bootstrap(stage_mins(reading), stages_vector, n_resamples=n,
                             seed=seed + SEEDS["C5"])


# ------------------------------------------------------------------------ C6-C8
def latent_size_bootstrap(distances: dict, n: int, seed: int) -> Bootstrap | None:
    """C6: has_dip per Nz of FIG6_NZ over the label-6 trials (None when one is missing)."""
    if not all(nz in distances for nz in FIG6_NZ):
        return None
    d = np.stack([distances[nz] for nz in FIG6_NZ], axis=1)
    return grouped_bootstrap((d, _halves(*d.shape[:2])),
                             lambda x, h: has_dip_np(x, h).astype(float), n_resamples=n,
                             seed=seed + SEEDS["C6"])


def elbo_vector(per_image: np.ndarray, nzs: np.ndarray) -> np.ndarray:
    """[best Nz, gap from the best to the largest Nz, best mean ELBO]."""
    mean = per_image.mean(0)
    best = int(mean.argmax())
    return np.array([nzs[best], mean[best] - mean[-1], mean[best]])


def elbo_bootstrap(per_image, nzs, n: int, seed: int) -> Bootstrap | None:
    """C7 over the test images, paired across Nz (the same images for every model)."""
    if per_image is None or len(nzs) == 0:
        return None
    nz_arr = np.asarray(nzs, dtype=float)
    return bootstrap(np.asarray(per_image), lambda x: elbo_vector(x, nz_arr), n_resamples=n,
                     seed=seed + SEEDS["C7"])


def attribution_vector(d: np.ndarray, kept: np.ndarray,
                       half: np.ndarray | None = None) -> np.ndarray:
    """[trials kept, dip in all trials, dip in the kept trials], each trial in its
    ``half`` of the dip rule (default: :func:`split_halves` of all trials; the kept
    trials keep theirs)."""
    k = kept.astype(bool)
    half = split_halves(len(d)) if half is None else np.asarray(half)
    return np.array([k.sum(), float(has_dip_np(d, half)),
                     float(has_dip_np(d[k], half[k])) if k.sum() >= 2 else 0.0])


def attribution_bootstrap(distances, kept, n: int, seed: int) -> Bootstrap:
    """C8 over the trials started from corrupted '6's."""
    d = np.asarray(distances, dtype=float)
    return bootstrap((d, np.asarray(kept, dtype=float), split_halves(len(d))),
                     attribution_vector, n_resamples=n, seed=seed + SEEDS["C8"])


@dataclass
class Resamples:
    """The bootstraps of one seed's claims (None where a stage did not run)."""

    dips: Bootstrap
    geometry: Bootstrap
    stages: dict  # reading -> Bootstrap
    latent_size: Any = None
    elbo: Any = None
    attribution: Any = None
    n: int = 0
