"""Training configuration as one plain object (minGPT style).

A run's own ``config.json`` is a valid ``--config`` file, so any run can be repeated
exactly; TOML and YAML files are accepted too.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from latentdyn.errors import ConfigError


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

    def validate(self) -> "TrainConfig":
        def positive_int(name: str, allow_zero: bool = False) -> None:
            v = getattr(self, name)
            ok = isinstance(v, int) and not isinstance(v, bool) and (v >= 0 if allow_zero else v > 0)
            if not ok:
                what = "a non-negative" if allow_zero else "a positive"
                raise ConfigError(f"{name} must be {what} integer, got {v!r}")

        positive_int("nz")
        positive_int("hidden")
        positive_int("n_samples")
        positive_int("batch_size")
        positive_int("epochs", allow_zero=True)
        positive_int("checkpoint_every")
        positive_int("eval_every")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
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
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if not isinstance(self.model_options, dict):
            raise ConfigError("model_options must be a table/mapping")
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
        return asdict(self)

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
            data = json.loads(text)
        else:
            raise ConfigError(f"{path}: config files must be .toml, .yaml, .yml or .json")
    except ConfigError:
        raise
    except Exception as exc:  # parser errors of all three formats
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: cannot parse config: {msg}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a table of options")
    return {k.replace("-", "_"): v for k, v in data.items()}
