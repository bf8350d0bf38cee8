"""The stages of paper 002: the sampled sequence (Fig. 2a), the distance to the concept
of every digit in the three readings (Fig. 2b, with the escape into a memory at T), and
the minimum distance to the hierarchy against the noise fraction (Fig. 3).

The trials are those of the nagano2017 study: the same training images and noise for
the same seed (its seed offsets), and the chain seeded ``trial seed + 1`` as in
:func:`latentdyn.analysis.trials.run_trials`; so the raw reading of Fig. 2b equals
``reproduce nagano2017 --mode sampling``'s Fig. 2 for the same model, trials and T.
Each stage returns a results object; nothing here draws or writes a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from latentdyn.analysis import Hierarchy, closest_level, stage_intervals, stages_ordered
from latentdyn.analysis.sampling import (
    LEVELS,
    READINGS,
    StageBootstrap,
    dip_bootstrap,
    dip_flags,
    level_readings,
    level_summary,
    memory_escape,
    readings_of,
    reading_course,
    stage_bootstrap,
)
from latentdyn.analysis.trials import corrupted_trials, level_seed
from latentdyn.analysis.uncertainty import bootstrap
from latentdyn.dynamics.sampling import sample_chain
from latentdyn.models.inference import decode_all
from latentdyn.studies.nagano2017 import FIG2_SEED_STRIDE, FIG4_SEED, Experiment
from latentdyn.studies.nagano2017_sampling.profiles import LABEL

ESCAPE_SEED = 31  # offset of the escape bootstraps' seeds from the label's trial seed
ESCAPE_SEMS = 2.0  # claim S3's rule, fixed before any run: mean margin > 2 SEM


def _chain(model, exp: Experiment, label: int, n: int, p: float, seed: int, device,
           record_x=()):
    """(indices, chain) of ``n`` trials from corrupted training images of ``label``."""
    idx, x0 = corrupted_trials(exp.images, exp.labels, label, n, exp.noise, p, seed)
    return idx, sample_chain(model, x0, exp.steps, record_x=record_x, generator=seed + 1,
                             device=device)


# ------------------------------------------------------------------- Fig. 2a
@dataclass
class SampledSequence:
    """One chain from a corrupted '6': the binary samples x(t), the decoded posterior
    means E_p[x | μ(x(t))] at the same steps, the decoded concept, and the chain's
    raw and posterior-mean distances to the concept at those steps."""

    frames: np.ndarray  # (S, H, W)
    means: np.ndarray  # (S, H, W)
    steps: list
    concept_image: np.ndarray
    raw: list
    mean: list
    p: float


def sequence_stage(model, hier: Hierarchy, exp: Experiment, p: float, steps: tuple,
                   device) -> SampledSequence:
    """Fig. 2a: the start image and noise of nagano2017's Fig. 1, its chain seeded
    ``seed + 1``."""
    _, x0 = corrupted_trials(exp.images, exp.labels, LABEL, 1, exp.noise, p, exp.seed)
    chain = sample_chain(model, x0, exp.steps, record_x=steps, generator=exp.seed + 1,
                         device=device)
    shape = (-1, *exp.image_shape)
    mu = chain.mu[0, list(chain.x_steps)]
    decoded = decode_all(model, torch.cat([mu, hier.concept(LABEL)[None]]))
    r = readings_of(chain, hier.concept(LABEL))
    ts = list(chain.x_steps)
    return SampledSequence(chain.x[0].reshape(shape).numpy(), decoded[:-1].reshape(shape).numpy(),
                           ts, decoded[-1].reshape(exp.image_shape).numpy(),
                           r.raw[0, ts].tolist(), r.mean[0, ts].tolist(), p)


# ------------------------------------------------------------------- Fig. 2b
@dataclass
class ConceptReadings:
    """Fig. 2b in every reading: per reading and label the time course with its dip
    (:class:`~latentdyn.analysis.sampling.ReadingCourse`), its bootstrap ([has_dip,
    fast_slow] per resample), the escape into a memory at T (and at t*), and per label
    the trial-mean noise floor Σσ²(x(t))."""

    classes: list[int]
    trials: int
    p: float
    courses: dict = field(default_factory=dict)  # reading -> label -> ReadingCourse
    boots: dict = field(default_factory=dict)  # reading -> label -> Bootstrap
    escape: dict = field(default_factory=dict)  # reading -> label -> dict
    floor: dict = field(default_factory=dict)  # label -> (T+1,) mean Σσ²
    floor_dips: dict = field(default_factory=dict)  # label -> [has_dip, fast_slow] of Σσ²
    rms_sigma: float = math.nan  # sqrt(mean Σσ² / nz) over every trial and step

    def count(self, reading: str, key: str) -> int:
        """Labels whose ``key`` holds in ``reading``: has_dip, fast_slow (dips) or
        holds / holds_at_t_star (escape)."""
        table = self.escape[reading] if key.startswith("holds") else {
            c: tc.dip for c, tc in self.courses[reading].items()}
        return sum(bool(v[key]) for v in table.values())

    def boot_counts(self, reading: str, column: int) -> np.ndarray:
        """Per resample, the labels whose dip flag ``column`` (0 dip, 1 fast_slow) holds."""
        return np.sum([self.boots[reading][c].samples[:, column] for c in self.classes], 0)

    def escape_counts(self, reading: str) -> np.ndarray:
        return np.sum([self.escape[reading][c]["boot"] for c in self.classes], 0)


def _escape_rule(margin: np.ndarray) -> float:
    return float(margin.mean() > ESCAPE_SEMS * margin.std(ddof=1) / math.sqrt(len(margin)))


def _escape(chain, hier: Hierarchy, label: int, t_star: int, reading: str,
            resamples: int, seed: int) -> dict:
    """Claim S3 for one label: closer to the nearest memory (chosen by the posterior
    mean) than to the concept at T (mean margin > 2 SEM), and the same at t*, with the
    bootstrap of the rule at T; beside them, at T, the rule before issue 19 (the nearest
    memory chosen by the noisy sample: ``*_old``)."""
    out = {}
    for name, t, select in (("T", chain.steps, "mean"), ("t_star", t_star, "mean"),
                            ("T_old", chain.steps, "sample")):
        e = memory_escape(chain.z[:, t], chain.mu[:, t], chain.floor[:, t], hier.memories,
                          hier.concept(label).expand(chain.n_trials, -1), reading, select)
        m = e.margin.numpy()
        sem = float(m.std(ddof=1) / math.sqrt(len(m)))
        key = {"T": "holds", "t_star": "holds_at_t_star", "T_old": "holds_old"}[name]
        out.update({f"margin_{name}": float(m.mean()), f"sem_{name}": sem,
                    key: bool(m.mean() > ESCAPE_SEMS * sem),
                    f"share_closer_to_memory_{name}": float((m > 0).mean()),
                    f"same_label_{name}": float((hier.labels[e.nearest] == label)
                                                .float().mean())})
        if name == "T":
            out["boot"] = bootstrap(m, _escape_rule, n_resamples=resamples,
                                    seed=seed).samples
    return out


def courses_stage(model, hier: Hierarchy, exp: Experiment, trials: int, p: float,
                  resamples: int, device, progress: bool) -> ConceptReadings:
    """Fig. 2b: ``trials`` chains from corrupted training images of every label."""
    classes = [int(c) for c in hier.classes]
    res = ConceptReadings(classes, trials, p, {r: {} for r in READINGS},
                          {r: {} for r in READINGS}, {r: {} for r in READINGS})
    floors = []
    for c in tqdm(classes, desc="fig 2b (labels)", disable=not progress):
        seed = exp.seed + FIG2_SEED_STRIDE * (c + 1)
        _, chain = _chain(model, exp, c, trials, p, seed, device)
        r = readings_of(chain, hier.concept(c))
        for reading in READINGS:
            d = r.of(reading)
            course = reading_course(d)
            res.courses[reading][c] = course
            res.boots[reading][c] = dip_bootstrap(d, resamples, seed)
            res.escape[reading][c] = _escape(chain, hier, c, course.dip["t_star"], reading,
                                             resamples, seed + ESCAPE_SEED)
        res.floor[c] = chain.floor.double().mean(0)
        res.floor_dips[c] = dip_flags(chain.floor.double().numpy()).tolist()
        floors.append(chain.floor.double().mean())
    res.rms_sigma = float(torch.stack(floors).mean() / hier.nz) ** 0.5
    return res


# ------------------------------------------------------------------- Fig. 3
@dataclass
class StageReading:
    """Fig. 3 in one reading: mean ± SEM of the minimum distance per level and noise
    level, the closest level, its runs (stages), whether they are ordered, the same at
    t = 0 alone (no dynamics), and the bootstrap."""

    mean: dict  # level -> list over p
    sem: dict
    closest: list
    stages: list
    ordered: bool
    closest_t0: list
    stages_t0: list
    boot: StageBootstrap


@dataclass
class StageSweep:
    ps: list
    trials: int
    readings: dict  # reading -> StageReading
    floor: list  # mean Σσ² over trials and steps, per p


def _sweep_reading(curves_by_p: list, ps: list, reading: str, resamples: int,
                   seed: int) -> StageReading:
    summaries = [level_summary(curves, reading) for curves in curves_by_p]
    mean = {lv: [s[lv][0] for s in summaries] for lv in LEVELS}
    sem = {lv: [s[lv][1] for s in summaries] for lv in LEVELS}
    closest = closest_level(mean["memory"], mean["concept"], mean["abstract"])
    at0 = {lv: [float(c[lv][:, 0].double().mean()) for c in curves_by_p] for lv in LEVELS}
    closest0 = closest_level(at0["memory"], at0["concept"], at0["abstract"])
    return StageReading(mean, sem, closest, stage_intervals(ps, closest),
                        stages_ordered(closest), closest0, stage_intervals(ps, closest0),
                        stage_bootstrap(curves_by_p, reading, resamples, seed))


def stages_stage(model, hier: Hierarchy, exp: Experiment, ps, trials: int, resamples: int,
                 device, progress: bool) -> StageSweep:
    """Fig. 3: for each p, ``trials`` chains from corrupted training '6's; distances of
    each reading to the own memory, the concept of '6' and the abstract concept."""
    ps = [float(p) for p in ps]
    curves: dict[str, list] = {r: [] for r in READINGS}
    floor = []
    for k, p in enumerate(tqdm(ps, desc="fig 3 (noise levels)", disable=not progress)):
        idx, chain = _chain(model, exp, LABEL, trials, p,
                            level_seed(exp.seed + FIG4_SEED, k), device)
        levels = level_readings(chain.z, chain.mu, chain.floor, hier, idx)
        for r in READINGS:
            curves[r].append({lv: levels[lv].of(r) for lv in LEVELS})
        floor.append(float(chain.floor.double().mean()))
    seed = exp.seed + FIG4_SEED
    return StageSweep(ps, trials, {r: _sweep_reading(curves[r], ps, r, resamples, seed)
                                   for r in READINGS}, floor)


def experiment(data, steps: int, noise: str, seed: int) -> Experiment:
    """The shared settings of the experiments on ``data``'s training images."""
    return Experiment(data.train_images, data.train_labels, data.image_shape, noise,
                      "sampling", steps, seed)


__all__ = ["ConceptReadings", "SampledSequence", "StageReading", "StageSweep",
           "courses_stage", "experiment", "sequence_stage", "stages_stage"]
