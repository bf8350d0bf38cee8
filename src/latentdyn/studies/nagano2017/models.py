"""The VAEs of the two Nagano studies: the ``--model`` one, or one per training seed
(``--seeds N``), trained together as one batched ensemble when more than one needs
training, each into its own run folder that later calls reuse (or resume, when it was
interrupted).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from latentdyn.io import read_json
from latentdyn.studies.models import GivenModel
from latentdyn.train import TrainConfig, ensure_trained, train_ensemble
from latentdyn.train.runs import load_run


def _state(config: TrainConfig, folder: Path) -> str:
    """``done`` (a finished run of ``config``), ``resume`` (its checkpoint), ``new``
    (an empty folder) or ``other`` (something else, replaced by ensure_trained)."""
    cfg = folder / "config.json"
    if not folder.exists() or not any(folder.iterdir()):
        return "new"
    try:
        same = read_json(cfg) == json.loads(json.dumps(config.to_dict()))
    except (OSError, ValueError):
        return "other"
    if not same:
        return "other"
    if (folder / "model.safetensors").is_file():
        return "done"
    return "resume" if (folder / "checkpoint.safetensors").is_file() else "other"


def model_folders(folder: Path, seeds: list) -> list[Path]:
    """``model`` for the first seed (as without --seeds), ``model-seedK`` for the others."""
    return [folder / "model"] + [folder / f"model-seed{k}" for k in seeds[1:]]


def needs_training(configs: list[TrainConfig], folders: list[Path]) -> bool:
    """Whether one of ``configs`` is still to train (or to finish) in its folder."""
    return any(_state(c, Path(f)) != "done" for c, f in zip(configs, folders))


def train_models(configs: list[TrainConfig], folders: list[Path], device, progress: bool,
                 dataset=None, callbacks=()) -> list[GivenModel]:
    """Each config trained into its folder (reused when finished); the ones still to
    train from scratch are trained together by :func:`latentdyn.train.train_ensemble`;
    ``callbacks`` go to the training of a single one."""
    states = [_state(c, Path(f)) for c, f in zip(configs, folders)]
    fresh = [i for i, st in enumerate(states) if st == "new"]
    if len(fresh) >= 2:
        total = sum(configs[i].epochs for i in fresh)
        with tqdm(total=total, desc=f"training {len(fresh)} VAEs", unit="model-epoch",
                  disable=not progress) as bar:
            train_ensemble([configs[i] for i in fresh], [folders[i] for i in fresh],
                           dataset=dataset, progress=bar.update)
    for i, (config, folder) in enumerate(zip(configs, folders)):
        if not (len(fresh) >= 2 and i in fresh):
            ensure_trained(config, folder, progress=progress, dataset=dataset,
                           callbacks=callbacks)
    out = []
    for folder in folders:
        model, config = load_run(folder, device=device)
        out.append(GivenModel(model, config, str(folder)))
    return out


def vaes_stage(run, given: GivenModel | None, config: TrainConfig, seeds: list, data,
               device, callbacks=()) -> list[GivenModel]:
    """Stage ``train``: the ``--model`` VAE, or ``config`` trained once per seed into
    the output folder (``model/``, ``model-seedK/``); ``callbacks``: see
    :func:`train_models`."""
    with run.stage("train", None if given else f"training {len(seeds)} VAE(s)"):
        if given is not None:
            return [given]
        return train_models([replace(config, seed=k) for k in seeds],
                            model_folders(run.folder, seeds), device, run.progress, data,
                            callbacks)
