"""Fixed points z* = F(z*) of the latent map, found from many starts at once.

The search (:func:`find_fixed_points`):

1. iterate z ← F(z) from every start (:func:`~latentdyn.dynamics.attractors.map.iterate_map`)
   until its step falls below ``tol`` or ``max_steps`` have passed;
2. keep as candidates the end points whose residual ‖F(z) − z‖ is below
   ``candidate_tol`` (slowly converging ones included), and group candidates closer
   than ``dedup_tol`` (:func:`deduplicate`), one representative per group;
3. refine each representative by Newton's method on G(z) = F(z) − z
   (:func:`newton_refine`: the step solves (J_F − I) δ = −G by least squares -- by
   GMRES on Jacobian–vector products when the method is matrix-free -- halved up to
   three times while it does not lower ‖G‖), which also finds fixed points that
   repel (spectral radius ≥ 1), where plain iteration only finds attracting ones;
4. accept the refined points with ‖G‖ ≤ ``tol``, deduplicate them again, and measure
   the spectral radius of J_F at each (:func:`~latentdyn.dynamics.attractors.spectra.
   spectral_radii`: ``method`` ``auto`` takes full Jacobians up to 512 latent units and
   goes matrix-free above).

``basin`` counts the starts whose iteration ended at each fixed point. A group's starts
are assigned to the fixed point its leader was refined to only when the move is
checked (issue 19): the refined point is a fixed point (‖G‖ ≤ ``tol``) *and* lies
within ``dedup_tol`` of the leader (the radius within which two points count as one).
Newton's method can carry a leader far away -- from a slow stretch of the map to a
distant fixed point the iteration never came near -- and such a point is still
reported as a fixed point, but the starts are not put in its basin (assignment −1);
``moved`` records how far each start's leader was moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from latentdyn.errors import ConfigError
from latentdyn.dynamics.attractors.map import (
    _points,
    apply_map,
    iterate_map,
    jacobians,
)
from latentdyn.dynamics.attractors.spectra import newton_direction, resolve_method, spectral_radii

BACKTRACK = (1.0, 0.5, 0.25, 0.125)  # Newton step lengths tried, longest first


@dataclass
class FixedPoints:
    """The fixed points found, and where each start went."""

    points: Tensor  # (m, nz)
    residual: Tensor  # (m,) ‖F(z*) − z*‖
    radius: Tensor  # (m,) spectral radius of J_F(z*)
    basin: Tensor  # (m,) int64: starts whose iteration ended at this fixed point
    assignment: Tensor  # (n,) int64: the fixed point each start reached, -1 none
    end: Tensor  # (n, nz) where the iteration from each start ended
    steps: Tensor  # (n,) iterations taken from each start
    converged: Tensor  # (n,) bool: its iteration converged (step below tol)
    moved: Tensor | None = None  # (n,) how far Newton moved the start's leader (nan: none)

    @property
    def n(self) -> int:
        return int(self.points.shape[0])

    @property
    def stable(self) -> Tensor:
        """(m,) bool: the fixed point attracts (spectral radius < 1)."""
        return self.radius < 1


def deduplicate(points, tol: float, order=None) -> tuple[Tensor, Tensor]:
    """Group ``points`` (n, d) closer than ``tol``: visiting them in ``order`` (default
    as given), each point joins the nearest earlier leader within ``tol`` or becomes a
    leader. Returns (leader indices (m,), leader of each point (n,) as 0 .. m-1)."""
    points = _points(points, "points").double()
    n = points.shape[0]
    order = torch.arange(n) if order is None else torch.as_tensor(order, dtype=torch.int64)
    if sorted(order.tolist()) != list(range(n)):
        raise ConfigError("order must be a permutation of the points")
    leaders: list[int] = []
    assign = torch.full((n,), -1, dtype=torch.int64)
    for i in order.tolist():
        if leaders:
            d = torch.linalg.vector_norm(points[leaders] - points[i], dim=1)
            j = int(torch.argmin(d))
            if float(d[j]) <= tol:
                assign[i] = j
                continue
        assign[i] = len(leaders)
        leaders.append(i)
    return torch.as_tensor(leaders, dtype=torch.int64), assign


def _residual(model, z: Tensor, batch_size: int, device) -> Tensor:
    return torch.linalg.vector_norm((apply_map(model, z, batch_size, device) - z).double(),
                                    dim=1)


def newton_refine(model, z, steps: int = 6, stop: float = 0.0, method: str = "auto",
                  chunk_size: int = 128, batch_size: int = 2048,
                  device=None) -> tuple[Tensor, Tensor]:
    """Newton's method on G(z) = F(z) − z from each row of ``z``; a row whose ‖G‖ is at
    most ``stop`` is left alone. Returns (refined points, their ‖G‖)."""
    z = _points(z).clone()
    chosen = resolve_method(method, z.shape[1])
    res = _residual(model, z, batch_size, device)
    for _ in range(int(steps)):
        todo = (res > stop).nonzero().flatten()
        if todo.numel() == 0:
            break
        zt = z[todo]
        g = (apply_map(model, zt, batch_size, device) - zt).double()
        if chosen == "matrix-free":
            delta = newton_direction(model, zt, g, device=device)
        else:
            J = jacobians(model, zt, method=chosen, chunk_size=chunk_size,
                          device=device).double()
            eye = torch.eye(J.shape[1], dtype=J.dtype)
            delta = -torch.linalg.lstsq(J - eye, g[..., None]).solution[..., 0]
        if not bool(torch.isfinite(delta).all()):
            delta = torch.nan_to_num(delta, nan=0.0, posinf=0.0, neginf=0.0)
        trials = torch.cat([zt + (lam * delta).to(zt.dtype) for lam in BACKTRACK])
        tres = _residual(model, trials, batch_size, device).reshape(len(BACKTRACK), -1)
        best, k = tres.min(0)
        better = best < res[todo]
        pick = trials.reshape(len(BACKTRACK), -1, z.shape[1])[k, torch.arange(k.shape[0])]
        z[todo[better]] = pick[better]
        res[todo[better]] = best[better]
        if not bool(better.any()):
            break
    return z, res.to(z.dtype)


def find_fixed_points(model, starts, *, max_steps: int = 500, tol: float = 1e-4,
                      candidate_tol: float | None = None, dedup_tol: float | None = None,
                      newton_steps: int = 6, method: str = "auto", chunk_size: int = 128,
                      batch_size: int = 2048, device=None,
                      progress: bool = False) -> FixedPoints:
    """Fixed points of the latent map reached from ``starts`` (n, nz) (module doc).
    Defaults: ``candidate_tol`` = 50 ``tol``, ``dedup_tol`` = 10 ``tol``."""
    tol = float(tol)
    if not tol > 0:
        raise ConfigError(f"tol must be positive, got {tol}")
    candidate_tol = 50 * tol if candidate_tol is None else float(candidate_tol)
    dedup_tol = 10 * tol if dedup_tol is None else float(dedup_tol)
    if not (candidate_tol >= tol and dedup_tol > 0):
        raise ConfigError("candidate_tol must be >= tol and dedup_tol positive")
    it = iterate_map(model, starts, max_steps, tol, batch_size, device, progress)
    n, nz = it.z.shape
    cand = (it.step_size.double() < candidate_tol).nonzero().flatten()
    assignment = torch.full((n,), -1, dtype=torch.int64)
    empty = torch.empty(0, nz, dtype=it.z.dtype)
    if cand.numel() == 0:
        return FixedPoints(empty, empty[:, 0], empty[:, 0], torch.zeros(0, dtype=torch.int64),
                           assignment, it.z, it.steps, it.converged,
                           torch.full((n,), float("nan"), dtype=torch.float64))
    lead, group = deduplicate(it.z[cand], dedup_tol, torch.argsort(it.step_size[cand]))
    refined, res = newton_refine(model, it.z[cand[lead]], newton_steps, stop=tol / 100,
                                 method=method, chunk_size=chunk_size,
                                 batch_size=batch_size, device=device)
    ok = (res.double() <= tol).nonzero().flatten()
    move = torch.linalg.vector_norm((refined - it.z[cand[lead]]).double(), dim=1)
    final = torch.full((lead.numel(),), -1, dtype=torch.int64)
    if ok.numel():
        keep, merged = deduplicate(refined[ok], dedup_tol, torch.argsort(res[ok]))
        final[ok] = torch.where(move[ok] <= dedup_tol, merged, -1)  # only a checked move
        points, residual = refined[ok[keep]], res[ok[keep]]
    else:
        points, residual = empty, empty[:, 0]
    assignment[cand] = final[group]
    moved = torch.full((n,), float("nan"), dtype=torch.float64)
    moved[cand] = move[group]
    basin = torch.bincount(assignment[assignment >= 0], minlength=points.shape[0])
    radius = spectral_radii(model, points, method=method, chunk_size=chunk_size,
                            device=device) if points.shape[0] else empty[:, 0]
    return FixedPoints(points, residual, radius, basin, assignment, it.z, it.steps,
                       it.converged, moved)
