"""Sweeps: train a grid of VAEs (Nz × lr × batch size × seed), many models at once.

* :func:`run_sweep` -- the plain-function core behind ``latentdyn sweep``: each grid
  point becomes an ordinary run folder under ``out``, plus ``sweep.json`` and
  ``summary.csv``; reruns resume.
* :func:`read_summary`, :func:`best_by`, :func:`format_summary` -- the summary table.
* :class:`SweepSpec` -- shared options plus the grid axes.
* :func:`check_backend` -- the backend options (``backend="local"|"ray"``, ``address``,
  ``cpus_per_task``, ``gpus_per_task``, ``retries``) checked before any work.

Same-shape points are trained together by :func:`latentdyn.train.train_ensemble`, in
this process, in worker processes, or as Ray tasks (docs/scaling.md).
"""

from latentdyn.sweep.backends import SweepIncomplete, check_backend
from latentdyn.sweep.engine import DEFAULT_LL_K, run_sweep
from latentdyn.sweep.spec import GRID_FIELDS, Point, SweepSpec, parse_list, point_name
from latentdyn.sweep.summary import best_by, format_summary, read_summary

__all__ = ["DEFAULT_LL_K", "GRID_FIELDS", "Point", "SweepIncomplete", "SweepSpec", "best_by",
           "check_backend", "format_summary", "parse_list", "point_name", "read_summary",
           "run_sweep"]
