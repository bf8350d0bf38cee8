"""Repeated inference: data -> latent -> data -> ... (SPEC §1, "Dynamics").

* :mod:`~latentdyn.dynamics.repeated` -- :func:`run_dynamics`, deterministic and sampling
  modes, batched and chunked over trials, for any model with the encode/decode protocol.
"""

from latentdyn.dynamics.repeated import MODES, Trajectory, run_dynamics, step_maps

__all__ = ["MODES", "Trajectory", "run_dynamics", "step_maps"]
