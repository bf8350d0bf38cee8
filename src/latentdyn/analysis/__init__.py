"""Analyses of the latent hierarchy (paper 001): pure functions of tensors.

* :mod:`~latentdyn.analysis.hierarchy` -- memories, concepts, the abstract concept
  (eqs. 8, 9, 12); :func:`build_hierarchy` is the one function that calls a model, and
  only through ``latent_mean``.
* :mod:`~latentdyn.analysis.distances` -- ‖z(t) − ξ‖ (eq. 10), mean ± SEM, min_t (eq. 13),
  the dip of Fig. 2 (C1).
* :mod:`~latentdyn.analysis.stages` -- the three stages of Fig. 4 (C5).
* :mod:`~latentdyn.analysis.geometry` -- cosine similarity of concepts (eq. 11, C4),
  active units (C2), PCA contribution ratios (C3), 2-D PCA (Fig. A.1).

Inputs may be torch tensors or numpy arrays; bad input raises ``ConfigError``.
"""

from latentdyn.analysis.distances import (
    dip_statistic,
    dip_statistic_from_trials,
    distance_to,
    mean_sem,
    min_distance,
)
from latentdyn.analysis.geometry import (
    ACTIVITY_CRITERIA,
    active_units,
    cosine_matrix,
    dims_for,
    mean_abs_offdiagonal,
    pca_2d,
    pca_cumulative,
    unit_activity,
)
from latentdyn.analysis.hierarchy import Hierarchy, build_hierarchy, hierarchy_from_latents
from latentdyn.analysis.stages import (
    LEVELS,
    closest_level,
    hierarchy_min_distances,
    level_mean_sem,
    stage_intervals,
    stages_ordered,
)

__all__ = [
    "ACTIVITY_CRITERIA",
    "Hierarchy",
    "LEVELS",
    "active_units",
    "build_hierarchy",
    "closest_level",
    "cosine_matrix",
    "dims_for",
    "dip_statistic",
    "dip_statistic_from_trials",
    "distance_to",
    "hierarchy_from_latents",
    "hierarchy_min_distances",
    "level_mean_sem",
    "mean_abs_offdiagonal",
    "mean_sem",
    "min_distance",
    "pca_2d",
    "pca_cumulative",
    "stage_intervals",
    "stages_ordered",
    "unit_activity",
]
