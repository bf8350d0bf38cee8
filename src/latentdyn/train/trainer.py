"""The training loop: data order, learning-rate steps, checkpoints, metrics, progress.

``train(config, out)`` is the plain-function core behind ``latentdyn train``. All
randomness comes from two explicit generators seeded from ``config.seed`` (one for the
data order, one for the reparameterisation noise) whose states are checkpointed, so a
run stopped after any epoch and resumed ends with the same weights as one never stopped.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from latentdyn.data import Dataset, load_dataset
from latentdyn.errors import CheckpointError, ConfigError, LatentdynError
from latentdyn.io import write_json, write_text
from latentdyn.reporting.manifest import Manifest, resolve_device
from latentdyn.train.checkpoint import (
    flatten_optimizer,
    load_model_weights,
    load_tensors,
    restore_optimizer,
    save_model,
    save_tensors,
)
from latentdyn.train.config import TrainConfig
from latentdyn.train.runs import RUN_FILES
from latentdyn.train.tasks import get_task

# options that may differ between a run and its resumption
_RESUMABLE_DIFFERENCES = {"device", "data_dir", "checkpoint_every", "eval_every"}


class TrainingDiverged(LatentdynError):
    """The loss became NaN or infinite."""


def prepare_out(out: Path, config: TrainConfig, resume: bool, overwrite: bool) -> bool:
    """Check what ``out`` holds; return True when an earlier run should be resumed."""
    cfg_path = out / "config.json"
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    if not cfg_path.exists():
        return False
    try:
        old = json.loads(cfg_path.read_text())
        if not isinstance(old, dict):
            raise ValueError("not a mapping")
    except (ValueError, OSError):
        if overwrite:
            return False
        raise ConfigError(f"{out}: holds an unreadable config.json; pass --overwrite to replace it")
    if overwrite and not resume:
        return False
    new = config.to_dict()
    diffs = [k for k in sorted(set(old) | set(new))
             if k not in _RESUMABLE_DIFFERENCES and old.get(k) != new.get(k)]
    if resume:
        if diffs:
            k = diffs[0]
            raise ConfigError(
                f"{out}: holds a different run ({k} = {old.get(k)!r} there, {new.get(k)!r} here); "
                "choose another --out or pass --overwrite"
            )
        return True
    what = "a different run" if diffs else "a run"
    raise ConfigError(
        f"{out}: already holds {what}; pass --resume to continue it, --overwrite to replace it, "
        "or choose another --out"
    )


def metrics_csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    seen: list[str] = []
    for row in rows:
        seen += [c for c in row if c not in seen]
    # epoch, lr, train_*, test_*, then anything else (seconds last)
    rank = {"epoch": 0, "lr": 1}
    columns = sorted(seen, key=lambda c: (rank.get(c, 2 if c.startswith("train_") else
                                                   3 if c.startswith("test_") else 4),
                                          seen.index(c)))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _set_lr(optimizers: dict, base_lrs: dict, factor: float) -> None:
    for name, opt in optimizers.items():
        for group, base in zip(opt.param_groups, base_lrs[name]):
            group["lr"] = base * factor


def train(
    config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    dataset: Dataset | None = None,
    stop_after_epoch: int | None = None,
    argv: list[str] | None = None,
) -> Path:
    """Train ``config`` into the run folder ``out`` and return its path.

    ``resume`` continues the run already in ``out`` from its last checkpoint;
    ``overwrite`` replaces a run that is there. ``stop_after_epoch`` ends this call
    early after that many epochs (as if it had been stopped), leaving a resumable run.
    """
    config.validate()
    task_cls = get_task(config.model)
    defaults = getattr(task_cls, "apply_defaults", None)
    if callable(defaults):  # a model kind's own learning rate etc., before any comparison
        defaults(config)
    out = Path(out)
    do_resume = prepare_out(out, config, resume, overwrite)
    device = resolve_device(config.device)
    data = dataset if dataset is not None else load_dataset(config.dataset, config.data_dir)

    task = task_cls(config, data.dim, device)
    base_lrs = {n: [g["lr"] for g in o.param_groups] for n, o in task.optimizers.items()}
    data_gen = torch.Generator("cpu").manual_seed(config.seed)
    noise_gen = torch.Generator(device).manual_seed(config.seed + 1)

    start_epoch, rows, previous = 0, [], None
    ckpt_path = out / "checkpoint.safetensors"
    if do_resume and ckpt_path.exists():
        tensors, meta = load_tensors(ckpt_path)
        if meta.get("model") != config.model:
            raise CheckpointError(f"{ckpt_path}: checkpoint is for model {meta.get('model')!r}")
        load_model_weights(
            task.model, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")},
            str(ckpt_path),
        )
        for name, opt in task.optimizers.items():
            restore_optimizer(f"optim.{name}", opt, tensors, meta["optimizers"][name])
        data_gen.set_state(tensors["rng.data"])
        noise_gen.set_state(tensors["rng.noise"])
        start_epoch, rows = int(meta["epoch"]), list(meta["metrics"])
        previous = meta.get("manifest")
    elif not do_resume:
        for name in RUN_FILES:  # a replaced run leaves nothing stale behind
            (out / name).unlink(missing_ok=True)

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", config.to_dict())
    manifest = Manifest(
        out / "manifest.json", kind="train", config=config.to_dict(), seed=config.seed,
        device=device, data={"dataset": data.name, "checksums": data.checksums(),
                             "train": len(data.train_labels), "test": len(data.test_labels)},
        argv=argv, previous=previous,
    )
    extra = getattr(task, "manifest_extra", None)
    if callable(extra):  # e.g. the runs a GAN encoder was built from, with checksums
        manifest.update(**extra())
    manifest.write("running")

    train_x = data.train_images.to(device)
    train_y = data.train_labels.to(device)
    test_x = data.test_images.to(device)
    test_y = data.test_labels.to(device)
    n, bs = train_x.shape[0], config.batch_size
    steps = (n + bs - 1) // bs
    last_epoch = config.epochs if stop_after_epoch is None else min(config.epochs, stop_after_epoch)

    def checkpoint(epoch: int) -> None:
        tensors = {f"model.{k}": v for k, v in task.model.state_dict().items()}
        opt_meta = {}
        for name, opt in task.optimizers.items():
            t, m = flatten_optimizer(f"optim.{name}", opt)
            tensors.update(t)
            opt_meta[name] = m
        tensors["rng.data"] = data_gen.get_state()
        tensors["rng.noise"] = noise_gen.get_state()
        manifest.write()
        save_tensors(ckpt_path, tensors, {
            "model": config.model, "model_config": task.model.config_dict(),
            "epoch": epoch, "optimizers": opt_meta,
            "metrics": rows, "manifest": manifest.data,
        })
        write_text(out / "metrics.csv", metrics_csv(rows))

    bar = tqdm(total=config.epochs * steps, initial=start_epoch * steps, unit="step",
               disable=not progress, dynamic_ncols=True, leave=True)
    try:
        for epoch in range(start_epoch, last_epoch):
            t0 = time.perf_counter()
            factor = config.lr_at(epoch) / config.lr
            _set_lr(task.optimizers, base_lrs, factor)
            bar.set_description(f"epoch {epoch + 1}/{config.epochs}")
            perm = torch.randperm(n, generator=data_gen).to(device)
            losses = torch.empty(steps, device=device)
            checked = 0
            for step in range(steps):
                idx = perm[step * bs:(step + 1) * bs]
                losses[step] = task.train_step(train_x[idx], train_y[idx], noise_gen)
                if (step + 1) % 25 == 0 or step + 1 == steps:
                    window = losses[checked:step + 1]
                    bad = (~torch.isfinite(window)).nonzero()
                    if bad.numel():
                        at = checked + int(bad[0, 0]) + 1
                        raise TrainingDiverged(
                            f"loss became {float(window[bad[0, 0]])} at epoch {epoch + 1}, "
                            f"step {at}; the last good checkpoint "
                            f"(epoch {start_epoch if not rows else rows[-1]['epoch']}) is kept in {out}"
                        )
                    bar.update(step + 1 - checked)
                    bar.set_postfix(loss=f"{float(window.mean()):.2f}")
                    checked = step + 1
            sizes = torch.full((steps,), float(bs), device=device)
            sizes[-1] = n - bs * (steps - 1)
            mean_loss = float((losses * sizes).sum() / n)
            row = {"epoch": epoch + 1, "lr": config.lr_at(epoch)}
            row.update({f"train_{k}": v for k, v in task.train_metrics(mean_loss).items()})
            is_last = epoch + 1 == config.epochs
            if (epoch + 1) % config.eval_every == 0 or is_last:
                eval_gen = torch.Generator(device).manual_seed(config.seed + 2)
                row.update({f"test_{k}": v for k, v in
                            task.evaluate(test_x, test_y, eval_gen).items()})
            hook = getattr(task, "on_epoch_end", None)
            if callable(hook):  # e.g. sample grids, collapse checks; may add metrics
                row.update(hook(epoch + 1, out) or {})
            row["seconds"] = round(time.perf_counter() - t0, 3)
            rows.append(row)
            shown = {k: f"{v:.2f}" for k, v in row.items() if k.startswith(("train_", "test_"))}
            bar.set_postfix(shown)
            if (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == last_epoch:
                checkpoint(epoch + 1)
    except TrainingDiverged:
        bar.close()
        manifest.write("diverged")
        raise
    except BaseException:
        bar.close()
        manifest.write("interrupted")
        raise
    bar.close()

    if last_epoch == config.epochs:
        save_model(out / "model.safetensors", task.model,
                   {"model": config.model, "model_config": task.model.config_dict(),
                    "config": config.to_dict()})
        write_text(out / "metrics.csv", metrics_csv(rows))
        manifest.update(final_metrics=rows[-1] if rows else {})
        manifest.write("completed")
    else:
        manifest.write("stopped")
    return out


def ensure_trained(config: TrainConfig, out: str | Path, *, progress: bool = True,
                   dataset: Dataset | None = None, inputs: dict | None = None,
                   argv: list[str] | None = None) -> Path:
    """The run of ``config`` in ``out``: reused when it finished with the same config,
    resumed when it was interrupted, trained (replacing anything else there) otherwise.
    ``inputs`` (name -> run folder): runs this one is built from; a finished run is
    trained again when the weights of one of them changed since (md5 recorded in its
    ``inputs.json``). What the reproductions use to keep the runs they train between
    calls."""
    from latentdyn.train.runs import inputs_changed

    out = Path(out)
    defaults = getattr(get_task(config.model), "apply_defaults", None)
    if callable(defaults):  # compare with the config train() will record
        defaults(config)
    cfg = out / "config.json"
    try:
        # compare as JSON: tuples in the config are lists in config.json
        same = cfg.is_file() and json.loads(cfg.read_text()) == json.loads(
            json.dumps(config.to_dict()))
    except ValueError:
        same = False
    if same and inputs and inputs_changed(out, inputs):
        same = False
    if not (same and (out / "model.safetensors").is_file()):
        train(config, out, resume=same, overwrite=not same, progress=progress, dataset=dataset,
              argv=argv)
    return out
