"""Input checks shared by the analyses: numpy or torch in, a finite float tensor out.

Every problem a caller can cause (wrong shape, NaN, too few trials) raises
:class:`latentdyn.errors.ConfigError` with one line naming the argument.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from latentdyn.errors import ConfigError


def as_float(x, name: str, ndim: int | tuple[int, ...] | None = None) -> Tensor:
    """``x`` as a floating-point tensor (float dtypes kept, others -> float32), finite."""
    if isinstance(x, np.ndarray) or not isinstance(x, Tensor):
        try:
            x = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{name} must be an array of numbers ({e})") from None
    if not (x.is_floating_point() or x.dtype in _INTS or x.dtype == torch.bool):
        raise ConfigError(f"{name} must be real numbers, got dtype {x.dtype}")
    if not x.is_floating_point():
        x = x.float()
    _check_ndim(x, name, ndim)
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ConfigError(f"{name} contains NaN or infinite values")
    return x


def as_labels(x, name: str = "labels") -> Tensor:
    """``x`` as a 1-D int64 tensor of integer labels."""
    if isinstance(x, np.ndarray) or not isinstance(x, Tensor):
        try:
            x = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{name} must be an array of integers ({e})") from None
    _check_ndim(x, name, 1)
    if x.is_floating_point():
        if x.numel() and not bool((torch.isfinite(x) & (x == x.round())).all()):
            raise ConfigError(f"{name} must be whole numbers")
    elif x.dtype not in _INTS:
        raise ConfigError(f"{name} must be integers, got dtype {x.dtype}")
    return x.long()


def need_rows(x: Tensor, n: int, name: str) -> None:
    if x.shape[0] < n:
        raise ConfigError(f"{name} needs at least {n} rows, got {x.shape[0]}")


def _check_ndim(x: Tensor, name: str, ndim) -> None:
    if ndim is None:
        return
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.dim() not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ConfigError(f"{name} must be {want}, got shape {tuple(x.shape)}")


_INTS = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def as_generator(generator, device=None) -> torch.Generator | None:
    """The random source of every public function: ``None`` (PyTorch's global one), an
    int seed (a new generator seeded with it), or a ``torch.Generator``. On another
    device than ``device`` a generator seeds a fresh one there, deterministically."""
    if generator is None:
        return None
    dev = torch.device(device) if device is not None else None
    if isinstance(generator, int) and not isinstance(generator, bool):
        if not 0 <= generator < 2**64:
            raise ConfigError(f"a seed must be an integer in [0, 2**64), got {generator}")
        return torch.Generator(device=dev or "cpu").manual_seed(generator)
    if not isinstance(generator, torch.Generator):
        raise ConfigError(f"generator must be a torch.Generator or an int seed, got {generator!r}")
    if dev is None or _same_device(torch.device(generator.device), dev):
        return generator
    seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator))
    return torch.Generator(device=dev).manual_seed(seed)


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type != "cuda":
        return True
    current = torch.cuda.current_device() if torch.cuda.is_available() else 0
    return (a.index if a.index is not None else current) == \
        (b.index if b.index is not None else current)


MAX_COUNT = 2**31 - 1  # sizes and counts beyond this are no realistic request


def check_count(name: str, value, low: int = 1, high: int = MAX_COUNT) -> int:
    """An integer option in [low, high], or a one-line error naming it."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


def available_memory() -> int:
    """Bytes of memory available to a new allocation (``MemAvailable`` where the OS
    reports it, else the physical memory)."""
    import os

    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def check_memory(nbytes: float, what: str, budget: int | None = None) -> None:
    """A one-line error when ``what`` would need more than the available memory."""
    budget = available_memory() if budget is None else budget
    if nbytes > budget:
        raise ConfigError(f"{what} would need about {nbytes / 2**30:,.1f} GiB, more than the "
                          f"{budget / 2**30:,.1f} GiB available; choose smaller sizes")


# ------------------------------------------------------------------------ devices
def resolve_device(name) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` as a device; one line for anything else
    or for a CUDA device this machine does not have."""
    if isinstance(name, torch.device):
        name = str(name)
    if not isinstance(name, str):
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not (name == "cuda" or (name.startswith("cuda:")
                                                and name[5:].isdigit())):
        raise ConfigError(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("device cuda was asked for, but no CUDA device is available")
        if ":" in name and int(name[5:]) >= torch.cuda.device_count():
            raise ConfigError(f"device {name} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)
