"""The fate of each latent trajectory z(0) .. z(T) of the deterministic dynamics.

Every trajectory gets exactly one fate, decided on its last steps:

* ``converged`` -- it has come to rest: over the last K = min(:data:`REST_STEPS`, T)
  steps it stayed within ``tol`` of where it ended, ‖z(t) − z(T)‖ < ``tol`` for every
  t ≥ T − K. It converged at the first step t ≥ 1 from which every later z(t') lies
  within ``tol`` of z(T). A trajectory creeping along by less than ``tol`` per step (a slow
  drift) is not at rest: issue 19 replaced the rule "the last step ‖z(T) − z(T−1)‖ is
  below ``tol``", which called such a drift converged (it is kept beside,
  :attr:`Fates.last_step_below`);
* ``cycling`` -- not converged, but it returns to where it was k steps before: for the
  smallest period k in 2 .. ``max_period``, both ‖z(T) − z(T−k)‖ and
  ‖z(T−1) − z(T−1−k)‖ are below ``tol``, and it moves within the period (one of its
  last k steps is at least ``tol``; a creep of less than ``tol`` per step is no cycle);
* ``drifting`` -- neither, and moving outward: ‖z(T) − c‖ exceeds ‖z(T−w) − c‖ by more
  than ``tol`` (c the ``centre``, by default the origin, so this is ‖z‖ growing; w the
  ``window``, by default T // 4, at least 1);
* ``unsettled`` -- still moving at T, neither periodic nor moving outward.

The four shares sum to 1. What is seen is what happens by the horizon T: a trajectory
that would converge at T + 100 is reported as it is at T.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from latentdyn.checks import as_float
from latentdyn.errors import ConfigError

FATES = ("converged", "cycling", "drifting", "unsettled")
REST_STEPS = 10  # converged: within tol of z(T) over the last 10 steps (fixed in code)


@dataclass
class Fates:
    """One fate per trajectory (see the module doc)."""

    fate: Tensor  # (n,) int64, an index into FATES
    step: Tensor  # (n,) int64: the step at which it converged, -1 when it did not
    period: Tensor  # (n,) int64: the cycle's period, 0 when not cycling
    last_step: Tensor  # (n,) ‖z(T) − z(T−1)‖
    growth: Tensor  # (n,) ‖z(T) − c‖ − ‖z(T−w) − c‖
    tol: float
    window: int
    rest: Tensor | None = None  # (n,) max over t >= T − K of ‖z(t) − z(T)‖

    @property
    def last_step_below(self) -> Tensor:
        """(n,) bool: the last step is below tol -- the rule for ``converged`` before
        issue 19, which also counts a slow drift (kept to show beside the new one)."""
        return self.last_step.double() < self.tol

    @property
    def n(self) -> int:
        return int(self.fate.shape[0])

    def names(self) -> list[str]:
        """The fate of each trajectory, by name."""
        return [FATES[int(i)] for i in self.fate]

    def mask(self, name: str) -> Tensor:
        if name not in FATES:
            raise ConfigError(f"unknown fate {name!r}; fates are {', '.join(FATES)}")
        return self.fate == FATES.index(name)

    def share(self) -> dict[str, float]:
        """The share of trajectories with each fate (they sum to 1)."""
        return {name: float(self.mask(name).double().mean()) for name in FATES}

    def mean_step(self) -> float:
        """Mean step of convergence over the converged trajectories (nan without any)."""
        done = self.step[self.step >= 0]
        return float(done.double().mean()) if done.numel() else float("nan")


def classify_fates(z, tol: float, max_period: int = 8, window: int | None = None,
                   centre=None) -> Fates:
    """The fate of each trajectory of ``z`` (n, T+1, nz), T >= 1 (see the module doc)."""
    z = as_float(z, "z", 3)
    n, t1, nz = z.shape
    T = t1 - 1
    if T < 1:
        raise ConfigError("a fate needs at least one step (T >= 1)")
    tol = float(tol)
    if not tol > 0:
        raise ConfigError(f"tol must be positive, got {tol}")
    if isinstance(max_period, bool) or not isinstance(max_period, int) or max_period < 1:
        raise ConfigError(f"max_period must be a positive integer, got {max_period!r}")
    w = max(1, T // 4) if window is None else int(window)
    if not 1 <= w <= T:
        raise ConfigError(f"window must lie in [1, T = {T}], got {window}")
    zd = z.double()
    c = torch.zeros(nz, dtype=zd.dtype) if centre is None else \
        as_float(centre, "centre", 1).double()
    if c.shape[0] != nz:
        raise ConfigError(f"centre has {c.shape[0]} values but z has {nz} latent units")
    steps = torch.linalg.vector_norm(zd[:, 1:] - zd[:, :-1], dim=-1)  # (n, T)
    to_end = torch.linalg.vector_norm(zd - zd[:, -1:], dim=-1)  # (n, T+1) ‖z(t) − z(T)‖
    K = min(REST_STEPS, T)
    rest = to_end[:, T - K:].amax(1)
    converged = rest < tol
    near = (to_end < tol).flip(1).to(torch.int64).cumprod(1).sum(1)  # trailing t near z(T)
    step = torch.where(converged, (T + 1 - near).clamp_min(1), torch.full_like(near, -1))
    period = torch.zeros(n, dtype=torch.int64)
    for k in range(2, min(max_period, T - 1) + 1):
        back = (torch.linalg.vector_norm(zd[:, T] - zd[:, T - k], dim=-1) < tol) & \
               (torch.linalg.vector_norm(zd[:, T - 1] - zd[:, T - 1 - k], dim=-1) < tol) & \
               (steps[:, T - k:].amax(1) >= tol)  # it moves within the period: no creep
        period = torch.where((period == 0) & back & ~converged, torch.full_like(period, k),
                             period)
    radius = torch.linalg.vector_norm(zd - c, dim=-1)
    growth = radius[:, T] - radius[:, T - w]
    fate = torch.full((n,), FATES.index("unsettled"), dtype=torch.int64)
    fate[growth > tol] = FATES.index("drifting")
    fate[period > 0] = FATES.index("cycling")
    fate[converged] = FATES.index("converged")
    return Fates(fate, step, period, steps[:, -1].to(z.dtype), growth.to(z.dtype), tol, w,
                 rest.to(z.dtype))
