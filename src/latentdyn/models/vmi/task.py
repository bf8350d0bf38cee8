"""Training the VMI VAE (``latentdyn train --model vmi``): see :mod:`latentdyn.models.vmi.network`.

The run's ``--nz``, ``--hidden``, ``--activation`` and ``--samples`` are the model's
``n_gauss``, ``hidden``, ``activation`` and ``n_samples``; every other option of
:class:`~latentdyn.models.vmi.VMIConfig` is a ``--option KEY=VALUE`` (``n_cat``, ``arch``,
``channels``, ``likelihood``, ``obs_std``, ``kl_weight``, ``lam``, ``codes``, ``q_source``,
``q_hidden``, ``temp_start``, ``temp_min``, ``temp_steps``), plus ``q_lr`` (Q's learning
rate; default the run's ``--lr``). Two Adam optimisers, ``vae`` and ``q``, both
checkpointed; the trainer's learning-rate steps apply to both.

Metrics per epoch: ``train_loss`` (the VAE objective), ``train_elbo`` (ELBO of the
relaxed training samples), ``train_kl``, ``train_ce_<code>`` (Q's cross-entropy per
chosen code), ``temperature``; on the test set ``test_elbo`` (hard categories, exact
over K), ``test_mi_<code>`` (H(c) − CE of the co-trained Q on reconstructions with hard
codes; H = ln K, or ½ ln 2πe for a Gaussian unit) and, with labels and a categorical
unit, ``test_cat_acc`` (each category mapped to its majority label on the test set).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from latentdyn.errors import ConfigError
from latentdyn.models.build import check_step_memory, make_adam, seeded_init
from latentdyn.models.codes import GAUSS_ENTROPY, categorical_accuracy
from latentdyn.models.vmi.config import VMIConfig
from latentdyn.models.vmi.network import VMIVAE

# options that come from TrainConfig's own fields, never from --option
_FROM_RUN = {"input_dim": "the data", "n_gauss": "--nz", "hidden": "--hidden",
             "activation": "--activation", "n_samples": "--samples"}
TASK_OPTIONS = ("q_lr",)


def vmi_options(config, input_dim: int) -> tuple[VMIConfig, dict]:
    """The network's config of a run of ``config``, and the task options (``q_lr``)."""
    opts = dict(config.model_options)
    for key, where in _FROM_RUN.items():
        if key in opts:
            raise ConfigError(f"vmi option {key!r} is set by {where}, not by --option")
    task_opts = {k: opts.pop(k) for k in TASK_OPTIONS if k in opts}
    unknown = sorted(set(opts) - set(VMIConfig.__dataclass_fields__) - set(_FROM_RUN))
    if unknown:
        known = sorted(set(VMIConfig.__dataclass_fields__) - set(_FROM_RUN)) + list(TASK_OPTIONS)
        raise ConfigError(f"model 'vmi' has no option(s) {', '.join(unknown)}; "
                          f"known: {', '.join(known)}")
    try:
        vmi_config = VMIConfig(input_dim=input_dim, n_gauss=config.nz, hidden=config.hidden,
                               activation=config.activation, n_samples=config.n_samples,
                               **opts).validate()
    except TypeError as exc:
        raise ConfigError(f"bad vmi option: {exc}") from None
    q_lr = task_opts.get("q_lr", config.lr)
    if not isinstance(q_lr, (int, float)) or isinstance(q_lr, bool) or not q_lr > 0:
        raise ConfigError(f"q_lr must be a positive number, got {q_lr!r}")
    task_opts["q_lr"] = float(q_lr)
    return vmi_config, task_opts


def build_vmi(config, input_dim: int) -> VMIVAE:
    """The model a run of ``config`` trains, its weights drawn from ``config.seed``."""
    vmi_config, _ = vmi_options(config, input_dim)
    return seeded_init(config.seed, lambda: VMIVAE(vmi_config))


class VMITask:
    """The VMI VAE and its auxiliary network Q, each with its own Adam."""

    def __init__(self, config, input_dim: int, device: torch.device):
        self.config = config
        check_step_memory(config, input_dim)
        _, opts = vmi_options(config, input_dim)
        self.model: VMIVAE = build_vmi(config, input_dim).to(device)
        self.optimizers = {
            "vae": make_adam(self.model.vae_parameters(), config.lr, device),
            "q": make_adam(self.model.q.parameters(), opts["q_lr"], device),
        }
        self._reset_sums()

    @property
    def code_names(self) -> list[str]:
        return self.model.chosen_codes

    def _reset_sums(self) -> None:
        self._sums: dict[str, Tensor] = {}
        self._n = 0

    def _add(self, name: str, value) -> None:
        if value is None:
            return
        v = value.detach() if isinstance(value, Tensor) else torch.tensor(float(value))
        self._sums[name] = self._sums[name] + v if name in self._sums else v.clone()

    def train_step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
        model = self.model
        model.train()
        terms = model.training_terms(x, generator)
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        terms["backward"].backward()
        for opt in self.optimizers.values():
            opt.step()
        model.steps += 1
        b = x.shape[0]
        self._n += b
        self._add("elbo", (terms["rec"] - terms["kl_g"]
                           - (terms["kl_c"] if terms["kl_c"] is not None else 0.0)) * b)
        self._add("kl", (terms["kl_g"] + (terms["kl_c"] if terms["kl_c"] is not None else 0.0))
                  * b)
        self._add("ce_gauss", terms["ce_gauss"] * b)
        if terms["ce_cat"] is not None:
            self._add("ce_cat", terms["ce_cat"] * b)
        return terms["vae_loss"]

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        out = {"loss": mean_loss}
        n = max(1, self._n)
        if "elbo" in self._sums:
            out["elbo"] = float(self._sums["elbo"]) / n
            out["kl"] = float(self._sums["kl"]) / n
        ce_g = self._sums.get("ce_gauss")
        if ce_g is not None:
            for u, v in zip(self.model.code_units, (ce_g / n).tolist()):
                out[f"ce_z{u}"] = v
        if "ce_cat" in self._sums:
            out["ce_cat"] = float(self._sums["ce_cat"]) / n
        self._reset_sums()
        return out

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, generator: torch.Generator, chunk: int = 500):
        model = self.model
        was = model.training
        model.eval()
        total = 0.0
        ce_g = torch.zeros(len(model.code_units), dtype=torch.float64)
        ce_c = 0.0
        cats = []
        for start in range(0, x.shape[0], chunk):
            xb = x[start:start + chunk]
            total += model.elbo(xb, generator=generator).sum().item()
            z = model.sample_joint(xb, generator=generator)  # hard codes
            if model.code_units or model.code_cat:
                tg = z[:, list(model.code_units)] if model.code_units else None
                tc = z[:, model.n_gauss:] if model.code_cat else None
                g, c = model.q.nll(model.decode(z), tg, tc)
                if g is not None:
                    ce_g += g.sum(0).double().cpu()
                if c is not None:
                    ce_c += float(c.sum())
            if model.n_cat:
                cats.append(model.categorical_code(xb).cpu())
        model.train(was)
        n = max(1, x.shape[0])
        out = {"elbo": total / n}
        for u, v in zip(model.code_units, (ce_g / n).tolist()):
            out[f"mi_z{u}"] = GAUSS_ENTROPY - v
        if model.code_cat:
            out["mi_cat"] = math.log(model.n_cat) - ce_c / n
        if cats and y is not None and y.numel() == x.shape[0]:
            out["cat_acc"] = categorical_accuracy(torch.cat(cats), y.cpu(), model.n_cat)
        return out

    def on_epoch_end(self, epoch: int, out) -> dict:
        return {"temperature": self.model.temperature} if self.model.n_cat else {}


__all__ = ["VMITask", "build_vmi", "vmi_options"]
