"""Is the label-sub-space fraction evidence of labels? Its shuffled-label null and its
centred reading (issue 11).

The abstract's statistic (the largest |c_i| of a test latent falls on one of the K
label quasi-eigenvectors) can be near 1 for reasons that have nothing to do with the
labels: when the latents share a non-zero mean, the first Gram–Schmidt vector ξ_0 is
almost that mean, and ⟨z, ξ_0⟩ wins the argmax for almost every image, whatever the
labels. Two references tell the effect from that artefact:

* the **shuffled-label null** -- the same statistic with the basis built from the same
  latents under permuted labels (class sizes kept), so the class means carry no label
  information; :func:`label_subspace_test` reports its mean and upper quantile;
* the **centred reading** -- the latents' shared offset μ (the mean of the K class
  means, the abstract concept of paper 001) is subtracted before Gram–Schmidt and from
  every test latent. The K centred means sum to zero and span K − 1 dimensions, so the
  label sub-space of this reading has dimension K − 1 (the Gram–Schmidt vectors of the
  first K − 1 centred means in class order), and its isotropic chance is (K − 1)/nz.

Everything here is a pure function of tensors: the basis latents with their classes
(as :func:`~latentdyn.analysis.lsd.model.collect_latents` returns them) and the test
latents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from latentdyn.analysis.hierarchy import hierarchy_from_latents
from latentdyn.analysis.lsd.basis import first_per_class, orthonormal_completion
from latentdyn.analysis.uncertainty import Null, permutation_null
from latentdyn.checks import as_float, as_labels
from latentdyn.errors import ConfigError

READINGS = ("paper", "centred")


@dataclass
class LabelSpace:
    """A basis of R^nz whose first ``dim`` rows span the label sub-space, and the
    ``offset`` subtracted from every latent before its coefficients are taken."""

    vectors: Tensor  # (nz, nz) float64, orthonormal rows
    offset: Tensor  # (nz,) float64: zero for the paper's reading, μ when centred
    dim: int

    def in_label(self, z: Tensor) -> Tensor:
        """(n,) bool: argmax_i |⟨z − offset, ξ_i⟩| falls in the label sub-space."""
        c = (z.double() - self.offset) @ self.vectors.T
        return c.abs().argmax(1) < self.dim


def label_space(latents, classes, max_per_class: int = 5000, *,
                centre: bool = False) -> LabelSpace:
    """The label sub-space of latents ``latents`` (N, nz) labelled ``classes`` (N,): the
    Gram–Schmidt vectors of the class means (the first ``max_per_class`` latents of
    each class, as :func:`~latentdyn.analysis.lsd.basis.quasi_eigenvectors` takes them),
    completed to a basis; with ``centre`` the means minus their mean μ, of which the
    first K − 1 span the centred label sub-space (module doc)."""
    z = as_float(latents, "latents", 2).double().cpu()
    labels = as_labels(classes, "classes").cpu()
    if labels.shape[0] != z.shape[0]:
        raise ConfigError(f"latents has {z.shape[0]} rows but classes has {labels.shape[0]}")
    keep = first_per_class(labels, max_per_class)
    means = hierarchy_from_latents(z[keep], labels[keep]).concepts.double()
    offset = torch.zeros(z.shape[1], dtype=torch.float64)
    if centre:
        if means.shape[0] < 2:
            raise ConfigError("the centred label sub-space needs at least two classes")
        offset = means.mean(0)
        means = (means - offset)[:-1]
    return LabelSpace(orthonormal_completion(means), offset, int(means.shape[0]))


@dataclass
class LabelSubspaceTest:
    """The label-sub-space fraction of one reading (``"paper"`` or ``"centred"``) with
    its per-image indicator, the label sub-space's dimension, and the fraction under
    shuffled labels (``null``)."""

    reading: str
    fraction: float
    in_label: np.ndarray  # (n_test,) bool
    dim: int
    nz: int
    null: Null

    @property
    def chance(self) -> float:
        """The fraction an isotropic latent would give: dim / nz."""
        return self.dim / self.nz

    @property
    def margin(self) -> float:
        """How far the fraction lies above the null's upper quantile."""
        return self.fraction - self.null.quantile

    def summary(self) -> dict:
        return {"reading": self.reading, "fraction": self.fraction, "dim": self.dim,
                "nz": self.nz, "isotropic_chance": self.chance, "null_mean": self.null.mean,
                "null_quantile": self.null.quantile, "null_level": self.null.level,
                "null_permutations": int(len(self.null.samples)), "null_seed": self.null.seed,
                "margin_over_null_quantile": self.margin,
                "p_value": self.null.p_value(self.fraction)}


def label_subspace_test(latents, classes, test_latents, *, max_per_class: int = 5000,
                        reading: str = "paper", n_permutations: int = 100,
                        level: float = 0.95, seed: int = 0) -> LabelSubspaceTest:
    """The label-sub-space fraction of ``test_latents`` under the basis of ``latents``
    labelled ``classes`` (reading ``"paper"``: as the abstract; ``"centred"``: the
    shared offset removed first), and the same fraction over ``n_permutations`` seeded
    shuffles of ``classes`` (see the module doc)."""
    if reading not in READINGS:
        raise ConfigError(f"reading must be one of {', '.join(READINGS)}, got {reading!r}")
    z_test = as_float(test_latents, "test_latents", 2).double().cpu()
    z = as_float(latents, "latents", 2).double().cpu()
    if z_test.shape[1] != z.shape[1]:
        raise ConfigError(f"test latents have {z_test.shape[1]} units but the basis latents "
                          f"{z.shape[1]}")
    labels = as_labels(classes, "classes").cpu()
    centre = reading == "centred"

    def fraction(lab) -> float:
        space = label_space(z, torch.as_tensor(lab), max_per_class, centre=centre)
        return float(space.in_label(z_test).double().mean())

    space = label_space(z, labels, max_per_class, centre=centre)
    hits = space.in_label(z_test).numpy()
    null = permutation_null(labels.numpy(), fraction, n_permutations=n_permutations,
                            level=level, seed=seed)
    return LabelSubspaceTest(reading, float(hits.mean()), hits, space.dim, int(z.shape[1]),
                             null)


__all__ = ["READINGS", "LabelSpace", "LabelSubspaceTest", "label_space",
           "label_subspace_test"]
