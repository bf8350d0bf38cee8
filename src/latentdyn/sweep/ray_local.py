"""A Ray instance started on this machine for one sweep, reachable from this machine
only: its GCS server, raylet, object manager and workers listen on 127.0.0.1 (as the
explorer does), and no dashboard is started.

Ray binds its servers to the loopback address only when the node's address is
127.0.0.1, and on Linux it replaces a loopback node address by the machine's
network address unless told that this is a single-machine instance (what Ray does on
macOS and Windows: ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``). :func:`init_local` says so
for the instance it starts, and for the processes that instance starts, and restores
the setting after.
"""

from __future__ import annotations

import contextlib
import os

LOOPBACK = "127.0.0.1"
_SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@contextlib.contextmanager
def _single_machine(ray):
    """Ray's single-machine mode for the duration (environment and the constant Ray
    read when it was imported)."""
    from ray._private import ray_constants

    env, const = os.environ.get(_SINGLE_MACHINE), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[_SINGLE_MACHINE] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = const
        if env is None:
            os.environ.pop(_SINGLE_MACHINE, None)
        else:
            os.environ[_SINGLE_MACHINE] = env


def init_local(ray, **kwargs) -> None:
    """``ray.init`` of a new instance on this machine that listens on 127.0.0.1 only,
    without a dashboard (``kwargs``: other options of ``ray.init``, e.g. ``num_cpus``)."""
    kwargs = {"include_dashboard": False, **kwargs}
    with _single_machine(ray):
        ray.init(address="local", _node_ip_address=LOOPBACK, **kwargs)


__all__ = ["LOOPBACK", "init_local"]
