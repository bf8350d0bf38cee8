"""The stages of the latent-size study and the digit attribution (figures 6, 7, B.2):
a sweep of VAEs over Nz (x lr x batch), the dip and the concept cosines per Nz, the
best test ELBO per Nz, and a CNN reading the end points x(T) of trials run on the
main Nz = 100 model (as in the paper). Each stage returns a results object.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from latentdyn.analysis import (
    Hierarchy,
    build_hierarchy,
    cosine_matrix,
    dip_statistic_from_trials,
    mean_abs_offdiagonal,
    mean_sem,
)
from latentdyn.analysis.distances import split_halves
from latentdyn.analysis.geometry import random_concepts_null
from latentdyn.analysis.trials import TimeCourse, concept_time_course
from latentdyn.models.inference import inference_mode
from latentdyn.studies.nagano2017.profiles import (
    CHECKPOINT_EVERY,
    FIG6_NZ,
    LABEL,
    LatentSizeProfile,
)
from latentdyn.studies.nagano2017.stages import NULL_SEED, Experiment
from latentdyn.sweep import best_by, read_summary, run_sweep
from latentdyn.train import TrainConfig, ensure_trained
from latentdyn.train.runs import load_run

FIG6_SEED, FIGB2_SEED, ELBO_SEED = 600, 800, 700  # offsets of the run's seed
ELBO_DRAWS = 10  # draws of z per test image in C7's per-image ELBO (issue 19)


# ------------------------------------------------------------------- the sweep
@dataclass
class LatentSizeSweep:
    """The trained sweep: its grid and the best configuration (summary row) per Nz, for
    the training seed ``seed`` (the sweep may hold several, see :func:`for_seed`)."""

    folder: Path
    nz: list[int]  # the Nz of the grid, increasing
    grid: dict
    best: dict  # nz -> row of summary.csv with the best test ELBO
    seed: int = 0
    rows: list = field(default_factory=list)  # every row of summary.csv

    def for_seed(self, seed: int) -> "LatentSizeSweep":
        """The same sweep with the best configuration per Nz among the points of ``seed``."""
        mine = [r for r in self.rows if int(r.get("seed", seed)) == int(seed)]
        return replace(self, best=best_by(mine, "nz", "test_elbo"), seed=seed)


def sweep_stage(folder: Path, data, prof: LatentSizeProfile, *, data_dir, seed: int, device,
                progress: bool, seeds=None, backend: dict | None = None) -> LatentSizeSweep:
    """Train (or reuse) every point of the Nz x lr x batch grid (x ``seeds``, by default
    ``[seed]``) and its test ELBO, on ``backend`` (``run_sweep``'s backend options);
    the result is that of ``seed``."""
    nz_grid = sorted(set(prof.nz) | set(FIG6_NZ))
    grid = {"dataset": data.name, "data_dir": data_dir, "epochs": prof.epochs,
            "device": str(device), "nz": nz_grid, "lr": list(prof.lr),
            "batch_size": list(prof.batch), "seed": list(seeds or [seed]),
            "eval_every": max(1, prof.epochs), "checkpoint_every": CHECKPOINT_EVERY}
    summary = run_sweep(grid, folder, ll_k=prof.ll_k, ll_images=prof.ll_images,
                        progress=progress, dataset=data, **(backend or {}))
    rows = read_summary(summary)
    return LatentSizeSweep(folder, nz_grid, grid, {}, seed, rows).for_seed(seed)


# ------------------------------------------------------------------- Fig. 6
def spearman(x, y) -> float:
    """Spearman's rank correlation (nan when either side is constant)."""
    rx = np.argsort(np.argsort(np.asarray(x, dtype=float)))
    ry = np.argsort(np.argsort(np.asarray(y, dtype=float)))
    if np.std(rx) == 0 or np.std(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


@dataclass
class LatentSizeScan:
    """Per Nz of the sweep: the dip of label 6 and the mean |off-diagonal cosine|; the
    curves and cosine matrices of the Nz drawn in Fig. 6."""

    dips: dict[int, dict]
    offdiag: dict[int, float]
    means: dict[int, np.ndarray]  # FIG6_NZ only
    sems: dict[int, np.ndarray]
    cosines: dict[int, np.ndarray]
    trials: int
    steps: int
    p: float
    distances: dict = field(default_factory=dict)  # nz -> (trials, T+1), for resampling
    null_mean: dict = field(default_factory=dict)  # nz -> C4's null of that model (issue 19)
    null_quantile: dict = field(default_factory=dict)  # nz -> its 5 % quantile

    @property
    def dip_nz(self) -> list[int]:
        """The Nz whose label-6 trials dip."""
        return [nz for nz in sorted(self.dips) if self.dips[nz]["has_dip"]]

    @property
    def first_dip(self) -> int | None:
        """The smallest Nz from which on every larger Nz dips."""
        dips = self.dips
        return next((nz for nz in sorted(dips)
                     if all(dips[m]["has_dip"] for m in sorted(dips) if m >= nz)), None)

    @property
    def orthogonality_rho(self) -> float:
        """Spearman rho of Nz against the mean |off-diagonal cosine| over FIG6_NZ (the
        rule before issue 19: random directions fall like Nz^-1/2 too)."""
        return spearman(list(FIG6_NZ), [self.offdiag.get(nz, np.nan) for nz in FIG6_NZ])

    @property
    def relative_cosine(self) -> dict:
        """Per Nz, the mean |off-diagonal cosine| over that model's own null mean
        (concepts with random directions, :func:`~latentdyn.analysis.geometry.
        random_concepts_null`): 1 at the random level, below 1 more orthogonal."""
        return {nz: self.offdiag[nz] / self.null_mean[nz] for nz in self.offdiag
                if nz in self.null_mean and self.null_mean[nz] > 0}

    @property
    def relative_rho(self) -> float:
        """Spearman rho of Nz against :attr:`relative_cosine` over FIG6_NZ (issue 19):
        whether orthogonality *beyond its null* grows with Nz."""
        rel = self.relative_cosine
        return spearman(list(FIG6_NZ), [rel.get(nz, np.nan) for nz in FIG6_NZ])

    @property
    def old_dip_nz(self) -> list[int]:
        """The Nz whose label-6 trials dip by the rule before issue 19."""
        return [nz for nz in sorted(self.dips) if self.dips[nz].get("old_has_dip")]


def scan_stage(sweep: LatentSizeSweep, exp: Experiment, trials: int, p: float,
               device) -> LatentSizeScan:
    """Fig. 6: the label-6 time course and the concept cosines of the best model per Nz
    (``exp.steps`` is the study's T)."""
    scan = LatentSizeScan({}, {}, {}, {}, {}, trials, exp.steps, p)
    for nz in sweep.nz:
        if nz not in sweep.best:
            continue
        model, _ = load_run(sweep.folder / sweep.best[nz]["point"], device=device)
        hier = build_hierarchy(model, exp.images, exp.labels)
        tc = concept_time_course(model, hier, exp.images, exp.labels, LABEL, trials, p,
                                 exp.noise, exp.steps, exp.mode, seed=exp.seed + FIG6_SEED)
        scan.dips[nz] = tc.dip
        scan.distances[nz] = tc.distances.numpy()
        cos = cosine_matrix(hier.concepts)
        scan.offdiag[nz] = mean_abs_offdiagonal(cos)
        null = random_concepts_null(hier.memories, hier.labels, seed=exp.seed + NULL_SEED)
        scan.null_mean[nz], scan.null_quantile[nz] = null.mean, null.quantile
        if nz in FIG6_NZ:
            scan.means[nz], scan.sems[nz] = tc.mean.numpy(), tc.sem.numpy()
            scan.cosines[nz] = cos.numpy()
    return scan


# ------------------------------------------------------------------- Fig. 7
@dataclass
class ElboCurve:
    """The best test ELBO (and IWAE log-likelihood) per Nz, in increasing Nz."""

    nz: list[int]
    test_elbo: list[float]
    test_ll: list  # None where not measured
    active_units: Any  # of the largest Nz
    epochs: int
    per_image: Any = None  # (test images, Nz) ELBO of each image (ELBO_DRAWS draws), or None

    @property
    def elbo(self) -> list[float]:
        """The ELBO per Nz C7's verdict reads (issue 19): the mean of the per-image ELBOs
        its interval resamples, when measured; else the sweep's summary ELBO."""
        if self.per_image is not None and len(self.nz):
            return [float(v) for v in np.asarray(self.per_image).mean(0)]
        return list(self.test_elbo)

    @property
    def best_nz(self) -> int | None:
        return self.nz[int(np.argmax(self.elbo))] if self.nz else None

    @property
    def gap(self) -> float:
        """Nats from the best ELBO down to that of the largest Nz (of :attr:`elbo`)."""
        e = self.elbo
        return (max(e) - e[-1]) if self.nz else float("nan")

    @property
    def summary_best_nz(self) -> int | None:
        """The best Nz by the sweep's summary ELBO (the reading before issue 19)."""
        return self.nz[int(np.argmax(self.test_elbo))] if self.nz else None

    @property
    def summary_gap(self) -> float:
        return (max(self.test_elbo) - self.test_elbo[-1]) if self.nz else float("nan")


def elbo_stage(sweep: LatentSizeSweep, prof: LatentSizeProfile, data=None, device=None,
               seed: int = 0) -> ElboCurve:
    """Fig. 7 from the sweep's summary; with ``data``, also each best model's ELBO of
    every test image (for a bootstrap over test images, paired across Nz)."""
    best = sweep.best
    nzs = sorted(best)
    elbo = [best[n]["test_elbo"] for n in nzs]
    lls = [best[n].get("test_ll") for n in nzs]
    au100 = best[max(nzs)].get("active_units") if nzs else None
    per_image = None
    if data is not None and nzs:
        per_image = np.stack([_image_elbos(sweep.folder / best[n]["point"], data, device,
                                           seed + ELBO_SEED) for n in nzs], axis=1)
    return ElboCurve(nzs, elbo, lls, au100, prof.epochs, per_image)


def _image_elbos(run: Path, data, device, seed: int, chunk: int = 2000,
                 draws: int = ELBO_DRAWS) -> np.ndarray:
    """The ELBO (nats) of every test image under the run's model, averaged over
    ``draws`` seeded draws of z (one draw alone adds its noise to every image). Each
    chunk is encoded once for all draws (the posterior does not depend on the draw)."""
    model, _ = load_run(run, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    x = data.test_images
    total = torch.zeros(x.shape[0], dtype=torch.float64)
    with inference_mode(model):
        chunks = [x[i:i + chunk].to(device) for i in range(0, x.shape[0], chunk)]
        posteriors = [model.encode(c) for c in chunks]
        for _ in range(int(draws)):
            total += torch.cat([model.elbo(c, generator=gen, posterior=q).cpu()
                                for c, q in zip(chunks, posteriors)]).double()
    return (total / int(draws)).numpy()


# ------------------------------------------------------------------- Fig. B.2
@dataclass
class Classifier:
    """The CNN of Fig. B.2, its accuracy on the test images, and how it reads the
    digit of Fig. B.2 there: ``recall`` (the share of test images of LABEL it reads as
    LABEL) and ``false_rate`` (the share of the other test images it reads as LABEL)."""

    model: Any
    test_accuracy: float
    recall: float = float("nan")
    false_rate: float = float("nan")


def classifier_stage(folder: Path, data, *, data_dir, epochs: int, seed: int, device,
                     progress: bool) -> Classifier:
    """Train (or reuse) the CNN digit classifier."""
    config = TrainConfig(model="classifier", dataset=data.name, data_dir=data_dir,
                         epochs=epochs, seed=seed, device=str(device),
                         eval_every=max(1, epochs), checkpoint_every=CHECKPOINT_EVERY)
    ensure_trained(config, folder, progress=progress)
    clf, _ = load_run(folder, device=device)
    with torch.no_grad():
        pred = clf.predict(data.test_images.to(device)).cpu()
    acc = float((pred == data.test_labels).float().mean())
    mine = data.test_labels == LABEL
    recall = float((pred[mine] == LABEL).float().mean()) if bool(mine.any()) else float("nan")
    false = float((pred[~mine] == LABEL).float().mean()) if bool((~mine).any()) else float("nan")
    return Classifier(clf, acc, recall, false)


@dataclass
class Attribution:
    """Trials from corrupted '6's on the main model: the CNN's reading of x(T), and the
    distance to the concept of all trials and of those still read as '6'."""

    classifier_accuracy: float
    probs: Tensor  # (trials, labels) at x(T)
    course: TimeCourse  # all trials
    kept: Tensor  # (trials,) bool: read as LABEL at T
    mean_kept: Tensor
    sem_kept: Tensor
    dip_kept: dict
    trials: int
    steps: int
    classifier_recall: float = float("nan")  # P(read LABEL | LABEL) on test images
    classifier_false_rate: float = float("nan")  # P(read LABEL | another digit)

    @property
    def n_kept(self) -> int:
        return int(self.kept.sum())

    @property
    def corrected_kept(self) -> float:
        """The number of trials whose x(T) *is* a LABEL, estimated from the kept count k
        of n with the CNN's test-set recall r and false rate f: (k − f n) / (r − f), the
        usual correction for misclassification (it assumes the CNN errs on x(T) as on
        test images; nan when r <= f or either is unknown)."""
        r, f = self.classifier_recall, self.classifier_false_rate
        if not (r == r and f == f) or r <= f:
            return float("nan")
        return (self.n_kept - f * self.trials) / (r - f)

    @property
    def dip_all(self) -> dict:
        return self.course.dip


def attribution_stage(model, hier: Hierarchy, clf: Classifier, exp: Experiment, trials: int,
                      p: float, device) -> Attribution:
    """Fig. B.2: ``trials`` trials of ``exp.steps`` steps on the main model ``model``,
    read by the CNN at T."""
    steps = exp.steps
    tc = concept_time_course(model, hier, exp.images, exp.labels, LABEL, trials, p,
                             exp.noise, steps, exp.mode, seed=exp.seed + FIGB2_SEED,
                             keep=True, record_x=(steps,))
    with torch.no_grad():
        probs = clf.model.predict_proba(tc.trajectory.x_at(steps).to(device)).cpu()
    kept = probs.argmax(1) == LABEL
    d = tc.distances
    if int(kept.sum()) >= 2:
        m_k, s_k = mean_sem(d[kept])
        # the kept trials keep their halves of the dip rule's split of all trials
        dip_kept = dip_statistic_from_trials(d[kept], split_halves(len(d))[kept.numpy()])
    else:
        m_k = s_k = torch.full_like(tc.mean, float("nan"))
        dip_kept = {"has_dip": False, "t_star": None}
    return Attribution(clf.test_accuracy, probs, tc, kept, m_k, s_k, dip_kept, trials, steps,
                       getattr(clf, "recall", float("nan")),
                       getattr(clf, "false_rate", float("nan")))
