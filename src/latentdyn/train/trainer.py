"""``train(config, out)``: one run folder trained by the loop of
:mod:`latentdyn.train.loop` (the plain-function core behind ``latentdyn train``), the
run-folder guard, and ``ensure_trained`` (reuse, resume or train) for the studies.

All randomness comes from two explicit generators seeded from ``config.seed`` (one for
the data order, one for the reparameterisation noise) whose states are checkpointed, so
a run stopped after any epoch and resumed ends with the same weights as one never
stopped.
"""

from __future__ import annotations

import json
from pathlib import Path

from latentdyn.data import Dataset, load_dataset
from latentdyn.errors import ConfigError
from latentdyn.io import LOCK_NAME, folder_lock, read_json
from latentdyn.checks import resolve_device
from latentdyn.train.config import TrainConfig
from latentdyn.train.hooks import BarProgress
from latentdyn.train.loop import (  # noqa: F401  (TrainingDiverged, metrics_csv re-exported)
    TaskRunner,
    TrainingDiverged,
    begin_member,
    fit,
    metrics_csv,
    open_member,
)
from latentdyn.models.registry import family

# options that may differ between a run and its resumption
_RESUMABLE_DIFFERENCES = {"device", "data_dir", "checkpoint_every", "eval_every"}


def _contents(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME) if out.is_dir() else []


def _refuse_other_kind(out: Path) -> None:
    """A folder whose manifest is another command's (a study's result, a sweep) is never
    taken over by a training run, not even with --overwrite."""
    if (out / "sweep.json").exists():
        raise ConfigError(f"{out}: holds a sweep; a training run never goes into it; "
                          "choose another --out")
    try:
        kind = read_json(out / "manifest.json").get("kind")
    except (ValueError, OSError, AttributeError):
        return  # none, or unreadable: a damaged run, replaced only with --overwrite
    if isinstance(kind, str) and kind != "train":
        raise ConfigError(f"{out}: holds the result of {kind!r}; a training run never goes "
                          "into it; choose another --out")


def prepare_out(out: Path, config: TrainConfig, resume: bool, overwrite: bool) -> bool:
    """Check what ``out`` holds; return True when an earlier run should be resumed.

    An empty or missing folder starts a new run. A folder holding this run is resumed
    with ``resume``; another run is replaced only with ``overwrite`` (``resume`` and
    ``overwrite`` together: resume the same run, replace a different one). A folder
    holding anything that is not a latentdyn run is never taken over.
    """
    cfg_path = out / "config.json"
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    contents = _contents(out)
    if not contents:
        return False
    if not cfg_path.exists():
        _refuse_other_kind(out)
        if not (out / "manifest.json").exists():
            raise ConfigError(f"{out}: holds files that are not a latentdyn run "
                              f"({', '.join(contents[:3])}{', …' if len(contents) > 3 else ''})"
                              "; choose another --out")
        if overwrite:
            return False
        raise ConfigError(f"{out}: holds a run without its config.json; pass --overwrite to "
                          "replace it, or choose another --out")
    try:
        old = read_json(cfg_path)
        if not isinstance(old, dict):
            raise ValueError("not a mapping")
    except (ValueError, OSError):
        if overwrite:
            return False
        raise ConfigError(f"{out}: holds an unreadable config.json; pass --overwrite to replace it")
    if overwrite and not resume:
        return False
    new = json.loads(json.dumps(config.to_dict()))
    diffs = [k for k in sorted(set(old) | set(new))
             if k not in _RESUMABLE_DIFFERENCES and old.get(k) != new.get(k)]
    if resume:
        if diffs and overwrite:
            return False
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


def apply_defaults(fam, config: TrainConfig) -> TrainConfig:
    """The kind's own defaults (its learning rate etc.) set in ``config``, in place."""
    defaults = getattr(fam.task, "apply_defaults", None)
    if callable(defaults):
        defaults(config)
    return config


def make_task(config: TrainConfig, input_dim: int, device):
    """The task that trains ``config``: its family's (from the registry of
    :mod:`latentdyn.models.registry`), with the kind's defaults set in ``config`` and the
    runs it is built from (its input runs) loaded, frozen, on ``device``."""
    from latentdyn.train.runs import load_inputs

    fam = family(config.model)
    apply_defaults(fam, config)
    inputs = load_inputs(fam.input_runs(config), device)
    return fam.make_task(config, input_dim, device, inputs)


def _finished(member) -> bool:
    from latentdyn.train.runs import read_manifest

    return (member.start == member.config.epochs
            and (member.out / "model.safetensors").is_file()
            and read_manifest(member.out).get("status") == "completed")


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
    callbacks=(),
) -> Path:
    """Train ``config`` into the run folder ``out`` and return its path.

    ``resume`` continues the run already in ``out`` from its last checkpoint;
    ``overwrite`` replaces a run that is there. ``stop_after_epoch`` ends this call
    early after that many epochs (as if it had been stopped), leaving a resumable run.
    ``callbacks``: :class:`~latentdyn.train.hooks.Callback` objects the loop calls.
    """
    config.validate()
    # a model kind's own learning rate etc., before any comparison
    apply_defaults(family(config.model), config)
    out = Path(out)
    do_resume = prepare_out(out, config, resume, overwrite)
    device = resolve_device(config.device)
    data = dataset if dataset is not None else load_dataset(config.dataset, config.data_dir)
    task = make_task(config, data.dim, device)
    check = getattr(task, "check_data", None)
    if callable(check):  # e.g. labels beyond a classifier's classes: before any file
        check(data)
    with folder_lock(out):
        do_resume = prepare_out(out, config, resume, overwrite)  # again, under the lock
        if do_resume:  # never continue a run on data other than it started on
            from latentdyn.train.runs import check_run_data

            check_run_data(out, data, "--resume")
        member = open_member(config, out, task, device, do_resume)
        if do_resume and _finished(member):
            return out  # resuming a finished run: nothing to do, nothing rewritten
        begin_member(member, data, device, argv)
        last_epoch = config.epochs if stop_after_epoch is None else min(config.epochs,
                                                                        stop_after_epoch)
        steps = (len(data.train_labels) + config.batch_size - 1) // config.batch_size
        bar = BarProgress(config.epochs, steps, member.start) if progress else None
        fit(TaskRunner([member]), data, device, last_epoch, bar, strict=True,
            callbacks=callbacks)
    return out


def ensure_trained(config: TrainConfig, out: str | Path, *, progress: bool = True,
                   dataset: Dataset | None = None, inputs: dict | None = None,
                   argv: list[str] | None = None, callbacks=()) -> Path:
    """The run of ``config`` in ``out``: reused when it finished with the same config,
    resumed when it was interrupted, trained (replacing anything else there) otherwise.
    ``inputs`` (name -> run folder): runs this one is built from; a finished run is
    trained again when the weights of one of them changed since (md5 recorded in its
    ``inputs.json``). What the reproductions use to keep the runs they train between
    calls. ``callbacks``: as :func:`train`'s, when it trains."""
    from latentdyn.train.runs import data_unchanged, inputs_changed

    out = Path(out)
    apply_defaults(family(config.model), config)  # compare with the config train() records
    cfg = out / "config.json"
    try:
        # compare as JSON: tuples in the config are lists in config.json
        same = cfg.is_file() and read_json(cfg) == json.loads(json.dumps(config.to_dict()))
    except (OSError, ValueError):
        same = False
    if same and inputs and inputs_changed(out, inputs):
        same = False
    if same and not data_unchanged(out, config.dataset):  # its data file changed since
        same = False
    if not (same and (out / "model.safetensors").is_file()):
        train(config, out, resume=same, overwrite=not same, progress=progress, dataset=dataset,
              argv=argv, callbacks=callbacks)
    return out
