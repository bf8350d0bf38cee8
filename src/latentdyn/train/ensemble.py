"""Many VAEs of one shape trained as one batched computation, each into its own run
folder, by the one training loop (:func:`latentdyn.train.loop.fit`) with an
:class:`EnsembleRunner` over a :class:`~latentdyn.models.vae.VAEEnsemble`.

:func:`train_ensemble` draws every member's data order, noise and evaluation samples
from that member's own generators, seeded exactly as ``train()`` seeds them, so each
member ends as ``train()`` would leave it alone (docs/benchmarks.md states the
tolerance).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch import Tensor

from latentdyn.data import Dataset, load_dataset
from latentdyn.errors import ConfigError
from latentdyn.io import folder_lock
from latentdyn.checks import resolve_device
from latentdyn.train.config import TrainConfig
from latentdyn.train.hooks import CallbackProgress
from latentdyn.train.loop import begin_member, common_start, fit, open_member
from latentdyn.models.vae import VAEEnsemble
from latentdyn.train.trainer import make_task, prepare_out

# options every member of one ensemble must share (same tensor shapes, same schedule)
SHARED = ("model", "dataset", "hidden", "nz", "activation", "n_samples", "batch_size",
          "epochs", "lr_factors", "lr_milestones", "model_options")


# --- training an ensemble into run folders ---------------------------------------------
class EnsembleRunner:
    """The loop's runner for a stack of same-shape VAEs (:class:`VAEEnsemble`): one
    batched step for every member, each on its own batch and its own noise."""

    def __init__(self, members: list):
        self.members = list(members)
        self.ensemble = VAEEnsemble([m.task.model for m in self.members],
                                    [m.task.optimizers["adam"] for m in self.members],
                                    [m.config.lr for m in self.members])
        c = self.members[0].config
        self._shape = (c.n_samples, c.nz)

    def set_lr(self, epoch: int) -> None:
        self.ensemble.set_lrs([m.config.lr * (m.config.lr_at(epoch) / m.config.lr)
                               for m in self.members])

    def step(self, idx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        x = x[idx]  # (M, B, D)
        L, nz = self._shape
        eps = torch.empty((len(self.members), L, x.shape[1], nz), device=x.device)
        for i, m in enumerate(self.members):
            torch.randn((L, x.shape[1], nz), generator=m.noise_gen, out=eps[i])
        return self.ensemble.train_step(x, eps)

    def evaluate(self, x: Tensor, y: Tensor) -> list[dict]:
        gens = [torch.Generator(x.device).manual_seed(m.config.seed + 2) for m in self.members]
        return [{"elbo": v} for v in self.ensemble.evaluate_elbo(x, gens)]

    def keep(self, keep: list[int]) -> None:
        self.members = [self.members[i] for i in keep]
        if self.members:
            self.ensemble.keep(keep)


def _check_shared(configs: list[TrainConfig]) -> None:
    c0 = configs[0]
    for c in configs[1:]:
        for key in SHARED:
            if getattr(c, key) != getattr(c0, key):
                raise ConfigError(f"ensemble members differ in {key} ({getattr(c, key)!r} vs "
                                  f"{getattr(c0, key)!r}); they must share a shape and schedule")
    if c0.model != "vae":
        raise ConfigError(f"ensembles train the VAE only, not {c0.model!r}")


def train_ensemble(
    configs: list[TrainConfig],
    outs: list[str | Path],
    *,
    dataset: Dataset | None = None,
    overwrite: bool = False,
    progress=None,
    stop_after_epoch: int | None = None,
    argv: list[str] | None = None,
    info: dict | None = None,
    return_ensemble: bool = False,
    callbacks=(),
):
    """Train same-shape VAE configs together, each into its own run folder, with the
    loop of :func:`latentdyn.train.loop.fit` and an :class:`EnsembleRunner`.

    Each folder ends up as ``train(config, out)`` would leave it (config.json,
    manifest.json, metrics.csv, checkpoint.safetensors, model.safetensors); a folder that
    holds a checkpoint of the same config is resumed from it (all members must then be at
    the same epoch). ``progress(delta)`` is called with finished model-epochs (fractions
    within an epoch). ``stop_after_epoch`` ends early as ``train`` does; ``callbacks``
    are :class:`~latentdyn.train.hooks.Callback` objects the loop calls. A member whose
    loss diverges is dropped and the others go on. Returns one dict per member (``out``,
    ``status``: completed / stopped / diverged, ``rows``, ``wall_s``, ``message``), plus
    the trained :class:`VAEEnsemble` of the members that did not diverge when
    ``return_ensemble``.
    """
    if len(configs) != len(outs) or not configs:
        raise ConfigError("train_ensemble needs one run folder per config")
    configs = [c.validate() for c in configs]
    _check_shared(configs)
    device = resolve_device(configs[0].device)
    data = dataset if dataset is not None else load_dataset(configs[0].dataset,
                                                            configs[0].data_dir)
    # equal learning rates side by side: one Adam call per rate
    order = sorted(range(len(configs)), key=lambda i: (configs[i].lr, i))
    for i in order:  # every folder checked before any is touched
        prepare_out(Path(outs[i]), configs[i], resume=not overwrite, overwrite=overwrite)
    tasks = {i: make_task(configs[i], data.dim, device) for i in order}  # VAETask
    with contextlib.ExitStack() as locks:
        members = []
        for i in order:
            cfg, out = configs[i], Path(outs[i])
            locks.enter_context(folder_lock(out))
            resume = prepare_out(out, cfg, resume=not overwrite, overwrite=overwrite)
            members.append(open_member(cfg, out, tasks[i], device, resume))
        common_start(members)
        for m in members:
            begin_member(m, data, device, argv, ensemble={"size": len(members), **(info or {})})
        runner = EnsembleRunner(members)
        cfg0 = members[0].config
        last_epoch = cfg0.epochs if stop_after_epoch is None else min(cfg0.epochs,
                                                                        stop_after_epoch)
        kept = fit(runner, data, device, last_epoch,
                   CallbackProgress(progress) if progress is not None else None, strict=False,
                   callbacks=callbacks)
    results: list = [None] * len(members)
    for pos, m in enumerate(members):  # back to the caller's order
        results[order[pos]] = {
            "out": m.out, "config": m.config, "status": m.status, "rows": m.rows,
            "wall_s": float(m.manifest.data.get("wall_time_s", 0.0)),
            "message": m.message, "ensemble_size": len(members),
        }
    if return_ensemble:
        return results, (runner.ensemble if kept else None), [m.out for m in kept]
    return results
