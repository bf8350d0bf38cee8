"""The stages of figures 1-4 and A.1: the hierarchy of the VAE's memories, and the
repeated-inference experiments measured against it. Each stage returns a results
object; nothing here draws or writes a file.

Every experiment has its own seed (offsets of the run's ``seed``), so no stage depends
on which stages ran before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from latentdyn.analysis import (
    Hierarchy,
    active_units,
    build_hierarchy,
    cosine_matrix,
    distance_to,
    dims_for,
    mean_abs_offdiagonal,
    pca_2d,
    pca_cumulative,
)
from latentdyn.analysis.geometry import (
    SENSITIVITY_THRESHOLDS,
    activity_sensitivity,
    component_variances,
    participation_ratio,
    random_concepts_null,
    random_cosine,
    shuffled_concepts_null,
)
from latentdyn.analysis.hierarchy import posterior_logvars
from latentdyn.analysis.trials import (
    NoiseSweep,
    TimeCourse,
    concept_time_course,
    corrupted_trials,
    noise_sweep,
)
from latentdyn.dynamics import run_dynamics
from latentdyn.models.protocol import data_mean
from latentdyn.studies.nagano2017.profiles import FIGA1_SUBSET, LABEL, Profile

# seeds of the experiments, as offsets of the run's seed
FIG2_SEED_STRIDE = 101  # label c: seed + 101 (c + 1)
FIG4_SEED = 5000
FIGA1_SEED = 77


@dataclass
class Experiment:
    """What every experiment shares: the training images the trials start from and
    the settings of the dynamics."""

    images: Tensor
    labels: Tensor
    image_shape: tuple
    noise: str
    mode: str
    steps: int
    seed: int


# ------------------------------------------------------------------- the hierarchy
def hierarchy_stage(model, exp: Experiment) -> Hierarchy:
    """Memories ξ⁽ⁱ⁾ of the training images, concepts ξ̄_label, the abstract concept."""
    return build_hierarchy(model, exp.images, exp.labels)


def logvars_stage(model, exp: Experiment):
    """The posterior log-variances of the training images (None for a model whose
    ``encode`` gives only a mean): the per-unit KL criterion of C2."""
    return posterior_logvars(model, exp.images)


# ------------------------------------------------------------------- Fig. 1
@dataclass
class CorruptedSequence:
    """x(t) of one trial from a corrupted '6', the decoded concept of '6', and the
    trial's distances to its own memory, the concept and the abstract concept."""

    frames: np.ndarray  # (T+1, H, W)
    steps: list  # t of each frame
    concept_image: np.ndarray  # (H, W)
    p: float
    distances: dict = field(default_factory=dict)  # level -> (T+1,) ‖z(t) − level‖
    readings: dict = field(default_factory=dict)  # t -> (digit, probability) of the CNN


def sequence_readings(seq: CorruptedSequence, classifier, device) -> dict:
    """What the CNN reads in Fig. 1's x(t) at t = 0, the frame nearest t = 5 and the
    last frame: ``{t: (digit, probability)}``."""
    steps = list(seq.steps)
    picks = sorted({0, min(range(len(steps)), key=lambda k: abs(steps[k] - 5)),
                    len(steps) - 1})
    frames = torch.as_tensor(np.asarray(seq.frames, np.float32)[picks]).reshape(len(picks), -1)
    with torch.no_grad():
        probs = classifier.model.predict_proba(frames.to(device)).cpu()
    return {steps[k]: (int(pr.argmax()), float(pr.max())) for k, pr in zip(picks, probs)}


def sequence_stage(model, hier: Hierarchy, exp: Experiment, p: float,
                   device) -> CorruptedSequence:
    """Fig. 1: one corrupted training '6' through T steps."""
    idx, x0 = corrupted_trials(exp.images, exp.labels, LABEL, 1, exp.noise, p, exp.seed)
    seq = run_dynamics(model, x0, steps=exp.steps, mode=exp.mode, record_x="all",
                       generator=exp.seed)
    levels = {"own memory": hier.memories[idx[0]], "concept": hier.concept(LABEL),
              "abstract concept": hier.abstract}
    distances = {name: distance_to(seq.z, v.cpu())[0].numpy() for name, v in levels.items()}
    frames = seq.x[0].reshape(-1, *exp.image_shape).numpy()
    with torch.no_grad():
        concept_img = data_mean(model, hier.concept(LABEL)[None].to(device)).cpu()
    concept_image = concept_img.reshape(exp.image_shape).numpy()
    return CorruptedSequence(frames, list(seq.x_steps), concept_image, p, distances)


# ------------------------------------------------------------------- Fig. 2
@dataclass
class ConceptCourses:
    """‖z(t) − ξ̄_label‖ for every label (Fig. 2)."""

    classes: list[int]
    courses: dict[int, TimeCourse]
    trials: int
    p: float

    @property
    def dips(self) -> dict[int, dict]:
        return {c: tc.dip for c, tc in self.courses.items()}

    @property
    def n_dip(self) -> int:
        return sum(bool(d["has_dip"]) for d in self.dips.values())


def courses_stage(model, hier: Hierarchy, exp: Experiment, trials: int, p: float,
                  progress: bool) -> ConceptCourses:
    """Fig. 2: ``trials`` corrupted training images of every label."""
    classes = [int(c) for c in hier.classes]
    courses = {}
    for c in tqdm(classes, desc="fig 2 (labels)", disable=not progress):
        courses[c] = concept_time_course(model, hier, exp.images, exp.labels, c, trials, p,
                                         exp.noise, exp.steps, exp.mode,
                                         seed=exp.seed + FIG2_SEED_STRIDE * (c + 1))
    return ConceptCourses(classes, courses, trials, p)


# ------------------------------------------------------------------- Fig. 3
SHUFFLED_SEED = 3000  # offset of the shuffled-label check of C4
SHUFFLES = 100
NULL_SEED = 3100  # offset of C4's Monte-Carlo null (issue 19)


@dataclass
class ConceptGeometry:
    """Active units, principal components of the memories, cosines of the concepts, and
    the references of C2-C4: active units at other thresholds and by the per-unit KL,
    principal components above the same variance thresholds, the participation ratio
    (effective dimension), random directions in it (issue 11's reference), C4's null
    (concepts with random directions, issue 19) and concepts of shuffled labels (a
    check that the labels carry structure)."""

    concepts: Tensor  # (K, nz)
    classes: list[int]
    active_mask: Tensor
    n_active: int
    cumulative: Any  # cumulative contribution ratio per component
    dims_70: int
    dims_99: int
    cosines: Tensor  # (K, K)
    offdiagonal: float  # mean |cosine| between different concepts
    nz: int
    sensitivity: dict = field(default_factory=dict)  # "var > 0.05": active units, ...
    pc_sensitivity: dict = field(default_factory=dict)  # "var > 0.05": components, ...
    participation_ratio: float = float("nan")
    random_cosine: float = float("nan")  # mean |cos| of random directions in PR dims
    shuffled_cosine: float = float("nan")  # mean over shuffled-label concepts
    shuffled_quantile: float = float("nan")  # its 5 % quantile
    null_mean: float = float("nan")  # C4's null: random concept directions (issue 19)
    null_quantile: float = float("nan")  # its 5 % quantile: C4's threshold
    null_high: float = float("nan")  # its 95 % quantile


def geometry_stage(hier: Hierarchy, nz: int, logvars=None, seed: int = 0) -> ConceptGeometry:
    """Fig. 3a-c from the memories and concepts, with the references of C2-C4
    (``logvars``: the posterior log-variances of the memories, for the KL criterion)."""
    mask, n_active = active_units(hier.memories)
    cum = pca_cumulative(hier.memories)
    d70, d99 = dims_for(cum, 0.7), dims_for(cum, 0.99)
    cos = cosine_matrix(hier.concepts)
    off = mean_abs_offdiagonal(cos)
    lam = component_variances(hier.memories)
    pr = participation_ratio(variances=lam)
    shuffled = shuffled_concepts_null(hier.memories, hier.labels, n_permutations=SHUFFLES,
                                      seed=seed + SHUFFLED_SEED)
    null = random_concepts_null(hier.memories, hier.labels, seed=seed + NULL_SEED)
    return ConceptGeometry(
        hier.concepts, [int(c) for c in hier.classes], mask, n_active, cum, d70, d99, cos, off,
        nz, activity_sensitivity(hier.memories, logvars),
        {f"var > {t:g}": int((lam > t).sum()) for t in SENSITIVITY_THRESHOLDS}, pr,
        random_cosine(pr), shuffled.mean, float(np.quantile(shuffled.samples, 0.05)),
        null.mean, null.quantile, float(np.quantile(null.samples, 0.95)))


# ------------------------------------------------------------------- Fig. 4
def stages_stage(model, hier: Hierarchy, exp: Experiment, ps, trials: int,
                 progress: bool) -> NoiseSweep:
    """Fig. 4: min_t distances to own memory, concept and abstract concept against p."""
    bar = tqdm(total=len(ps), desc="fig 4 (noise levels)", disable=not progress)
    sweep = noise_sweep(model, hier, exp.images, exp.labels, LABEL, ps, trials, exp.noise,
                        exp.steps, exp.mode, seed=exp.seed + FIG4_SEED,
                        progress=lambda k, n: bar.update())
    bar.close()
    return sweep


# ------------------------------------------------------------------- Fig. A.1
@dataclass
class MemoryEmbedding:
    """2-D PCA of a random subset of the memories: all labels, and FIGA1_SUBSET alone."""

    embedding: np.ndarray  # (N, 2)
    labels: np.ndarray  # (N,)
    explained: list  # variance ratio of PC1, PC2
    embedding_subset: np.ndarray  # (M, 2), a PCA fitted on the subset's labels only
    labels_subset: np.ndarray
    explained_subset: list
    subset: tuple = FIGA1_SUBSET


def embedding_stage(hier: Hierarchy, exp: Experiment, points: int) -> MemoryEmbedding:
    """Fig. A.1: ``points`` training memories drawn at random."""
    labels = exp.labels
    gen = torch.Generator().manual_seed(exp.seed + FIGA1_SEED)
    pick = torch.randperm(len(labels), generator=gen)[:points]
    emb, ratios = pca_2d(hier.memories[pick])
    sub = torch.isin(labels[pick], torch.tensor(FIGA1_SUBSET))
    emb_s, ratios_s = pca_2d(hier.memories[pick][sub])
    return MemoryEmbedding(np.asarray(emb), labels[pick].numpy(), list(np.asarray(ratios)),
                           np.asarray(emb_s), labels[pick][sub].numpy(),
                           list(np.asarray(ratios_s)))


def experiment(data, prof: Profile, noise: str, mode: str, seed: int) -> Experiment:
    """The shared settings of the experiments on ``data``'s training images."""
    return Experiment(data.train_images, data.train_labels, data.image_shape, noise, mode,
                      prof.steps, seed)
