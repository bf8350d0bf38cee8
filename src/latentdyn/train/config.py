"""Training configuration as one plain object (minGPT style).

A run's own ``config.json`` is a valid ``--config`` file, so any run can be repeated
exactly; TOML and YAML files are accepted too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from latentdyn.errors import ConfigError


MAX_SEED = 2**32 - 1
MAX_COUNT = 2**31 - 1  # sizes beyond this are no realistic request


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_int(name: str, v, low: int, high: int | None = None) -> None:
    ok = isinstance(v, int) and not isinstance(v, bool) and v >= low and (
        high is None or v <= high)
    if not ok:
        bound = {0: "a non-negative integer", 1: "a positive integer"}.get(low, f">= {low}")
        if high is not None:
            bound += f" at most {high}"
        raise ConfigError(f"{name} must be {bound}, got {v!r}")


@dataclass
class TrainConfig:
    # what to train
    model: str = "vae"
    dataset: str = "mnist-embedded"
    data_dir: str | None = None
    nz: int = 100
    hidden: int = 1024
    activation: str = "tanh"
    n_samples: int = 2
    model_options: dict = field(default_factory=dict)  # extra options of other model kinds
    # how to train it
    epochs: int = 100
    batch_size: int = 100
    lr: float = 5e-4
    # the paper steps the learning rate 5e-4 -> 1e-4 -> 5e-5: factors of the base lr,
    # applied from the given fractions of the epochs on
    lr_factors: list = field(default_factory=lambda: [1.0, 0.2, 0.1])
    lr_milestones: list = field(default_factory=lambda: [0.5, 0.8])
    seed: int = 0
    device: str = "auto"
    # bookkeeping
    checkpoint_every: int = 1  # epochs
    eval_every: int = 1  # epochs; test ELBO is always computed after the last epoch
    # weights saved at these optimiser steps: None, "log" (1, 2, 4, ... and the last
    # step) or a list of steps (latentdyn.train.snapshots); left out of to_dict when None,
    # so that the config of a run without snapshots reads as before
    snapshots: Any = None

    def __post_init__(self):
        # a data file or folder given relative to the working folder is recorded as an
        # absolute path, so the run's config.json loads the same data from anywhere
        from latentdyn.data.identity import canonical_dir, canonical_name

        self.dataset = canonical_name(self.dataset)
        self.data_dir = canonical_dir(self.data_dir)

    def validate(self) -> "TrainConfig":
        """Check every field's type and range; one line naming the first bad one."""
        for name in ("model", "dataset", "activation", "device"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"{name} must be a non-empty string, got "
                                  f"{getattr(self, name)!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ConfigError(f"data_dir must be a folder path, got {self.data_dir!r}")
        for name in ("nz", "hidden", "n_samples", "batch_size", "checkpoint_every",
                     "eval_every"):
            _check_int(name, getattr(self, name), 1, MAX_COUNT)
        _check_int("epochs", self.epochs, 0, MAX_COUNT)
        _check_int("seed", self.seed, 0, MAX_SEED)
        if not (_is_number(self.lr) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        for name in ("lr_factors", "lr_milestones"):
            v = getattr(self, name)
            if not isinstance(v, (list, tuple)) or not all(_is_number(x) and math.isfinite(x)
                                                           for x in v):
                raise ConfigError(f"{name} must be a list of numbers, got {v!r}")
        if len(self.lr_factors) != len(self.lr_milestones) + 1:
            raise ConfigError(
                "lr_factors needs one more entry than lr_milestones "
                f"(got {len(self.lr_factors)} and {len(self.lr_milestones)})"
            )
        if any(not (0 < f) for f in self.lr_factors):
            raise ConfigError(f"lr_factors must be positive, got {self.lr_factors}")
        if list(self.lr_milestones) != sorted(self.lr_milestones) or any(
            not (0 <= m <= 1) for m in self.lr_milestones
        ):
            raise ConfigError(
                f"lr_milestones must be increasing fractions in [0, 1], got {self.lr_milestones}"
            )
        if self.device not in ("auto", "cpu", "cuda") and not (
                self.device.startswith("cuda:") and self.device[5:].isdigit()):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        from latentdyn.train.snapshots import parse_snapshots

        self.snapshots = parse_snapshots(self.snapshots)
        if not isinstance(self.model_options, dict):
            raise ConfigError("model_options must be a table/mapping")
        clash = sorted(set(self.model_options) & (_FIELDS | {"input_dim"}))
        if clash:
            k = clash[0]
            raise ConfigError(f"option {k!r} is set by "
                              + ("the data" if k == "input_dim" else f"--{k.replace('_', '-')}")
                              + ", not by --option")
        return self

    def lr_at(self, epoch: int) -> float:
        """Learning rate for 0-based ``epoch``: the base lr times the current factor.

        The factor steps at the first epoch whose index reaches ``milestone * epochs``
        (for 100 epochs: epochs 51 and 81, counting from 1).
        """
        factor = self.lr_factors[0]
        for milestone, f in zip(self.lr_milestones, self.lr_factors[1:]):
            if epoch >= milestone * self.epochs:
                factor = f
        return self.lr * factor

    def to_dict(self) -> dict:
        out = asdict(self)
        if out.get("snapshots") is None:
            del out["snapshots"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config option(s): {', '.join(unknown)}")
        return cls(**data)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML, YAML or JSON config file into a dict of options."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".json":
            from latentdyn.io import parse_json

            data = parse_json(text)
        else:
            raise ConfigError(f"{path}: config files must be .toml, .yaml, .yml or .json")
    except ConfigError:
        raise
    except RecursionError:  # YAML and TOML parsers recurse into nested lists
        raise ConfigError(f"{path}: cannot parse config: nested too deeply") from None
    except Exception as exc:  # parser errors of all three formats
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: cannot parse config: {msg}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a table of options")
    return {k.replace("-", "_"): v for k, v in data.items()}


_FIELDS = {f.name for f in fields(TrainConfig)}
