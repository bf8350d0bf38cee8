"""Stages 2-4: the GAN's samples, the quasi-eigenvectors with the LSD of the test
images, and what the LSD figures show (Gram matrices, decoded quasi-eigenvectors,
amplitude histograms). Each stage returns a dataclass of its results; the figures are
drawn from them by :mod:`.outputs`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from latentdyn.studies.toledo2023.measures import (AmplitudeHistograms, DecodedVectors,
                                                     GanQuality, accuracy, decoded_vectors,
                                                     gan_quality, histograms)
from latentdyn.studies.toledo2023.models import Networks
from latentdyn.studies.toledo2023.profiles import Profile


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
def gan_samples(nets: Networks, images: Images, prof: Profile, seed: int) -> GanQuality:
    """Prior samples G(z) and their quality as the judge sees it."""
    return gan_quality(nets.encoder, nets.judge, nets.classifier, nets.nz,
                       max(prof.samples, min(1000, len(images.test_y))), seed, images.test_x)


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
                       seed: int, progress: bool) -> LSDResults:
    """The basis from E over the training images and prior samples, labelled by C, the
    LSD of the test images, and the label-sub-space fraction of both readings with its
    shuffled-label null (T1)."""
    from latentdyn.analysis.lsd import (analyse, basis_from_latents, coefficients,
                                        collect_latents, lsd_classify, reconstruct,
                                        true_label_rank)
    from latentdyn.models.inference import decode_all, encode_all

    model, clf, judge = nets.encoder, nets.classifier, nets.judge
    test_x, test_y = images.test_x, images.test_y
    lat = collect_latents(model, clf, images.train_x, prof.n_prior, num_classes=num_classes,
                          max_per_class=prof.max_per_class, generator=seed, progress=progress)
    basis = basis_from_latents(lat, prof.max_per_class)
    basis, summary = analyse(model, clf, images.train_x, test_x, test_y, images.train_y,
                             max_per_class=prof.max_per_class, num_classes=num_classes,
                             basis=basis, progress=progress)
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


# ------------------------------------------------------------------------ LSD statistics
@dataclass
class GramMatrices:
    means_cos: np.ndarray  # cosines of the class means
    vector_gram: np.ndarray  # ξ_i·ξ_j
    cross: np.ndarray  # cos(ξ_i, m_j)
    off_means: float  # mean |off-diagonal| of means_cos


@dataclass
class Decoded:
    vectors: DecodedVectors

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


def gram_matrices(lsd: LSDResults) -> GramMatrices:
    """The cosines of the class means, the Gram matrix of the quasi-eigenvectors and
    the cosines between the two."""
    basis, k_lab = lsd.basis, lsd.num_label
    units = basis.class_means / torch.linalg.vector_norm(basis.class_means, dim=1,
                                                          keepdim=True)
    means_cos = basis.gram_means().numpy()
    vec_gram = basis.gram_vectors().numpy()
    cross = (basis.vectors[:k_lab] @ units.T).numpy()
    off_means = float(np.abs(means_cos[~np.eye(k_lab, dtype=bool)]).mean()) \
        if k_lab > 1 else float("nan")
    return GramMatrices(means_cos, vec_gram, cross, off_means)


def decoded(nets: Networks, lsd: LSDResults, seed: int = 0) -> Decoded:
    """The decodings of the class means and of the label quasi-eigenvectors at three
    scales, read by the judge and by C, with random directions as T4's reference."""
    from latentdyn.studies.toledo2023.claims import T4_RANDOM

    return Decoded(decoded_vectors(nets.encoder, lsd.basis, nets.classifier, nets.judge,
                                   n_random=T4_RANDOM, seed=seed + 17))


def amplitudes(lsd: LSDResults, images: Images) -> Amplitudes:
    """The histograms of |c_i| by group and the LSD accuracy of each class."""
    t = lsd.test
    hist = histograms(lsd.coefficients, images.test_y, lsd.basis)
    per_class_acc = {lab: t["per_class"][lab]["lsd_accuracy"] for lab in lsd.classes
                     if lab in t["per_class"]}
    return Amplitudes(hist, per_class_acc)
