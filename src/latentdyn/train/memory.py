"""Keeping the memory a training step frees for the next step.

Every step allocates the same tensors (activations, gradients) and frees them again. With
glibc's default settings, freed memory at the top of the heap beyond a few megabytes is
handed back to the operating system, and blocks above 32 MB are mapped and unmapped on
every use, so the next step takes its memory back page by page: about 400 page faults and
1-2 ms of system time per step of the paper VAE on one thread (5-8 % of the step), and
half the time of a test pass of the CNN classifier (its convolutions' outputs for 1000
images are 147 MB each); ``bench/train_limits.py`` and ``bench/quick_stages.py`` show it.

:func:`keep_freed_memory` sets glibc's allocator once per process (``mallopt``): no block
is mapped on its own, and up to 512 MB freed at the top of the heap is kept for reuse.
The process's memory then stays near its peak instead of shrinking between steps. It
changes no number: PyTorch aligns every tensor to 64 bytes wherever it is allocated.
Elsewhere than glibc (macOS, musl) it does nothing. The training loop calls it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters
TRIM_BYTES = 512 << 20  # freed memory kept at the top of the heap

_done: list[bool] = []


def keep_freed_memory() -> bool:
    """Tell glibc to keep freed memory for reuse (once per process); True when set."""
    if _done:
        return _done[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            ok = bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)) and bool(
                libc.mallopt(M_MMAP_MAX, 0))
        except (OSError, AttributeError):  # not glibc
            ok = False
    _done.append(ok)
    return ok


__all__ = ["keep_freed_memory"]
