"""Attractors of repeated inference: the deterministic latent map
F(z) = E_q[z | E_p[x | z]] of any protocol model, its fixed points and their stability,
and the fate of each trajectory.

* :mod:`~latentdyn.dynamics.attractors.map` -- F batched (:func:`apply_map`), its
  iteration (:func:`iterate_map`), batched Jacobians with :mod:`torch.func`
  (:func:`jacobians`; the per-point loop :func:`jacobians_loop`), spectral radii;
* :mod:`~latentdyn.dynamics.attractors.spectra` -- the leading eigenvalues and the
  spectral radius of J_F without full Jacobians (Arnoldi on vector–Jacobian products),
  chosen by ``method`` (``auto``: full Jacobians up to 512 latent units);
* :mod:`~latentdyn.dynamics.attractors.fates` -- converged / cycling / drifting /
  unsettled, and the step of convergence (:func:`classify_fates`);
* :mod:`~latentdyn.dynamics.attractors.fixed_points` -- iterate, refine by Newton's
  method on F(z) − z, deduplicate (:func:`find_fixed_points`).

These are pure functions of tensors and a model; how the fixed points and ends relate
to memories, concepts and the abstract concept is :mod:`latentdyn.analysis.attractors`.
"""

from latentdyn.dynamics.attractors.fates import FATES, Fates, classify_fates
from latentdyn.dynamics.attractors.fixed_points import (
    FixedPoints,
    deduplicate,
    find_fixed_points,
    newton_refine,
)
from latentdyn.dynamics.attractors.spectra import (
    FULL_JACOBIAN_MAX,
    STABILITY_METHODS,
    leading_eigenvalues,
    newton_direction,
    resolve_method,
    spectral_radii,
)
from latentdyn.dynamics.attractors.map import (
    JACOBIAN_METHODS,
    Iteration,
    apply_map,
    iterate_map,
    jacobians,
    jacobians_loop,
    map_batch,
    spectral_radius,
)

__all__ = ["FATES", "FULL_JACOBIAN_MAX", "Fates", "FixedPoints", "Iteration",
           "JACOBIAN_METHODS", "STABILITY_METHODS", "apply_map", "classify_fates",
           "deduplicate", "find_fixed_points", "iterate_map", "jacobians", "jacobians_loop",
           "leading_eigenvalues", "map_batch", "newton_direction", "newton_refine",
           "resolve_method", "spectral_radii", "spectral_radius"]
