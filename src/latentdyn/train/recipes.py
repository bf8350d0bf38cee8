"""The networks the studies build on, their settings written once.

toledo2023 and the denoising comparison train (or reuse) the same three networks of
paper 004 (SPEC §3; constant learning rates): the CNN classifier, the DCGAN and its
encoder. Each has a small frozen settings dataclass -- :class:`ClassifierRecipe`,
:class:`GanRecipe`, :class:`EncoderRecipe`, whose defaults are the paper profile's --
that a study's profile embeds, and one function that turns it into a validated
:class:`TrainConfig` (pass it to :func:`latentdyn.train.ensure_trained`):
:func:`classifier_config`, :func:`gan_config`, :func:`encoder_config`.

The reduced sizes both studies use are here too: ``QUICK_*`` (a few CPU minutes on
the embedded MNIST subset) and ``SMOKE_*`` (networks of a few hundred weights on toy
images, for tests). :func:`record` gives the settings of the three as the flat
dictionary the studies' manifests record.
"""

from __future__ import annotations

from dataclasses import dataclass

from latentdyn.train.config import TrainConfig

CONSTANT_LR = dict(lr_factors=[1.0], lr_milestones=[])  # SPEC §3: no lr schedule


@dataclass(frozen=True)
class ClassifierRecipe:
    """The CNN digit classifier: conv ``conv1``-``conv2``, dense ``dense``."""

    epochs: int = 12
    batch_size: int = 128
    lr: float = 1e-3
    conv1: int = 32
    conv2: int = 64
    dense: int = 128


@dataclass(frozen=True)
class GanRecipe:
    """The DCGAN (Adam 2e-4, betas 0.5 and 0.99) with an ``nz``-d Gaussian latent."""

    nz: int = 100
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-4
    g_width: int = 256
    d_width: int = 64


@dataclass(frozen=True)
class EncoderRecipe:
    """The encoder E of a frozen generator and classifier:
    ``rec_weight``·rec + ``ce_weight``·CE + ``kl_weight``·KL (rec + 100·CE + KL/25)."""

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    e_width: int = 64
    e_hidden: int = 512
    rec_weight: float = 1.0
    ce_weight: float = 100.0
    kl_weight: float = 1.0 / 25.0


# the reduced networks of the quick profiles: minutes on 2 CPU cores
QUICK_CLASSIFIER = ClassifierRecipe(epochs=5, batch_size=64, conv1=16, conv2=32, dense=64)
QUICK_GAN = GanRecipe(epochs=8, batch_size=32, g_width=128, d_width=32)
QUICK_ENCODER = EncoderRecipe(epochs=5, batch_size=64, e_width=32, e_hidden=256)
# the toy networks of the smoke profiles: seconds on 8×8 images, a 12-d latent
SMOKE_CLASSIFIER = ClassifierRecipe(epochs=2, batch_size=16, lr=1e-2, conv1=4, conv2=8,
                                    dense=16)
SMOKE_GAN = GanRecipe(nz=12, epochs=10, batch_size=16, lr=2e-3, g_width=16, d_width=8)
SMOKE_ENCODER = EncoderRecipe(epochs=2, batch_size=16, e_width=8, e_hidden=16)


def classifier_config(recipe: ClassifierRecipe, data, *, seed: int, device) -> TrainConfig:
    """The CNN digit classifier on ``data`` (at least two classes)."""
    return TrainConfig(model="classifier", dataset=data.name, epochs=recipe.epochs,
                       batch_size=recipe.batch_size, lr=recipe.lr, seed=seed,
                       device=str(device),
                       model_options={"conv1": recipe.conv1, "conv2": recipe.conv2,
                                      "dense": recipe.dense,
                                      "num_classes": max(2, data.num_classes)},
                       **CONSTANT_LR).validate()


def gan_config(recipe: GanRecipe, data, *, seed: int, device, classifier: str) -> TrainConfig:
    """The DCGAN on ``data``, monitored by the ``classifier`` run."""
    return TrainConfig(model="gan", dataset=data.name, nz=recipe.nz, epochs=recipe.epochs,
                       batch_size=recipe.batch_size, lr=recipe.lr, seed=seed,
                       device=str(device),
                       model_options={"g_width": recipe.g_width, "d_width": recipe.d_width,
                                      "beta1": 0.5, "beta2": 0.99, "classifier": classifier},
                       **CONSTANT_LR).validate()


def encoder_config(recipe: EncoderRecipe, data, gan_model, *, gan: str, classifier: str,
                   seed: int, device) -> TrainConfig:
    """The encoder E of the frozen generator of ``gan_model`` (the loaded ``gan`` run)
    and the frozen ``classifier`` run."""
    g = gan_model.config
    return TrainConfig(model="gan-encoder", dataset=data.name, nz=g.nz, epochs=recipe.epochs,
                       batch_size=recipe.batch_size, lr=recipe.lr, seed=seed,
                       device=str(device),
                       model_options={
                           "gan": gan, "classifier": classifier, "g_width": g.g_width,
                           "g_norm": g.g_norm, "g_act": g.g_act, "channels": g.channels,
                           "e_width": recipe.e_width, "e_hidden": recipe.e_hidden,
                           "rec_weight": recipe.rec_weight, "ce_weight": recipe.ce_weight,
                           "kl_weight": recipe.kl_weight},
                       **CONSTANT_LR).validate()


def record(classifier: ClassifierRecipe, gan: GanRecipe, encoder: EncoderRecipe) -> dict:
    """The settings of the three networks as one flat dictionary, under the names the
    manifests of toledo2023 and compare denoise record (``nz``, ``clf_epochs``, …,
    ``gan_lr``, ``g_width``, …, ``kl_weight``)."""
    return {"nz": gan.nz,
            "clf_epochs": classifier.epochs, "clf_batch": classifier.batch_size,
            "clf_lr": classifier.lr, "clf_conv1": classifier.conv1,
            "clf_conv2": classifier.conv2, "clf_dense": classifier.dense,
            "gan_epochs": gan.epochs, "gan_batch": gan.batch_size, "gan_lr": gan.lr,
            "g_width": gan.g_width, "d_width": gan.d_width,
            "enc_epochs": encoder.epochs, "enc_batch": encoder.batch_size,
            "enc_lr": encoder.lr, "e_width": encoder.e_width, "e_hidden": encoder.e_hidden,
            "rec_weight": encoder.rec_weight, "ce_weight": encoder.ce_weight,
            "kl_weight": encoder.kl_weight}


__all__ = ["CONSTANT_LR", "ClassifierRecipe", "EncoderRecipe", "GanRecipe", "QUICK_CLASSIFIER",
           "QUICK_ENCODER", "QUICK_GAN", "SMOKE_CLASSIFIER", "SMOKE_ENCODER", "SMOKE_GAN",
           "classifier_config", "encoder_config", "gan_config", "record"]
