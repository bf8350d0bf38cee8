"""What a sweep is: shared training options plus a grid over Nz × lr × batch size × seed.

:class:`SweepSpec` holds one :class:`~latentdyn.train.TrainConfig` of shared options
(``base``) and one list per grid axis. Each grid point is an ordinary training config,
trained into ``<out>/<point name>/`` (e.g. ``nz14-lr0.001-bs100-seed0``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields, replace
from typing import Any, Iterable

from latentdyn.errors import ConfigError
from latentdyn.train.config import TrainConfig

#: the TrainConfig fields a sweep may list several values for, in grid order
GRID_FIELDS = ("nz", "lr", "batch_size", "seed")
_KINDS = {"nz": int, "lr": float, "batch_size": int, "seed": int}
#: shared options that may differ between a sweep and its resumption (as for ``train``)
RESUMABLE_DIFFERENCES = ("device", "data_dir", "checkpoint_every", "eval_every")


def parse_list(value: Any, name: str) -> list:
    """A grid axis from ``"2,5,10"``, a number, or a list, as ints (nz, batch_size,
    seed) or floats (lr). Empty elements, non-numbers and duplicates are one-line errors."""
    kind = _KINDS[name]
    flag = "--" + name.replace("_", "-")
    if isinstance(value, str):
        items: Iterable = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        items = [value]
    out = []
    for item in items:
        if isinstance(item, str):
            text = item.strip()
            if not text:
                raise ConfigError(f"{flag}: empty element in {value!r}")
            try:
                number = int(text) if kind is int else float(text)
            except ValueError:
                what = "an integer" if kind is int else "a number"
                raise ConfigError(f"{flag}: {text!r} is not {what}") from None
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ConfigError(f"{flag}: {item!r} is not a number")
        elif kind is int:
            if float(item) != int(item):
                raise ConfigError(f"{flag}: {item!r} is not an integer")
            number = int(item)
        else:
            number = float(item)
        out.append(number)
    if not out:
        raise ConfigError(f"{flag}: needs at least one value")
    seen = set()
    for number in out:
        if number in seen:
            raise ConfigError(f"{flag}: {number!r} is listed twice")
        seen.add(number)
    return out


def point_name(nz: int, lr: float, batch_size: int, seed: int) -> str:
    """Folder name of a grid point, e.g. ``nz14-lr0.001-bs100-seed0`` (``repr`` of the
    learning rate, so two different rates never share a folder)."""
    return f"nz{nz}-lr{float(lr)!r}-bs{batch_size}-seed{seed}"


@dataclass(frozen=True)
class Point:
    name: str
    config: TrainConfig

    @property
    def key(self) -> dict:
        return {f: getattr(self.config, f) for f in GRID_FIELDS}


@dataclass
class SweepSpec:
    """Shared options (``base``) and the values of each grid axis."""

    base: TrainConfig = field(default_factory=TrainConfig)
    nz: list = field(default_factory=lambda: [100])
    lr: list = field(default_factory=lambda: [5e-4])
    batch_size: list = field(default_factory=lambda: [100])
    seed: list = field(default_factory=lambda: [0])

    @classmethod
    def from_dict(cls, data: dict) -> "SweepSpec":
        """From a flat mapping of TrainConfig options where the grid fields may be lists
        (or comma-separated strings); ``batch`` is accepted for ``batch_size``. A
        ``base`` entry (a dict) is taken as the shared options."""
        data = {k.replace("-", "_"): v for k, v in dict(data).items()}
        if "batch" in data:
            data.setdefault("batch_size", data.pop("batch"))
        base = dict(data.pop("base", None) or {})
        grid = {}
        for name in GRID_FIELDS:
            value = data.pop(name, base.pop(name, None))
            if value is not None:
                grid[name] = parse_list(value, name)
        base.update(data)
        known = {f.name for f in fields(TrainConfig)}
        unknown = sorted(set(base) - known)
        if unknown:
            raise ConfigError(f"unknown sweep option(s): {', '.join(unknown)}")
        try:
            config = TrainConfig.from_dict(base)
        except TypeError as exc:
            raise ConfigError(f"bad sweep options: {exc}") from None
        return cls(base=config, **grid)

    @classmethod
    def coerce(cls, grid: "SweepSpec | dict") -> "SweepSpec":
        if isinstance(grid, SweepSpec):
            return grid
        if isinstance(grid, dict):
            return cls.from_dict(grid)
        raise ConfigError(f"a sweep grid must be a SweepSpec or a dict, got {type(grid).__name__}")

    def validate(self) -> "SweepSpec":
        for name in GRID_FIELDS:
            setattr(self, name, parse_list(getattr(self, name), name))
        if self.base.model != "vae":
            raise ConfigError(f"sweeps train the VAE only (model {self.base.model!r} asked for)")
        if self.base.model_options:
            raise ConfigError("sweeps take no --option: the VAE has no extra options")
        for point in self.points():
            point.config.validate()
        from latentdyn.models.vae import ACTIVATIONS

        if self.base.activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {self.base.activation!r}; choose from "
                              f"{', '.join(ACTIVATIONS)}")
        return self

    def points(self) -> list[Point]:
        """Every grid point, Nz outermost, seed innermost."""
        return [
            Point(point_name(nz, lr, bs, seed),
                  replace(self.base, nz=nz, lr=lr, batch_size=bs, seed=seed))
            for nz, lr, bs, seed in itertools.product(self.nz, self.lr, self.batch_size,
                                                      self.seed)
        ]

    def grid(self) -> dict:
        return {name: list(getattr(self, name)) for name in GRID_FIELDS}

    def shared(self) -> dict:
        """The shared options (the grid fields left out)."""
        return {k: v for k, v in self.base.to_dict().items() if k not in GRID_FIELDS}

    def to_dict(self) -> dict:
        return {"grid": self.grid(), "options": self.shared()}

    def difference(self, other: dict) -> str | None:
        """First difference from a stored ``to_dict()`` that forbids resuming, in words."""
        mine = self.to_dict()
        theirs_grid = dict(other.get("grid") or {})
        for name in GRID_FIELDS:
            here, there = mine["grid"][name], theirs_grid.get(name)
            if there is None or [float(v) for v in there] != [float(v) for v in here]:
                return f"{name} = {there!r} there, {here!r} here"
        theirs = dict(other.get("options") or {})
        for key in sorted(set(mine["options"]) | set(theirs)):
            if key in RESUMABLE_DIFFERENCES:
                continue
            if mine["options"].get(key) != theirs.get(key):
                return f"{key} = {theirs.get(key)!r} there, {mine['options'].get(key)!r} here"
        return None
