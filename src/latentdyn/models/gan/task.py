"""Training the DCGAN (``latentdyn train --model gan``), SPEC §3.

Each ``train_step`` takes one discriminator step (non-saturating BCE on a real
and a generated batch) and then one generator step; both Adam optimizers are
checkpointed. Kind defaults (used where the config still holds the generic VAE
values): lr 2e-4 for both networks, constant. Options (``--option KEY=VALUE``):

* architecture: ``g_width`` (256), ``d_width`` (64), ``dropout`` (0.25), ``g_norm``
  (``feature``), ``g_act`` (``leaky_relu``), ``channels`` (1); the latent size is
  ``--nz`` (100);
* optimiser: ``beta1`` (0.5), ``beta2`` (0.99), ``lr_d`` (the discriminator's lr;
  default ``--lr``);
* monitoring: ``grid`` (64 samples per PNG), ``diversity_samples`` (256),
  ``collapse_ratio`` (0.2), ``collapse_entropy`` (0.5), ``collapse_patience`` (2),
  ``d_floor`` (0.05), ``g_ceiling`` (5.0), ``diverge_patience`` (3), ``eval_size``
  (2000 test images), ``classifier`` (a classifier run, optional).

Metrics per epoch: ``train_d_loss``, ``train_g_loss``, ``train_d_real`` (mean D(x)),
``train_d_fake`` (mean D(G(z)) before the D step), the same on held-out images as
``test_*``, and from :meth:`GANTask.on_epoch_end`: ``diversity`` (summed pixel variance
of a fixed batch of generated images relative to that of the epoch's real images;
≈ 1 for a healthy GAN, 0 when every sample is the same), ``label_entropy`` and
``classes_seen`` (when ``classifier`` is given: entropy of C's labels of the fixed
batch over ln(num_classes)), ``collapse_epochs`` / ``collapse`` (diversity below
``collapse_ratio`` or label entropy below ``collapse_entropy`` for
``collapse_patience`` epochs running) and ``diverging_epochs`` / ``diverged`` (D loss
below ``d_floor`` while G loss exceeds ``g_ceiling``, for ``diverge_patience`` epochs
running). Either condition prints one warning line. A sample grid of the fixed batch
goes to ``<run>/samples/epoch-NNNN.png`` after every epoch.

The ``classifier`` run is an *input run* (:mod:`latentdyn.models.family`): the training
layer loads it and hands it to :class:`GANTask`. The encoder of a trained GAN is
:mod:`latentdyn.models.gan.encoder_task`.
"""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from latentdyn.errors import ConfigError
from latentdyn.models.build import make_adam, seeded_init
from latentdyn.models.family import InputRun, loaded_inputs
from latentdyn.models.gan.network import GAN, GANConfig
from latentdyn.models.options import apply_kind_defaults, check_range, split_options
from latentdyn.png import write_sample_grid


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


# --- the GAN ----------------------------------------------------------------------------
GAN_TRAIN_OPTIONS = {
    "beta1": 0.5, "beta2": 0.99, "lr_d": None,
    "grid": 64, "diversity_samples": 256, "eval_size": 2000,
    "collapse_ratio": 0.2, "collapse_entropy": 0.5, "collapse_patience": 2,
    "d_floor": 0.05, "g_ceiling": 5.0, "diverge_patience": 3,
    "classifier": None,
}


def _warn(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)


ARCH_OPTIONS = {f.name for f in fields(GANConfig)} - {"input_dim", "nz"}


def gan_options(config, input_dim: int) -> tuple[GANConfig, dict]:
    """The network's config of a run of ``config`` and its training options (every
    ``--option`` checked; one line naming the first bad one)."""
    opts = dict(config.model_options)
    split_options(opts, ARCH_OPTIONS | set(GAN_TRAIN_OPTIONS), "gan")
    arch = GANConfig(input_dim=input_dim, nz=config.nz,
                     **{k: v for k, v in opts.items() if k in ARCH_OPTIONS}).validate()
    o = {**GAN_TRAIN_OPTIONS, **{k: v for k, v in opts.items() if k in GAN_TRAIN_OPTIONS}}
    for name in ("beta1", "beta2"):
        check_range(o, name, 0.0, 0.999999, "gan")
    for name in ("grid", "diversity_samples", "eval_size", "collapse_patience",
                 "diverge_patience"):
        check_range(o, name, 1, 1e9, "gan", integer=True)
    check_range(o, "diversity_samples", 2, 1e9, "gan", integer=True)
    for name in ("collapse_ratio", "collapse_entropy", "d_floor"):
        check_range(o, name, 0.0, 1e9, "gan")
    check_range(o, "g_ceiling", 0.0, 1e9, "gan")
    if o["lr_d"] is not None:
        check_range(o, "lr_d", 1e-12, 10.0, "gan")
    gan_inputs(config)
    return arch, o


def gan_inputs(config) -> dict[str, InputRun]:
    """The monitoring classifier run, when ``--option classifier=RUN`` names one."""
    path = config.model_options.get("classifier")
    if path is not None and not isinstance(path, str):
        raise ConfigError("gan: option classifier must be the path of a classifier run")
    return {"classifier": InputRun("classifier", path)} if path else {}


def build_gan(config, input_dim: int) -> GAN:
    """The GAN a run of ``config`` trains, its weights drawn from ``config.seed``."""
    arch, _ = gan_options(config, input_dim)
    return seeded_init(config.seed, lambda: GAN(arch))


class GANTask:
    """DCGAN: alternating D and G steps, per-epoch sample grids, collapse/divergence checks."""

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake")
    DEFAULT_LR = 2e-4
    ARCH_OPTIONS = ARCH_OPTIONS

    @classmethod
    def apply_defaults(cls, config):
        return apply_kind_defaults(config, cls.DEFAULT_LR)

    def __init__(self, config, input_dim: int, device: torch.device,
                 inputs: dict[str, InputRun] | None = None):
        self.apply_defaults(config)
        self.config = config
        arch, o = gan_options(config, input_dim)
        self.options = o
        self.device = device

        self.model = build_gan(config, input_dim).to(device)
        betas = (float(o["beta1"]), float(o["beta2"]))
        g, d = self.model.generator, self.model.discriminator
        self.optimizers = {
            "d": make_adam(d.parameters(), float(o["lr_d"] or config.lr), device, betas=betas),
            "g": make_adam(g.parameters(), config.lr, device, betas=betas),
        }
        # a fixed latent batch (its own seed, so the training noise is untouched)
        n_fixed = max(o["grid"], o["diversity_samples"])
        fixed = torch.Generator("cpu").manual_seed(config.seed + 3)
        self.fixed_z = torch.randn((n_fixed, arch.nz), generator=fixed).to(device)
        self._reset_epoch()
        self._streaks: dict[str, int] | None = None
        self._last: dict[str, float] = {}
        clf = loaded_inputs("gan", gan_inputs(config), inputs).get("classifier")
        self._classifier = clf.model if clf else None
        self._classifier_source: dict | None = clf.source if clf else None
        if clf and clf.model.config.input_dim != arch.input_dim:
            raise ConfigError(f"{clf.path}: the classifier takes images of "
                              f"{clf.model.config.input_dim} values, the GAN makes "
                              f"{arch.input_dim}")

    def _reset_epoch(self) -> None:
        dev, dim = self.device, self.model.config.input_dim
        self._acc = torch.zeros(4, device=dev)  # d_loss, g_loss, D(x), D(G(z)) (× batch)
        self._seen = 0
        self._xsum = torch.zeros(dim, device=dev, dtype=torch.float64)
        self._x2sum = torch.zeros(dim, device=dev, dtype=torch.float64)

    # -- training ------------------------------------------------------------------------
    def train_step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
        model = self.model
        model.train()
        G, D = model.generator, model.discriminator
        b = x.shape[0]
        real = x * 2.0 - 1.0
        z = torch.randn((b, model.nz), generator=generator, device=x.device)
        fake = G(z)

        # discriminator: real -> 1, generated -> 0
        d_real = D(real, generator)
        d_fake = D(fake.detach(), generator)
        loss_d = _bce(d_real, 1.0) + _bce(d_fake, 0.0)
        opt_d = self.optimizers["d"]
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        # generator: non-saturating loss, -log D(G(z))
        D.requires_grad_(False)
        try:
            loss_g = _bce(D(fake, generator), 1.0)
            opt_g = self.optimizers["g"]
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        finally:
            D.requires_grad_(True)

        with torch.no_grad():
            self._acc += torch.stack([loss_d.detach(), loss_g.detach(),
                                      torch.sigmoid(d_real).mean(),
                                      torch.sigmoid(d_fake).mean()]) * b
            self._seen += b
            xd = x.detach().double()
            self._xsum += xd.sum(0)
            self._x2sum += (xd * xd).sum(0)
        return (loss_d + loss_g).detach()

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        vals = (self._acc / max(1, self._seen)).tolist()
        self._last = dict(zip(self.metric_names, vals))
        return dict(self._last)

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, generator: torch.Generator, chunk: int = 500):
        """D's losses and mean outputs on held-out real images and as many generated ones."""
        model = self.model
        was = model.training
        model.eval()
        n = min(int(self.options["eval_size"]), x.shape[0])
        sums = torch.zeros(4, dtype=torch.float64)
        for start in range(0, n, chunk):
            xb = x[start:min(n, start + chunk)] * 2.0 - 1.0
            z = torch.randn((xb.shape[0], model.nz), generator=generator, device=x.device)
            d_real = model.discriminator(xb)
            d_fake = model.discriminator(model.generator(z))
            ones, zeros = torch.ones_like(d_real), torch.zeros_like(d_fake)
            sums += torch.stack([
                F.binary_cross_entropy_with_logits(d_real, ones, reduction="sum")
                + F.binary_cross_entropy_with_logits(d_fake, zeros, reduction="sum"),
                F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake),
                                                   reduction="sum"),
                torch.sigmoid(d_real).sum(), torch.sigmoid(d_fake).sum(),
            ]).double().cpu()
        model.train(was)
        vals = (sums / max(1, n)).tolist()
        return dict(zip(self.metric_names, vals))

    # -- per-epoch monitoring ----------------------------------------------------------
    def manifest_extra(self) -> dict:
        """What the trainer may add to the manifest: the classifier run used, if any."""
        if not self._classifier_source:
            return {}
        return {"inputs": {"classifier": self._classifier_source}}

    def _previous_streaks(self, epoch: int, out: Path) -> dict[str, int]:
        """Streak counters of the epoch before ``epoch`` (from metrics.csv after a resume)."""
        streaks = {"collapse_epochs": 0, "diverging_epochs": 0}
        path = out / "metrics.csv"
        if epoch <= 1 or not path.is_file():
            return streaks
        try:
            with open(path, newline="") as fh:
                for row in csv.DictReader(fh):
                    if int(float(row.get("epoch") or 0)) == epoch - 1:
                        for k in streaks:
                            streaks[k] = int(float(row.get(k) or 0))
        except (OSError, ValueError):
            pass
        return streaks

    @torch.no_grad()
    def on_epoch_end(self, epoch: int, out) -> dict[str, float]:
        out = Path(out)
        o, model = self.options, self.model
        was = model.training
        model.eval()
        images = model.decode(self.fixed_z)  # (M, D) in [0, 1]
        model.train(was)
        c = model.config
        write_sample_grid(out / "samples" / f"epoch-{epoch:04d}.png", images[:o["grid"]],
                          c.side, c.channels)

        metrics: dict[str, float] = {}
        sample = images[:o["diversity_samples"]].double()
        gen_var = float(sample.var(0).sum())
        n = self._seen
        if n > 1:
            mean = self._xsum / n
            real_var = float(((self._x2sum / n - mean * mean).clamp_min(0).sum()) * n / (n - 1))
        else:
            real_var = float("nan")
        diversity = gen_var / real_var if real_var > 0 else float("nan")
        metrics["diversity"] = diversity
        collapsed_now = diversity == diversity and diversity < o["collapse_ratio"]
        why = f"sample diversity {diversity:.3f} of the data's"
        clf = self._classifier
        if clf is not None:
            labels = clf.predict(images[:o["diversity_samples"]])
            k = clf.num_classes
            p = torch.bincount(labels, minlength=k).double() / labels.numel()
            entropy = max(0.0, float(-(p[p > 0] * p[p > 0].log()).sum() / math.log(k)))
            metrics["label_entropy"] = entropy
            metrics["classes_seen"] = int((p > 0).sum())
            if entropy < o["collapse_entropy"]:
                collapsed_now = True
                why = (f"classifier label entropy {entropy:.2f} "
                       f"({metrics['classes_seen']} of {k} classes)")

        if self._streaks is None:
            self._streaks = self._previous_streaks(epoch, out)
        s = self._streaks
        s["collapse_epochs"] = s["collapse_epochs"] + 1 if collapsed_now else 0
        d_loss, g_loss = self._last.get("d_loss", math.nan), self._last.get("g_loss", math.nan)
        d_wins = d_loss < o["d_floor"] and g_loss > o["g_ceiling"]
        s["diverging_epochs"] = s["diverging_epochs"] + 1 if d_wins else 0
        collapse = s["collapse_epochs"] >= o["collapse_patience"]
        diverged = s["diverging_epochs"] >= o["diverge_patience"]
        metrics.update(collapse_epochs=s["collapse_epochs"], collapse=int(collapse),
                       diverging_epochs=s["diverging_epochs"], diverged=int(diverged))
        if collapse:
            _warn(f"epoch {epoch}: possible mode collapse ({why}, "
                  f"{s['collapse_epochs']} epochs running); see {out / 'samples'}")
        if diverged:
            _warn(f"epoch {epoch}: training is diverging (D loss {d_loss:.3g}, G loss "
                  f"{g_loss:.3g} for {s['diverging_epochs']} epochs running); consider "
                  f"stopping, a lower --lr, or the last good checkpoint")
        self._reset_epoch()
        return metrics


__all__ = ["GANTask", "build_gan", "gan_inputs", "gan_options"]
