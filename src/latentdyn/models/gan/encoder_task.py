"""Training the encoder of a DCGAN (``--model gan-encoder``), SPEC §3.

E maps an image to (μ, log σ²); trained with G and the classifier C
frozen on ``rec_weight · ‖G(z) − x‖² + ce_weight · CE(C(G(z)), y) + kl_weight ·
KL(q(z|x) ‖ N(0, I))`` with z = μ + σ·ε, the squared error summed over pixels in
G's [−1, 1] scale. Defaults 1, 100, 1/25 (SPEC §3); Adam lr 1e-3, constant. Needs
``--option gan=RUN --option classifier=RUN``; architecture ``e_width`` (64),
``e_hidden`` (512), and ``g_width``/``g_norm``/``g_act``/``channels``/``--nz``
matching the GAN (a mismatch is a one-line error naming the option to pass). G's
weights are copied into the encoder run, so the run loads and decodes without the GAN
run; both inputs' paths and md5 checksums are recorded in the weights' metadata
(``model_config.sources``) and in ``<run>/inputs.json``. Both are *input runs*
(:mod:`latentdyn.models.family`): the training layer loads them and hands them to
:class:`EncoderTask`.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from latentdyn.errors import ConfigError
from latentdyn.io import write_json
from latentdyn.models.build import make_adam, seeded_init
from latentdyn.models.classifier.task import check_labels
from latentdyn.models.distributions import gaussian_kl, gaussian_sample
from latentdyn.models.family import InputRun, loaded_inputs
from latentdyn.models.gan.encoder import EncoderConfig, GANEncoder
from latentdyn.models.options import apply_kind_defaults, check_range, split_options

ENCODER_TRAIN_OPTIONS = {
    "gan": None, "classifier": None,
    "rec_weight": 1.0, "ce_weight": 100.0, "kl_weight": 1.0 / 25.0,
    "eval_size": 2000,
}
ARCH_OPTIONS = {f.name for f in fields(EncoderConfig)} - {"input_dim", "nz"}


def encoder_inputs(config) -> dict[str, InputRun]:
    """The frozen GAN and classifier runs (``--option gan=RUN --option classifier=RUN``)."""
    opts = config.model_options
    for name in ("gan", "classifier"):
        if not isinstance(opts.get(name), str) or not opts.get(name):
            raise ConfigError(
                "gan-encoder needs --option gan=RUN (a --model gan run) and "
                "--option classifier=RUN (a --model classifier run)"
            )
    return {name: InputRun(name, opts[name]) for name in ("gan", "classifier")}


def encoder_options(config, input_dim: int) -> tuple[EncoderConfig, dict]:
    """The network's config of a run of ``config`` and its training options."""
    opts = dict(config.model_options)
    split_options(opts, ARCH_OPTIONS | set(ENCODER_TRAIN_OPTIONS), "gan-encoder")
    o = {**ENCODER_TRAIN_OPTIONS,
         **{k: v for k, v in opts.items() if k in ENCODER_TRAIN_OPTIONS}}
    encoder_inputs(config)
    for name in ("rec_weight", "ce_weight", "kl_weight"):
        check_range(o, name, 0.0, 1e9, "gan-encoder")
    check_range(o, "eval_size", 1, 1e9, "gan-encoder", integer=True)
    arch = EncoderConfig(input_dim=input_dim, nz=config.nz,
                         **{k: v for k, v in opts.items() if k in ARCH_OPTIONS})
    return arch.validate(), o


def build_encoder(config, input_dim: int) -> GANEncoder:
    """The encoder a run of ``config`` trains (E's weights drawn from ``config.seed``; G
    is filled from the GAN run when training, from the run's weights when loading)."""
    arch, o = encoder_options(config, input_dim)
    model = seeded_init(config.seed, lambda: GANEncoder(arch))
    model.sources = {"gan": {"path": o["gan"]}, "classifier": {"path": o["classifier"]}}
    return model


class EncoderTask:
    """Encoder E trained on a frozen GAN generator G and classifier C."""

    metric_names = ("loss", "rec", "ce", "kl", "acc")
    DEFAULT_LR = 1e-3
    ARCH_OPTIONS = ARCH_OPTIONS

    @classmethod
    def apply_defaults(cls, config):
        return apply_kind_defaults(config, cls.DEFAULT_LR)

    def __init__(self, config, input_dim: int, device: torch.device,
                 inputs: dict[str, InputRun] | None = None):
        self.apply_defaults(config)
        self.config = config
        _, self.options = encoder_options(config, input_dim)
        self.device = device
        self.model = build_encoder(config, input_dim).to(device)
        self.optimizers = {"adam": make_adam(self.model.encoder.parameters(), config.lr, device)}
        inputs = loaded_inputs("gan-encoder", encoder_inputs(config), inputs)
        self._attach_gan(inputs["gan"])
        self.classifier = self._attach_classifier(inputs["classifier"])
        self._inputs_written = False
        self._acc = torch.zeros(5, device=device)
        self._seen = 0

    def _attach_gan(self, run: InputRun) -> None:
        """G's weights from the GAN run, whose generator must have this run's shape."""
        g, e = run.model.config, self.model.config
        theirs = {"nz": g.nz, "g_width": g.g_width, "g_norm": g.g_norm, "g_act": g.g_act,
                  "channels": g.channels, "input_dim": g.input_dim}
        mine = {k: getattr(e, k) for k in theirs}
        if theirs != mine:
            k = next(k for k in theirs if theirs[k] != mine[k])
            hint = {"nz": f"--nz {g.nz}", "input_dim": "the GAN's data set"}.get(
                k, f"--option {k}={theirs[k]}")
            raise ConfigError(f"{run.path}: the GAN has {k}={theirs[k]}, this encoder run "
                              f"{k}={mine[k]}; use {hint}")
        self.model.generator.load_state_dict(run.model.generator.state_dict())
        self.model.generator.eval()
        self.model.sources["gan"] = run.source

    def _attach_classifier(self, run: InputRun):
        clf = run.model
        if clf.config.input_dim != self.model.config.input_dim:
            raise ConfigError(f"{run.path}: the classifier takes images of {clf.config.input_dim} "
                              f"values, the GAN makes {self.model.config.input_dim}")
        self.model.sources["classifier"] = run.source
        return clf

    def _losses(self, x: Tensor, y: Tensor, z: Tensor, mu: Tensor, logvar: Tensor):
        xg = self.model.generator(z)  # [-1, 1]
        rec = (xg - (x * 2.0 - 1.0)).pow(2).sum(-1)
        logits = self.classifier((xg + 1.0) * 0.5)
        ce = F.cross_entropy(logits, y, reduction="none")
        kl = gaussian_kl(mu, logvar)
        o = self.options
        loss = o["rec_weight"] * rec + o["ce_weight"] * ce + o["kl_weight"] * kl
        acc = (logits.argmax(-1) == y).to(x.dtype)
        return loss, rec, ce, kl, acc

    def check_data(self, data) -> None:
        """Labels beyond the frozen classifier's classes are refused before any file."""
        check_labels(data.train_labels, self.classifier.num_classes)

    def train_step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
        if self._seen == 0:
            check_labels(y, self.classifier.num_classes)
        self.model.train()
        mu, logvar = self.model.encode(x)
        z = gaussian_sample(mu, logvar, generator)
        parts = self._losses(x, y, z, mu, logvar)
        loss = parts[0].mean()
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            self._acc += torch.stack([p.detach().sum() for p in parts])
            self._seen += x.shape[0]
        return loss.detach()

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        vals = (self._acc / max(1, self._seen)).tolist()
        self._acc.zero_()
        self._seen = 0
        return dict(zip(self.metric_names, vals))

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, generator: torch.Generator, chunk: int = 500):
        """Losses at z = μ(x) and the classifier's accuracy on G(μ(x)), held-out images."""
        was = self.model.training
        self.model.eval()
        n = min(int(self.options["eval_size"]), x.shape[0])
        sums = torch.zeros(5, dtype=torch.float64)
        for start in range(0, n, chunk):
            xb, yb = x[start:min(n, start + chunk)], y[start:min(n, start + chunk)]
            mu, logvar = self.model.encode(xb)
            parts = self._losses(xb, yb, mu, mu, logvar)
            sums += torch.stack([p.sum() for p in parts]).double().cpu()
        self.model.train(was)
        return dict(zip(self.metric_names, (sums / max(1, n)).tolist()))

    def manifest_extra(self) -> dict:
        """What the trainer may add to the manifest: the runs this one was trained from."""
        return {"inputs": dict(self.model.sources)}

    def on_epoch_end(self, epoch: int, out) -> dict[str, float]:
        if not self._inputs_written:
            write_json(Path(out) / "inputs.json", self.manifest_extra()["inputs"])
            self._inputs_written = True
        return {}


__all__ = ["EncoderTask", "build_encoder", "encoder_inputs", "encoder_options"]
