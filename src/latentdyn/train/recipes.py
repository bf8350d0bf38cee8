"""Training configs of the networks the studies build on, written once.

The reproductions and the denoising comparison train (or reuse) the same kinds of
runs: the CNN classifier, the DCGAN and its encoder (paper 004, SPEC §3; constant
learning rates). Each function returns a validated :class:`TrainConfig`; pass it to
:func:`latentdyn.train.ensure_trained`.
"""

from __future__ import annotations

from latentdyn.train.config import TrainConfig

CONSTANT_LR = dict(lr_factors=[1.0], lr_milestones=[])  # SPEC §3: no lr schedule


def classifier_config(data, *, epochs: int, batch_size: int, lr: float, seed: int, device,
                      conv1: int = 32, conv2: int = 64, dense: int = 128) -> TrainConfig:
    """The CNN digit classifier on ``data`` (at least two classes)."""
    return TrainConfig(model="classifier", dataset=data.name, epochs=epochs,
                       batch_size=batch_size, lr=lr, seed=seed, device=str(device),
                       model_options={"conv1": conv1, "conv2": conv2, "dense": dense,
                                      "num_classes": max(2, data.num_classes)},
                       **CONSTANT_LR).validate()


def gan_config(data, *, nz: int, epochs: int, batch_size: int, lr: float, seed: int, device,
               g_width: int, d_width: int, classifier: str) -> TrainConfig:
    """The DCGAN (Adam, betas 0.5 and 0.99), monitored by the ``classifier`` run."""
    return TrainConfig(model="gan", dataset=data.name, nz=nz, epochs=epochs,
                       batch_size=batch_size, lr=lr, seed=seed, device=str(device),
                       model_options={"g_width": g_width, "d_width": d_width, "beta1": 0.5,
                                      "beta2": 0.99, "classifier": classifier},
                       **CONSTANT_LR).validate()


def encoder_config(data, gan_model, *, gan: str, classifier: str, epochs: int,
                   batch_size: int, lr: float, seed: int, device, e_width: int, e_hidden: int,
                   rec_weight: float = 1.0, ce_weight: float = 100.0,
                   kl_weight: float = 1.0 / 25.0) -> TrainConfig:
    """The encoder E of the frozen generator of ``gan_model`` (the loaded ``gan`` run)
    and the frozen ``classifier``: rec + 100·CE + KL/25 by default."""
    g = gan_model.config
    return TrainConfig(model="gan-encoder", dataset=data.name, nz=g.nz, epochs=epochs,
                       batch_size=batch_size, lr=lr, seed=seed, device=str(device),
                       model_options={
                           "gan": gan, "classifier": classifier, "g_width": g.g_width,
                           "g_norm": g.g_norm, "g_act": g.g_act, "channels": g.channels,
                           "e_width": e_width, "e_hidden": e_hidden, "rec_weight": rec_weight,
                           "ce_weight": ce_weight, "kl_weight": kl_weight},
                       **CONSTANT_LR).validate()
