"""Stages 2-4: the GAN's samples, the quasi-eigenvectors with the LSD of the test
images, and the LSD figures (Gram matrices, decoded quasi-eigenvectors, amplitude
histograms). Each stage returns a dataclass of its results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from latentdyn.studies.toledo2023.measures import (AmplitudeHistograms, DecodedVectors,
                                                     GanQuality, accuracy, decoded_vectors,
                                                     gan_quality, histograms)
from latentdyn.studies.toledo2023.models import Networks
from latentdyn.studies.toledo2023.profiles import Profile

Save = Callable[..., Any]  # (figure, stem, **kw) -> SavedFigure


@dataclass
class Images:
    """The images of the study: those the basis is built from and the test images the
    LSD statistics are measured on (the profile's first N of each)."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    side: tuple

    @classmethod
    def of(cls, prof: Profile, data) -> "Images":
        train_x = data.train_images if prof.basis_images is None else \
            data.train_images[:prof.basis_images]
        n_test = len(data.test_labels) if prof.test_images is None else \
            min(prof.test_images, len(data.test_labels))
        return cls(train_x, data.train_labels[:train_x.shape[0]], data.test_images[:n_test],
                   data.test_labels[:n_test], tuple(data.image_shape[-2:]))


# ------------------------------------------------------------------------ GAN samples
@dataclass
class GanSamples:
    quality: GanQuality
    figure: Any  # SavedFigure


def gan_samples(nets: Networks, images: Images, prof: Profile, num_classes: int, seed: int,
                save: Save) -> GanSamples:
    """Prior samples G(z) and their quality as the judge sees it."""
    from latentdyn.figures import image_grid

    nz, side = nets.nz, images.side
    q = gan_quality(nets.encoder, nets.judge, nets.classifier, nz,
                    max(prof.samples, min(1000, len(images.test_y))), seed, images.test_x)
    ns = prof.samples
    cols = int(math.ceil(math.sqrt(ns)))
    rows_ = int(math.ceil(ns / cols))
    grid = torch.full((rows_ * cols, int(np.prod(side))), float("nan"))
    grid[:ns] = q.images[:ns]
    figure = save(image_grid(
        grid.reshape(rows_, cols, *side).numpy(), caption=(
            f"G(z) for {ns} prior samples z ~ N(0, I) (nz = {nz}); the judge's label of "
            f"each in the CSV. Judge on {q.n} samples: class shares "
            + ", ".join(f"{c}: {100 * s:.0f} %" for c, s in enumerate(q.class_share_judge))
            + f"; score exp E KL(p(y|x)||p(y)) = {q.score_generated:.2f} (test images: "
            f"{q.score_test_images:.2f}, maximum {num_classes})."),
        title="GAN samples"), "gan_samples",
        csv_columns={"sample": np.arange(ns), "judge_label": q.judge_labels[:ns].numpy(),
                     "classifier_label": q.classifier_labels[:ns].numpy()})
    return GanSamples(q, figure)


# ------------------------------------------------------------------------ LSD
@dataclass
class LSDResults:
    """The quasi-eigenbasis, the LSD of the test images and the span check (T5)."""

    basis: Any  # QuasiEigenbasis
    summary: dict  # latentdyn.analysis.lsd.analyse's summary
    coefficients: Tensor  # c = <E(x), ξ_i> of the test images (float64)
    reconstruction_error: float  # max relative error of z = Σ c_i ξ_i
    gram_deviation: float  # max |Ξ Ξᵀ − I|
    accuracies: dict  # C's and J's accuracy on the test images and on G(E(x))
    subspace: dict  # reading ("paper", "centred") -> LabelSubspaceTest (T1's null)
    lsd_correct: np.ndarray  # (n_test,) float: argmax |c_i| is the true label's vector
    rank: np.ndarray  # (n_test,) the true label's rank among the nz |c_i| (-1: none)

    @property
    def test(self) -> dict:
        return self.summary["test"]

    @property
    def num_label(self) -> int:
        return self.basis.num_label

    @property
    def classes(self) -> list:
        return self.basis.classes.tolist()

    @property
    def label_fraction(self) -> float:
        return float(self.test["label_subspace_fraction"])

    @property
    def energy(self) -> float:
        """The share of Σ c_i² in the label sub-space."""
        c, k = self.coefficients, self.num_label
        return float((c[:, :k] ** 2).sum() / (c ** 2).sum().clamp_min(1e-300))


def quasi_eigenvectors(nets: Networks, images: Images, prof: Profile, num_classes: int,
                       seed: int, out: Path, progress: bool) -> LSDResults:
    """The basis from E over the training images and prior samples, labelled by C
    (saved as ``basis.safetensors``), the LSD of the test images, and the label-sub-space
    fraction of both readings with its shuffled-label null (T1)."""
    from latentdyn.analysis.lsd import (analyse, basis_from_latents, coefficients,
                                        collect_latents, lsd_classify, reconstruct,
                                        save_basis, true_label_rank)
    from latentdyn.models.inference import decode_all, encode_all

    model, clf, judge = nets.encoder, nets.classifier, nets.judge
    test_x, test_y = images.test_x, images.test_y
    lat = collect_latents(model, clf, images.train_x, prof.n_prior, num_classes=num_classes,
                          max_per_class=prof.max_per_class, generator=seed, progress=progress)
    basis = basis_from_latents(lat, prof.max_per_class)
    basis, summary = analyse(model, clf, images.train_x, test_x, test_y, images.train_y,
                             max_per_class=prof.max_per_class, num_classes=num_classes,
                             basis=basis, progress=progress)
    save_basis(out / "basis.safetensors", basis, {"encoder": nets.paths["encoder"],
                                                  "classifier": nets.paths["classifier"]})
    z_test = encode_all(model, test_x).double()
    c = coefficients(z_test, basis)
    recon_err = float((reconstruct(c, basis) - z_test).norm(dim=1).max()
                      / z_test.norm(dim=1).clamp_min(1e-12).min())
    gram_dev = float(summary["gram"]["basis_max_deviation_from_identity"])
    acc = {"classifier_test": accuracy(clf, test_x, test_y),
           "judge_test": accuracy(judge, test_x, test_y)}
    recon_x = decode_all(model, z_test.float())
    acc["classifier_reconstructions"] = accuracy(clf, recon_x, test_y)
    acc["judge_reconstructions"] = accuracy(judge, recon_x, test_y)
    subspace = label_subspace_tests(lat, z_test, prof.max_per_class, seed)
    correct = (lsd_classify(c, basis).label == test_y).double().numpy()
    rank = true_label_rank(c, test_y, basis).numpy()
    return LSDResults(basis, summary, c, recon_err, gram_dev, acc, subspace, correct, rank)


def label_subspace_tests(lat, z_test: Tensor, max_per_class: int, seed: int) -> dict:
    """T1's readings of the label-sub-space fraction ("paper": as the abstract;
    "centred": the latents' shared offset removed before Gram–Schmidt), each with the
    fraction under :data:`~.claims.T1_PERMUTATIONS` shuffles of the basis latents'
    labels."""
    from latentdyn.analysis.lsd import label_subspace_test
    from latentdyn.studies.toledo2023.claims import T1_PERMUTATIONS

    if len(torch.unique(lat.classes)) < 2:
        return {}
    return {reading: label_subspace_test(lat.z, lat.classes, z_test,
                                         max_per_class=max_per_class, reading=reading,
                                         n_permutations=T1_PERMUTATIONS, seed=seed + 11)
            for reading in ("paper", "centred")}


# ------------------------------------------------------------------------ LSD figures
@dataclass
class GramMatrices:
    means_cos: np.ndarray  # cosines of the class means
    vector_gram: np.ndarray  # ξ_i·ξ_j
    cross: np.ndarray  # cos(ξ_i, m_j)
    off_means: float  # mean |off-diagonal| of means_cos
    figure: Any


@dataclass
class Decoded:
    vectors: DecodedVectors
    figure: Any

    @property
    def n_one(self) -> int:  # classes whose G(s_k ξ_k) the judge reads as k (T4)
        return self.vectors.read_as_own("judge", 2)

    @property
    def n_one_classifier(self) -> int:
        return self.vectors.read_as_own("classifier", 2)

    @property
    def n_mean(self) -> int:  # classes whose G(m_k) the judge reads as k
        return self.vectors.read_as_own("judge", 0)

    @property
    def per_factor(self) -> list[int]:
        return [self.vectors.read_as_own("judge", col)
                for col in range(len(self.vectors.columns))]


@dataclass
class Amplitudes:
    histograms: AmplitudeHistograms
    per_class_accuracy: dict  # class -> LSD accuracy, in Gram–Schmidt order
    figure: Any


def gram_figure(lsd: LSDResults, images: Images, prof: Profile, save: Save) -> GramMatrices:
    from latentdyn.figures.toledo import gram_matrices

    basis, k_lab = lsd.basis, lsd.num_label
    units = basis.class_means / torch.linalg.vector_norm(basis.class_means, dim=1,
                                                          keepdim=True)
    means_cos = basis.gram_means().numpy()
    vec_gram = basis.gram_vectors().numpy()
    cross = (basis.vectors[:k_lab] @ units.T).numpy()
    off_means = float(np.abs(means_cos[~np.eye(k_lab, dtype=bool)]).mean()) \
        if k_lab > 1 else float("nan")
    figure = save(gram_matrices(means_cos, vec_gram, cross, lsd.classes, caption=(
        f"Left: cosine similarity of the {k_lab} class means m_k (latents labelled by "
        f"C(G(z)): E over {len(images.train_y)} training images, then prior samples; at most "
        f"{prof.max_per_class} per class; counts {basis.counts.tolist()}); mean "
        f"|off-diagonal| {off_means:.3f}. Middle: ξ_i·ξ_j of the Gram–Schmidt "
        f"quasi-eigenvectors (max |Ξ Ξᵀ − I| over all {basis.nz} vectors "
        f"{lsd.gram_deviation:.1e}). Right: cos(ξ_i, m_j).")), "gram_matrices")
    return GramMatrices(means_cos, vec_gram, cross, off_means, figure)


def decoded_figure(nets: Networks, lsd: LSDResults, images: Images, save: Save,
                   seed: int = 0) -> Decoded:
    from latentdyn.figures import image_grid
    from latentdyn.studies.toledo2023.claims import T4_RANDOM

    k_lab, labels_k = lsd.num_label, lsd.classes
    v = decoded_vectors(nets.encoder, lsd.basis, nets.classifier, nets.judge,
                        n_random=T4_RANDOM, seed=seed + 17)
    figure = save(image_grid(
        v.images.reshape(k_lab, len(v.columns), *images.side).numpy(),
        row_labels=[f"{lab}: s={s:.2f}" for lab, s in zip(labels_k, v.scales)],
        col_labels=[x.replace("G(", "").rstrip(")") for x in v.columns], cell=0.8,
        title="decoded quasi-eigenvectors", caption=(
            "Row k: G(m_k) (the class mean), then G(f·s_k·ξ_k) for f = 0.5, 1, 2, where "
            "s_k = <m_k, ξ_k> is the class mean's own coefficient (the scale the class's "
            "latents have on ξ_k on average; given per row; ‖m_k‖ = "
            + ", ".join(f"{n:.2f}" for n in v.norm_class_means)
            + f"). The judge reads G(s_k ξ_k) as k for {v.read_as_own('judge', 2)} of {k_lab} "
            f"classes, G(m_k) for {v.read_as_own('judge', 0)}; classifier C: "
            f"{v.read_as_own('classifier', 2)} of {k_lab}.")),
        "decoded_quasi_eigenvectors",
        csv_columns={"class": np.asarray(labels_k), "s_k": np.asarray(v.scales),
                     "norm_m_k": np.asarray(v.norm_class_means),
                     **{f"judge_{n}": v.judge[:, i].numpy() for i, n in enumerate(v.columns)},
                     **{f"classifier_{n}": v.classifier[:, i].numpy()
                        for i, n in enumerate(v.columns)}})
    return Decoded(v, figure)


def amplitude_figure(lsd: LSDResults, images: Images, save: Save) -> Amplitudes:
    from latentdyn.figures.toledo import amplitude_histograms

    t, k_lab, nz = lsd.test, lsd.num_label, lsd.basis.nz
    hist = histograms(lsd.coefficients, images.test_y, lsd.basis)
    per_class_acc = {lab: t["per_class"][lab]["lsd_accuracy"] for lab in lsd.classes
                     if lab in t["per_class"]}
    figure = save(amplitude_histograms(
        hist.edges, hist.groups, hist.rank_names, hist.rank_fractions,
        label_fraction=t["label_subspace_fraction"], per_class=per_class_acc, caption=(
            f"(a) |c_i| = |<E(x), ξ_i>| over {t['n']} test images: on the vector of the "
            f"image's true label, on the other {k_lab - 1} label vectors, and on the "
            f"{nz - k_lab} completing vectors (mean |c|: "
            + ", ".join(f"{n} {v:.2f}" for n, v in hist.mean_abs.items())
            + f"). (b) rank of the true label's |c| among all {nz}; LSD accuracy "
            f"{100 * t['lsd_accuracy']:.1f} %, mean rank {t['mean_rank']:.2f}. Chance "
            f"for the label-sub-space fraction with an isotropic latent: "
            f"{100 * k_lab / nz:.0f} %{_null_text(lsd)}. (c) LSD accuracy of the test "
            f"images of each class, classes in the order of the Gram–Schmidt process.")),
        "amplitude_histograms")
    return Amplitudes(hist, per_class_acc, figure)


def _null_text(lsd: LSDResults) -> str:
    """The label-sub-space fractions of both readings with their shuffled-label nulls."""
    parts = [f"{'as the paper' if r == 'paper' else 'latents centred first'}: "
             f"{100 * t.fraction:.1f} % (shuffled labels {100 * t.null.mean:.1f} %, "
             f"{100 * t.null.level:g}th percentile {100 * t.null.quantile:.1f} %)"
             for r, t in lsd.subspace.items()]
    return "; label-sub-space fraction " + ", ".join(parts) if parts else ""
