"""The interactive trajectory explorer (``latentdyn explore``, docs/explore.md).

* :mod:`~latentdyn.explore.state` -- :func:`build_explorer`: the served models (any
  objects with ``encode``/``decode``), their hierarchies and memory maps;
* :mod:`~latentdyn.explore.loading` -- :func:`load_explorer` from run folders;
* :mod:`~latentdyn.explore.schema` -- the typed requests and their validation;
* :mod:`~latentdyn.explore.compute` -- the payloads of the JSON API (one input);
* :mod:`~latentdyn.explore.averages` -- the averaged view (N trials of a setting);
* :mod:`~latentdyn.explore.calls` -- :func:`trajectory` and :func:`average`, the same
  computations as Python calls;
* :mod:`~latentdyn.explore.app` -- :func:`create_app`, the Starlette app (needs the
  ``explore`` extra: starlette, uvicorn);
* :mod:`~latentdyn.explore.server` -- binding a socket and serving with uvicorn;
* ``static/`` -- the page, its script and style sheet (no network needed).
"""

from latentdyn.explore.calls import average, trajectory
from latentdyn.explore.loading import load_explorer
from latentdyn.explore.state import Explorer, build_explorer


def create_app(explorer, **kwargs):
    """:func:`latentdyn.explore.app.create_app` (imported on first use)."""
    from latentdyn.explore.app import create_app as _create_app

    return _create_app(explorer, **kwargs)


__all__ = ["Explorer", "average", "build_explorer", "create_app", "load_explorer",
           "trajectory"]
