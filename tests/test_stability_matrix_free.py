"""Stability without full Jacobians (issue 22): the leading eigenvalues of J_F by
Arnoldi iteration on vector-Jacobian products, against models whose Jacobian is known
(linear maps, with complex eigenvalues and radii on both sides of 1) and against the full
Jacobian of small nonlinear models; ``auto`` goes matrix-free above 512 latent units;
matrix-free Newton steps find repelling fixed points as the full ones do.

Agreement is held to a relative 1e-4 (the products run in float32; ARPACK's own
tolerance is 1e-6)."""

import numpy as np
import pytest
import torch
from torch import nn

from latentdyn.dynamics import attractors as A
from latentdyn.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_torch_thread")
RTOL = 1e-4


class Linear(nn.Module):
    """encode = identity on R^nz, decode = M z + b: F(z) = M z + b, J_F = M."""

    def __init__(self, M: torch.Tensor, b: torch.Tensor | None = None):
        super().__init__()
        self.M = nn.Parameter(M.float(), requires_grad=False)
        self.b = nn.Parameter(torch.zeros(M.shape[0]) if b is None else b.float(),
                              requires_grad=False)

    def encode(self, x):
        return x

    def decode(self, z):
        return z @ self.M.T + self.b


class Small(nn.Module):
    def __init__(self, d=30, nz=12, seed=0, gain=1.0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.We = nn.Parameter(torch.randn(nz, d, generator=g) * gain / d ** 0.5)
        self.Wd = nn.Parameter(torch.randn(d, nz, generator=g) * 3 / nz ** 0.5)

    def encode(self, x):
        return torch.tanh(x @ self.We.T)

    def decode(self, z):
        return torch.sigmoid(z @ self.Wd.T)


def known_matrix(nz: int, radius: float, seed: int) -> torch.Tensor:
    """A real matrix whose largest eigenvalues are a complex pair of modulus ``radius``."""
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(nz, nz, generator=g, dtype=torch.float64))
    theta = 0.7
    D = torch.diag(torch.linspace(0.1, 0.6, nz, dtype=torch.float64) * radius)
    D[:2, :2] = radius * torch.tensor([[np.cos(theta), -np.sin(theta)],
                                       [np.sin(theta), np.cos(theta)]])
    return Q @ D @ Q.T


@pytest.mark.parametrize("radius", [0.8, 1.3])
def test_leading_eigenvalues_of_a_known_linear_map(radius):
    M = known_matrix(40, radius, seed=1)
    lead = A.leading_eigenvalues(Linear(M), torch.randn(3, 40), k=4)
    assert lead.shape == (3, 4) and lead.dtype == torch.complex128
    exact = np.linalg.eigvals(M.numpy())
    exact = exact[np.argsort(-np.abs(exact), kind="stable")][:4]
    for row in lead.numpy():
        np.testing.assert_allclose(np.sort_complex(row[:2]), np.sort_complex(exact[:2]),
                                   rtol=RTOL)
        np.testing.assert_allclose(np.abs(row), np.abs(exact), rtol=RTOL)
    radii = A.spectral_radii(Linear(M), torch.randn(2, 40), method="matrix-free")
    np.testing.assert_allclose(radii.numpy(), radius, rtol=RTOL)


@pytest.mark.parametrize("gain", [0.5, 3.0])
def test_matrix_free_radius_matches_the_full_jacobian(gain):
    model = Small(gain=gain)
    z = torch.randn(6, 12, generator=torch.Generator().manual_seed(2)) * 0.5
    full = A.spectral_radius(A.jacobians(model, z))
    free = A.spectral_radii(model, z, method="matrix-free")
    np.testing.assert_allclose(free.numpy(), full.numpy(), rtol=RTOL)
    lead = A.leading_eigenvalues(model, z, k=3)
    eig = torch.linalg.eigvals(A.jacobians(model, z).double())
    top = torch.sort(eig.abs(), dim=1, descending=True).values[:, :3]
    np.testing.assert_allclose(lead.abs().numpy(), top.numpy(), rtol=RTOL)
    assert (full > 1).any() if gain > 1 else (full < 1).all()  # both sides of 1 are tried


def test_auto_goes_matrix_free_above_its_size(monkeypatch):
    assert A.resolve_method("auto", A.FULL_JACOBIAN_MAX) == "rev"
    assert A.resolve_method("auto", A.FULL_JACOBIAN_MAX + 1) == "matrix-free"
    assert A.resolve_method("fwd", 10_000) == "fwd"
    with pytest.raises(ConfigError, match="unknown --method"):
        A.resolve_method("magic", 3)
    nz = A.FULL_JACOBIAN_MAX + 8
    M = known_matrix(nz, 0.9, seed=3)

    def no_full(*args, **kwargs):
        raise AssertionError("auto formed a full Jacobian above FULL_JACOBIAN_MAX")

    monkeypatch.setattr("latentdyn.dynamics.attractors.spectra.jacobians", no_full)
    radius = A.spectral_radii(Linear(M), torch.randn(1, nz), method="auto")
    np.testing.assert_allclose(radius.numpy(), 0.9, rtol=RTOL)


def test_full_jacobians_that_do_not_fit_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="--method matrix-free needs none"):
        A.jacobians(Linear(torch.eye(2)), torch.zeros(1, 400_000))


def test_matrix_free_newton_finds_a_repelling_fixed_point():
    M = known_matrix(20, 1.4, seed=4)  # the fixed point z* = (I - M)^-1 b repels
    b = torch.randn(20, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    z_star = torch.linalg.solve(torch.eye(20, dtype=torch.float64) - M, b)
    model = Linear(M, b)
    start = (z_star + 0.05 * torch.randn(3, 20, generator=torch.Generator().manual_seed(6),
                                         dtype=torch.float64)).float()
    for method in ("rev", "matrix-free"):
        z, res = A.newton_refine(model, start, steps=4, method=method)
        np.testing.assert_allclose(z.double().numpy(), z_star.expand(3, 20).numpy(), atol=1e-3)
        assert (res < 1e-3).all()
    fixed = A.find_fixed_points(model, start, max_steps=1, tol=1e-3, candidate_tol=5.0,
                                method="matrix-free")
    assert fixed.n == 1 and not bool(fixed.stable[0])
    np.testing.assert_allclose(fixed.radius.numpy(), 1.4, rtol=RTOL)


@pytest.mark.parametrize("share, batched", [(1e-12, False), (0.25, True)])
def test_full_jacobians_too_large_to_batch_go_one_row_at_a_time(monkeypatch, share, batched):
    """vmap(jacrev) runs nz derivative passes per point at once: where those of one point
    would not fit in the memory share, the Jacobians come from the row-by-row loop (the
    same matrices); where they fit, the batched method runs, at most as many points per
    call as fit."""
    from latentdyn.dynamics.attractors import map as M

    model = Small(gain=1.5)
    z = torch.randn(5, 12, generator=torch.Generator().manual_seed(4)) * 0.5
    expect = M.jacobians_loop(model, z)
    looped = []
    monkeypatch.setattr(M, "jacobians_loop",
                        lambda *a, **k: looped.append(1) or expect.clone())
    monkeypatch.setattr(M, "JACOBIAN_MEMORY_SHARE", share)
    J = A.jacobians(model, z)
    assert bool(looped) is not batched
    np.testing.assert_allclose(J.numpy(), expect.numpy(), rtol=1e-5, atol=1e-6)
    saved = M._saved_bytes(model, z[:1])
    assert saved >= 4 * (12 + 30)  # at least the decoder's input and output, float32
    per_point = 12 * (M.PASS_FACTOR * saved + 8 * 12)
    monkeypatch.setattr("latentdyn.checks.available_memory", lambda: 4 * 2 * per_point)
    monkeypatch.setattr(M, "JACOBIAN_MEMORY_SHARE", 0.25)
    assert M._points_per_call(model, z[:1], 128, torch.device("cpu")) == 2
