"""Where a model comes from: the one reader of every command's ``--model``.

:func:`open_model` turns what the user wrote into a protocol model:

* a latentdyn run folder (:func:`latentdyn.train.runs.load_run`), or a snapshot of one,
  ``RUN@STEP`` (:func:`snapshot`, the seam where saved training steps are read);
* a factory, ``path/to/file.py:make_model`` or ``package.module:make_model``, with
  ``weights`` (``--weights FILE``) loaded into what it returns;
* a pythae model folder or a diffusers ``AutoencoderKL`` folder
  (:mod:`latentdyn.models.adapters`), ``trust_pickles`` allowing a pythae folder whose
  networks are cloudpickles.

A folder's kind is read from its files; ``kind`` (``--model-kind``) says it instead.
The studies (:func:`latentdyn.studies.models.given_model`) and the explorer both load
through here, so every command accepts the same forms.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from latentdyn.errors import ConfigError

# what --model-kind takes: a run folder, a factory, or a registered adapter
FORMS = ("run", "factory", "pythae", "diffusers")
_SNAPSHOT = re.compile(r"^(?P<run>.+)@(?P<step>\d+)$")


class Source(NamedTuple):
    model: Any
    config: Any  # the run's TrainConfig; None for every other form
    path: str  # what was given (a folder, FILE.py:NAME, ...)
    kind: str  # the run's model kind (vae, vmi, ...), or the form: factory, pythae, ...


def split_snapshot(text: str) -> tuple[str, int | None]:
    """``("RUN", STEP)`` for ``RUN@STEP`` whose RUN is not itself a path that exists;
    ``(text, None)`` otherwise."""
    m = _SNAPSHOT.match(text)
    if m is None or Path(text).exists():
        return text, None
    return m["run"], int(m["step"])


def snapshot(run: str, step: int, device, option: str = "--model") -> Source:
    """The run ``run`` as saved at optimiser step ``step`` (a snapshot listed in its
    manifest under ``snapshots``: :func:`latentdyn.train.runs.load_snapshot`); one line
    naming the saved steps when there is none at ``step``."""
    from latentdyn.train.runs import load_snapshot

    if not (Path(run) / "config.json").is_file():
        raise ConfigError(f"{option} {run}@{step}: {run} is not a run folder (no config.json)")
    model, config = load_snapshot(run, step, device, option)
    return Source(model, config, f"{run}@{step}", config.model)


def _run(path: str, device, option: str) -> Source:
    from latentdyn.train.runs import load_run

    model, config = load_run(path, device)
    return Source(model, config, path, config.model)


def _unknown(path: Path, option: str) -> ConfigError:
    from latentdyn.models.adapters import described

    if not path.exists():
        return ConfigError(f"{path}: not a run folder (no config.json): nothing there; "
                           f"{option} takes a run folder, FILE.py:FUNCTION, "
                           "package.module:FUNCTION or a model folder")
    return ConfigError(f"{path}: not a run folder (no config.json), nor {described()}; "
                       "--model-kind says which it is")


def _kind_of(text: str, path: Path) -> str:
    """The form ``text`` names, read from its files (or its spelling)."""
    from latentdyn.models.adapters import detect, split_factory

    if path.is_dir():
        found = detect(path)
        if found is not None:
            return found
        return "run"
    if split_factory(text) is not None and not path.exists():
        return "factory"
    return "run"


def open_model(spec, device, *, kind: str | None = None, weights=None,
               trust_pickles: bool = False, option: str = "--model") -> Source:
    """The model ``spec`` (a path or text, as ``--model`` takes it) names, on ``device``
    (module doc). One line for anything that cannot be loaded."""
    from latentdyn.models.adapters import ADAPTERS, load_factory, load_folder

    text = str(spec)
    if kind is not None and kind not in FORMS:
        raise ConfigError(f"--model-kind {kind!r}: choose from {', '.join(FORMS)}")
    if kind in (None, "run"):
        run, step = split_snapshot(text)
        if step is not None:
            return snapshot(run, step, device, option)
    path = Path(text).expanduser()
    kind = kind or _kind_of(text, path)
    if weights is not None and kind != "factory":
        raise ConfigError(f"--weights loads a state dict into the model a factory builds "
                          f"({option} FILE.py:FUNCTION); {text} is a {kind} model")
    if kind == "factory":
        return Source(load_factory(text, device, weights), None, text, "factory")
    if kind in ADAPTERS:
        if not path.is_dir():
            raise ConfigError(f"{option} {text}: no such folder (--model-kind {kind})")
        return Source(load_folder(kind, path, device, trust_pickles), None, text, kind)
    if not (path / "config.json").is_file():
        raise _unknown(path, option)
    return _run(text, device, option)


__all__ = ["FORMS", "Source", "open_model", "snapshot", "split_snapshot"]
