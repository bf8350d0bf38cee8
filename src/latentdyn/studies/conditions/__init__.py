"""``latentdyn conditions``: a phase diagram of the phenomena of Nagano et al. (2017)
over the data set, the training-set size, the amount of training, Nz, the noise kind and
the dynamics mode (the conditions map).

* :mod:`.profiles` -- the grids (``quick``, ``full``, ``smoke``) and the axes;
* :mod:`.grid` -- the models a grid needs, their training subsets, one sweep per
  (data set, size, epochs) through :func:`latentdyn.sweep.run_sweep`;
* :mod:`.evaluate` -- the statistics of a model and of a cell;
* :mod:`.report` -- cells.csv, the heat maps, the findings in words, report.html;
* :mod:`.pipeline` -- :func:`run`, the plain-function core of the command.
"""

from latentdyn.studies.conditions.pipeline import DEFAULT_OUT, run
from latentdyn.studies.conditions.profiles import AXES, PROFILES, Profile

__all__ = ["AXES", "DEFAULT_OUT", "PROFILES", "Profile", "run"]
