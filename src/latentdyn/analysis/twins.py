"""The twin test (Kadkhodaie et al., ICLR 2024, for repeated inference): two models of
the same setting trained on disjoint halves of the training data, fed the same
corrupted inputs. Once they generalise they end at the same images; while they
memorise, each recalls its own data and they disagree. It measures generalisation
without reference to any hierarchy.

:func:`twin_test` runs the deterministic dynamics of both models from the same inputs
for ``steps`` steps and decodes each z(T):

* ``relative_distance`` -- the mean distance between the two decoded x(T), divided by
  the mean distance between unrelated images (random pairs of ``reference`` images): 0
  when the twins agree, about 1 when their outputs are as far apart as unrelated
  images;
* ``agreement`` -- the share of inputs whose two x(T) a classifier reads as the same
  class (the default classifier: nearest class mean of ``reference`` images, a fixed
  rule that needs no training), with ``chance``, the agreement of two independent
  readings with the classes' frequencies among the twins' outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from latentdyn.checks import as_float, as_generator, as_labels
from latentdyn.errors import ConfigError


@dataclass
class TwinResult:
    relative_distance: float
    distance: float  # mean ‖x_A(T) − x_B(T)‖
    unrelated: float  # mean ‖x_i − x_j‖ over random pairs of reference images
    agreement: float
    chance: float
    n: int

    def as_dict(self) -> dict:
        return dict(vars(self))


def nearest_class_mean(images: Tensor, labels: Tensor):
    """A classifier: the label whose mean image (of ``images``) is nearest."""
    images, labels = as_float(images, "images").flatten(1), as_labels(labels)
    classes = torch.unique(labels)
    means = torch.stack([images[labels == c].double().mean(0) for c in classes])

    def read(x: Tensor) -> Tensor:
        return classes[torch.cdist(x.flatten(1).double(), means).argmin(1)]

    return read


def unrelated_distance(reference: Tensor, pairs: int = 2000, generator=0) -> float:
    """The mean distance between two different reference images drawn at random."""
    ref = as_float(reference, "reference").flatten(1).double()
    if ref.shape[0] < 2:
        raise ConfigError("the twin test needs at least 2 reference images")
    gen = as_generator(generator)
    i = torch.randint(ref.shape[0], (pairs,), generator=gen)
    j = (i + torch.randint(1, ref.shape[0], (pairs,), generator=gen)) % ref.shape[0]
    return float(torch.linalg.vector_norm(ref[i] - ref[j], dim=1).mean())


def _ends(model, x0: Tensor, steps: int) -> Tensor:
    from latentdyn.dynamics import run_dynamics
    from latentdyn.models.inference import decode_all

    z = run_dynamics(model, x0, steps=steps, mode="deterministic").z[:, -1]
    return decode_all(model, z).flatten(1).double()


def twin_test(model_a, model_b, x0, reference, reference_labels, *, steps: int,
              classifier=None, generator=0) -> TwinResult:
    """The twin test of ``model_a`` and ``model_b`` on the inputs ``x0`` (module doc);
    ``reference`` images (and their labels) set the unrelated distance and the default
    classifier."""
    x0 = as_float(x0, "x0")
    if x0.shape[0] == 0:
        raise ConfigError("the twin test needs at least one input")
    read = classifier or nearest_class_mean(reference, reference_labels)
    xa, xb = _ends(model_a, x0, steps), _ends(model_b, x0, steps)
    dist = float(torch.linalg.vector_norm(xa - xb, dim=1).mean())
    unrelated = unrelated_distance(reference, generator=generator)
    ya, yb = read(xa), read(xb)
    classes = torch.unique(torch.cat([ya, yb]))
    pa = torch.stack([(ya == c).double().mean() for c in classes])
    pb = torch.stack([(yb == c).double().mean() for c in classes])
    return TwinResult(dist / unrelated if unrelated > 0 else float("nan"), dist, unrelated,
                      float((ya == yb).double().mean()), float((pa * pb).sum()),
                      int(x0.shape[0]))


__all__ = ["TwinResult", "nearest_class_mean", "twin_test", "unrelated_distance"]
