"""Run manifests: everything needed to know what produced a folder of results.

Used by every layer that writes results (training, sweeps, studies); it sits beside
``io`` and ``checks`` at the bottom of the house.

Every command that writes results writes ``manifest.json``: the full config, the seed,
package and library versions, data checksums, the device and the wall time.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from latentdyn._version import __version__
from latentdyn.io import write_json


_INVOCATION: list[str] = ["latentdyn"]


def set_invocation(argv: list[str]) -> None:
    """Record the command line of the running ``latentdyn`` call (the CLI does, first)."""
    _INVOCATION[:] = [str(a) for a in argv]


def invocation() -> list[str]:
    """The command line of the running ``latentdyn`` call (what manifests record)."""
    return list(_INVOCATION)


def versions() -> dict[str, str]:
    """Versions of Python, latentdyn and the libraries it computes with (read from the
    installed metadata, so nothing heavy is imported)."""
    from importlib import metadata

    out = {"latentdyn": __version__, "python": platform.python_version(),
           "torch": torch.__version__}
    for dist in ("numpy", "safetensors", "scikit-learn", "matplotlib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def device_info(device: torch.device | str) -> dict[str, Any]:
    device = torch.device(device)
    info: dict[str, Any] = {
        "type": device.type,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        info["name"] = torch.cuda.get_device_name(index)
        info["cuda"] = torch.version.cuda
    else:
        info["name"] = platform.processor() or platform.machine()
    return info


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class Manifest:
    """Build a manifest as a run goes on; ``write`` is atomic and may be called often."""

    def __init__(self, path: str | Path, *, kind: str, config: dict, seed: int | None,
                 device: torch.device | str, data: dict | None = None,
                 argv: list[str] | None = None, previous: dict | None = None):
        self.path = Path(path)
        self._t0 = time.perf_counter()
        self._prior_wall = float((previous or {}).get("wall_time_s", 0.0))
        self.data: dict[str, Any] = {
            "kind": kind,
            "status": "running",
            "command": list(argv if argv is not None else sys.argv),
            "config": config,
            "seed": seed,
            "versions": versions(),
            "data": data or {},
            "device": device_info(device),
            "started": (previous or {}).get("started", now_iso()),
            "resumed": [] if previous is None else list(previous.get("resumed", [])) + [now_iso()],
            "finished": None,
            "wall_time_s": self._prior_wall,
        }

    def update(self, **fields: Any) -> None:
        self.data.update(fields)

    def write(self, status: str | None = None) -> None:
        if status is not None:
            self.data["status"] = status
            if status != "running":
                self.data["finished"] = now_iso()
        self.data["wall_time_s"] = round(self._prior_wall + time.perf_counter() - self._t0, 3)
        write_json(self.path, self.data)
