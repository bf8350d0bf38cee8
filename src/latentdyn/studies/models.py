"""How a study takes its model: ``--model`` (a run folder, a snapshot ``RUN@STEP``, a
factory ``FILE.py:FUNCTION``, a pythae or diffusers model folder, or in Python a model
object), or one it trains itself into its output folder.

* :class:`ModelSource` -- ``--weights``, ``--model-kind``, ``--trust-pickles``: the
  fields every ``Params`` with a ``--model`` takes by inheriting it;
* :func:`input_dim` -- the image width a model was built for, if it says;
* :func:`given_model` -- the model of ``--model`` (read by
  :func:`latentdyn.train.sources.open_model`; a run folder of one of ``kinds``, when
  given) or any object offering ``encode``/``decode``, with its run config (None for
  anything but a run);
* :func:`trained_model` -- a run trained (or reused, or resumed) in a folder;
* :func:`check_fits` -- one line when a data set's images do not fit a model;
* :func:`run_properties` -- what a report may state about a given run: its kind, Nz,
  hidden width, the epochs it was trained and its data set, from the run's config;
* :func:`model_stage` -- the stage that gives a study its model: the given one, or one
  it trains into its output folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from latentdyn.errors import ConfigError
from latentdyn.studies.params import param

MODEL_FORMS = ("run", "factory", "pythae", "diffusers")  # latentdyn.train.sources.FORMS
MODEL_HELP = ("A run folder (latentdyn train), RUN@STEP, a factory FILE.py:FUNCTION or "
              "package.module:FUNCTION, a pythae model folder or a diffusers AutoencoderKL "
              "folder; in Python also a model object.")


@dataclass(frozen=True)
class ModelSource:
    """How ``--model`` is read: the options of every command that takes one."""

    weights: str | None = param(None, "With --model FILE.py:FUNCTION: a state dict to load "
                                "into the model it builds (.safetensors, or a PyTorch file "
                                "read with weights_only=True).", path="file", exists=True,
                                group=1)
    model_kind: str | None = param(None, "What --model is, when its files do not say [default: "
                                   "read from its files].", choices=MODEL_FORMS,
                                   show_default=False, group=1)
    trust_pickles: bool = param(False, "Load a pythae model folder whose networks are "
                                "pickled (encoder.pkl, decoder.pkl): loading a pickle runs "
                                "the code in it.", group=1)


def source_options(params) -> dict:
    """The :class:`ModelSource` options of ``params`` (their defaults where it has none)."""
    return {"weights": getattr(params, "weights", None),
            "kind": getattr(params, "model_kind", None),
            "trust_pickles": bool(getattr(params, "trust_pickles", False))}


class GivenModel(NamedTuple):
    model: Any
    config: Any  # the run's TrainConfig, or None for a model object
    path: str  # the run folder, or a description of the object


def input_dim(model) -> int | None:
    """The image width a model was built for (its config's ``input_dim``), if it says."""
    config = getattr(model, "config_dict", None)
    dim = (config() or {}).get("input_dim") if callable(config) else None
    return dim if isinstance(dim, int) else None


def given_model(spec, device, kinds: tuple[str, ...] | None = None,
                option: str = "--model", source=None) -> GivenModel:
    """The model ``spec`` names (any form :func:`latentdyn.train.sources.open_model`
    reads; a run folder is refused in one line when it is not of one of ``kinds``, and
    ``--classifier`` takes run folders only) or, from Python, a model object offering
    ``encode``/``decode``. ``source``: the study's ``Params`` (its ``--weights``,
    ``--model-kind`` and ``--trust-pickles``)."""
    from latentdyn.models.protocol import check_model
    from latentdyn.train.runs import load_run_of_kind, run_kind
    from latentdyn.train.sources import open_model

    if isinstance(spec, (str, Path)):
        if kinds and "classifier" in kinds:
            run = load_run_of_kind(spec, kinds, option, device)
            return GivenModel(run.model, run.config, str(spec))
        options = source_options(source)
        if kinds and options["kind"] in (None, "run") and (Path(spec) / "config.json").is_file():
            recorded = run_kind(spec, option)  # before its weights are read
            if recorded not in kinds:
                raise ConfigError(f"{spec}: is a {recorded!r} run; {option} needs a run "
                                  f"trained with --model {' or '.join(kinds)}")
        opened = open_model(spec, device, option=option, **options)
        if kinds and opened.config is not None and opened.kind not in kinds:
            raise ConfigError(f"{spec}: is a {opened.kind!r} run; {option} needs a run trained "
                              f"with --model {' or '.join(kinds)}")
        return GivenModel(opened.model, opened.config, str(spec))
    if spec is None:
        raise ConfigError(f"{option} is required")
    check_model(spec)
    return GivenModel(spec, None, f"<{type(spec).__name__} object>")


def trained_model(config, folder: str | Path, device, progress: bool) -> GivenModel:
    """Train ``config`` into ``folder`` (reusing a finished run with the same config,
    resuming an interrupted one) and load it."""
    from latentdyn.train import ensure_trained
    from latentdyn.train.runs import load_run

    ensure_trained(config, folder, progress=progress)
    run = load_run(folder, device=device)
    return GivenModel(run.model, run.config, str(folder))


def check_fits(model, data, what: str) -> None:
    """One line when the images of ``data`` are not the size ``model`` takes
    (:func:`latentdyn.models.adapters.fitting.fit_data`: the width its config records,
    else one encoding and decoding of two images; a model that takes images of any size
    is fitted to the data set's shape first)."""
    from latentdyn.models.adapters.fitting import fit_data

    fit_data(model, data, what)


def check_given_data(given: GivenModel, data, option: str = "--model") -> None:
    """One line when ``data`` is the data set the given run was trained on by name but
    its file changed since (:func:`latentdyn.train.runs.check_run_data`); a model
    object has no record to compare."""
    from latentdyn.train.runs import check_run_data
    from latentdyn.train.sources import split_snapshot

    if given.config is not None:  # a snapshot RUN@STEP is checked against its run
        check_run_data(split_snapshot(given.path)[0], data, option)




def run_properties(config) -> dict:
    """What a report may state about a given run, read from its config (a
    :class:`~latentdyn.train.TrainConfig`): ``kind``, ``nz``, ``hidden``, ``epochs``,
    ``batch_size``, ``lr``, ``dataset``; {} for None (a model object)."""
    if config is None:
        return {}
    return {"kind": str(config.model), "nz": int(config.nz), "hidden": int(config.hidden),
            "epochs": int(config.epochs), "batch_size": int(config.batch_size),
            "lr": float(config.lr), "dataset": str(config.dataset)}


def model_stage(run, spec, config, device, folder: str = "model",
                source=None) -> GivenModel:
    """The stage that gives a study its model: ``spec`` (``--model``: a run folder or a
    model object) when given, else a run of ``config`` trained into ``run.folder/folder``
    (reused by the next call with the same config, resumed when it was interrupted)."""
    with run.stage("model", None if spec is not None else f"training the model ({folder})"):
        if spec is not None:
            return given_model(spec, device, source=source)
        return trained_model(config, run.folder / folder, device, run.progress)


__all__ = ["GivenModel", "MODEL_FORMS", "MODEL_HELP", "ModelSource", "check_fits",
           "check_given_data", "given_model", "input_dim", "model_stage", "run_properties",
           "source_options", "trained_model"]
