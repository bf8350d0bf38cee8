"""The encode/decode protocol (SPEC §4) that every analysis relies on.

A model needs only ``encode(x)`` and ``decode(z)``:

* ``encode(x)`` returns the latent mean, or a tuple whose first element is the mean
  and whose second (if any) is the log-variance of a diagonal Gaussian posterior;
* ``decode(z)`` returns the data mean (pixel intensities in [0, 1] for images).

Samplers are optional: ``sample_latent(x, generator=None)`` draws z ~ q(z|x) and
``sample_data(z, generator=None)`` draws x ~ p(x|z). Where a model lacks them, the
functions here fall back to the reparameterised Gaussian posterior (when ``encode``
gives a log-variance) and to Bernoulli pixels (when ``decode`` gives values in [0, 1]).

The analyses call the four functions below, never a model class, so the paper's VAE,
the VMI VAE, a GAN with its encoder, or any user ``torch.nn.Module`` work alike.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from latentdyn.errors import ConfigError
from latentdyn.models.distributions import gaussian_sample


@runtime_checkable
class LatentModel(Protocol):
    def encode(self, x: Tensor): ...

    def decode(self, z: Tensor) -> Tensor: ...


def check_model(model) -> None:
    """Raise a one-line error if ``model`` does not offer encode/decode."""
    missing = [m for m in ("encode", "decode") if not callable(getattr(model, m, None))]
    if missing:
        raise ConfigError(
            f"{type(model).__name__} lacks {' and '.join(missing)}(); latentdyn needs a model "
            "with encode(x) -> latent mean and decode(z) -> data mean"
        )


def _split(encoded) -> tuple[Tensor, Tensor | None]:
    if isinstance(encoded, (tuple, list)):
        return encoded[0], (encoded[1] if len(encoded) > 1 else None)
    return encoded, None


def latent_mean(model, x: Tensor) -> Tensor:
    """E_q[z | x]: the model's own ``latent_mean(x)`` when it has one (a VAE computes
    the mean without the log-variance), else the first output of ``encode``."""
    if callable(getattr(type(model), "latent_mean", None)):  # a method, not a sub-module
        return model.latent_mean(x)
    return _split(model.encode(x))[0]


def data_mean(model, z: Tensor) -> Tensor:
    """E_p[x | z]."""
    return model.decode(z)


def sample_latent(model, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """z ~ q(z | x), from the model's own sampler or its Gaussian posterior."""
    own = getattr(model, "sample_latent", None)
    if callable(own):
        return own(x, generator=generator)
    mu, logvar = _split(model.encode(x))
    if logvar is None:
        raise ConfigError(
            f"{type(model).__name__} has no sample_latent() and encode() gives no log-variance; "
            "the sampling dynamics need one of them"
        )
    return gaussian_sample(mu, logvar, generator)


def sample_data(model, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """x ~ p(x | z), from the model's own sampler or Bernoulli pixels."""
    name = type(model).__name__
    if not bool(torch.isfinite(z).all()):
        raise ConfigError(f"the latent state holds non-finite values (NaN or inf): "
                          f"{name}.encode overflowed; the model's weights are damaged or "
                          "too large")
    non_finite = (f"{name}.decode gives non-finite values (NaN or inf): the model's "
                  "weights are damaged or too large; no pixels can be drawn from it")
    own = getattr(model, "sample_data", None)
    if callable(own):
        try:
            return own(z, generator=generator)
        except RuntimeError:  # e.g. torch.bernoulli of NaN probabilities: say why
            if not bool(torch.isfinite(model.decode(z)).all()):
                raise ConfigError(non_finite) from None
            raise
    mean = model.decode(z)
    if not bool(torch.isfinite(mean).all()):
        raise ConfigError(non_finite)
    if float(mean.min()) < 0 or float(mean.max()) > 1:
        raise ConfigError(
            f"{type(model).__name__} has no sample_data() and decode() is not in [0, 1]; "
            "the sampling dynamics need one of them"
        )
    return torch.bernoulli(mean, generator=generator)


def model_device(model) -> torch.device:
    """The device of the model's parameters (CPU for parameter-free models)."""
    params = getattr(model, "parameters", None)
    if callable(params):
        for p in params():
            return p.device
    return torch.device("cpu")
