"""Repeated inference on toy models with known answers, and on a tiny real VAE."""

import pytest
import torch
from torch import nn

from latentdyn.dynamics import Trajectory, run_dynamics, step_maps
from latentdyn.errors import ConfigError
from latentdyn.models import VAE, VAEConfig

D, NZ = 6, 3


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def rowwise(x, W):
    """x @ W with a fixed summation order per row, so results do not depend on how many
    rows are in the batch (BLAS kernels may round differently for other batch sizes)."""
    out = x[:, :1] * W[0]
    for k in range(1, W.shape[0]):
        out = out + x[:, k:k + 1] * W[k]
    return out


class LinearToy:
    """encode(x) = x A, decode(z) = z B: z(t) = x0 A (B A)^t."""

    def __init__(self, seed=0, scale=0.5):
        g = gen(seed)
        self.A = scale * torch.randn(D, NZ, generator=g, dtype=torch.float64)
        self.B = scale * torch.randn(NZ, D, generator=g, dtype=torch.float64)

    def encode(self, x):
        return rowwise(x, self.A)

    def decode(self, z):
        return rowwise(z, self.B)


class TupleToy(LinearToy):
    """encode returns (mu, logvar); decode gives Bernoulli means in (0, 1)."""

    def encode(self, x):
        mu = rowwise(x, self.A)
        return mu, torch.full_like(mu, -2.0)

    def decode(self, z):
        # a hard sigmoid: transcendental kernels round differently in vector and scalar code
        return (0.25 * rowwise(z, self.B) + 0.5).clamp(0.0, 1.0)


class ContractionToy:
    """z(t+1) = (z(t) + b) / 2: converges to the fixed point z* = b."""

    b = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)

    def encode(self, x):
        return 0.5 * x

    def decode(self, z):
        return z + self.b


class ModeSpy(nn.Module):
    """A module that remembers whether it ran in training mode or with gradients."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(D, NZ)
        self.seen = set()

    def encode(self, x):
        self.seen.add((self.training, torch.is_grad_enabled()))
        return self.lin(x)

    def decode(self, z):
        return z @ self.lin.weight


def x0(n=10, seed=1):
    return torch.rand(n, D, generator=gen(seed), dtype=torch.float64)


def test_linear_toy_matches_closed_form():
    model, x = LinearToy(), x0()
    traj = run_dynamics(model, x, steps=7)
    assert isinstance(traj, Trajectory) and traj.mode == "deterministic"
    assert traj.z.shape == (10, 8, NZ) and traj.x is None and traj.x_steps == ()
    assert traj.n_trials == 10 and traj.steps == 7
    BA = model.B @ model.A
    for t in range(8):
        expected = x @ model.A @ torch.linalg.matrix_power(BA, t)
        torch.testing.assert_close(traj.z[:, t], expected, rtol=1e-12, atol=1e-12)


def test_tuple_encoder_uses_the_mean():
    model, x = TupleToy(), x0()
    traj = run_dynamics(model, x, steps=4, record_x=[1])
    z, xs = x @ model.A, None
    for t in range(5):
        torch.testing.assert_close(traj.z[:, t], z, rtol=1e-12, atol=1e-12)
        xs = (0.25 * z @ model.B + 0.5).clamp(0.0, 1.0)
        if t == 0:
            torch.testing.assert_close(traj.x_at(1), xs)
        z = xs @ model.A


def test_steps_zero_gives_the_encoding_only():
    model, x = LinearToy(), x0()
    traj = run_dynamics(model, x, steps=0, record_x="all")
    assert traj.z.shape == (10, 1, NZ) and traj.x_steps == (0,)
    torch.testing.assert_close(traj.z[:, 0], x @ model.A)


@pytest.mark.parametrize("mode", ["deterministic", "sampling"])
def test_chunked_equals_unchunked(mode):
    """Trials never mix: with a batch-invariant model, chunking changes no bit."""
    model, x = TupleToy(), x0(11)
    whole = run_dynamics(model, x, steps=5, mode=mode, record_x="all", generator=3)
    for chunk in (1, 4, 11):
        part = run_dynamics(model, x, steps=5, mode=mode, record_x="all", chunk_size=chunk,
                            generator=3)
        if mode == "deterministic" or chunk == 11:
            assert torch.equal(part.z, whole.z) and torch.equal(part.x, whole.x)
        else:  # same marginal law, other random streams
            assert part.z.shape == whole.z.shape


def test_record_x_shapes_and_x0_is_the_input():
    model, x = TupleToy(), x0()
    traj = run_dynamics(model, x, steps=6, record_x=(6, 0, 3, 3))
    assert traj.x_steps == (0, 3, 6) and traj.x.shape == (10, 3, D)
    assert torch.equal(traj.x_at(0), x)
    assert torch.equal(run_dynamics(model, x, steps=6, record_x="all").x[:, [0, 3, 6]], traj.x)
    with pytest.raises(ConfigError, match=r"x\(2\) was not recorded"):
        traj.x_at(2)


def test_sampling_is_deterministic_per_seed_and_differs_across_seeds():
    model, x = TupleToy(), x0()
    a = run_dynamics(model, x, steps=5, mode="sampling", record_x="all", generator=gen(7))
    b = run_dynamics(model, x, steps=5, mode="sampling", record_x="all", generator=gen(7))
    c = run_dynamics(model, x, steps=5, mode="sampling", record_x="all", generator=gen(8))
    assert a.mode == "sampling"
    assert torch.equal(a.z, b.z) and torch.equal(a.x, b.x)
    assert not torch.equal(a.z, c.z)
    assert torch.equal(run_dynamics(model, x, steps=5, mode="sampling", generator=7).z, a.z)
    # x(t >= 1) are Bernoulli samples; z(0) is a posterior sample, not the mean
    assert set(a.x[:, 1:].unique().tolist()) <= {0.0, 1.0}
    assert not torch.allclose(a.z[:, 0], x @ model.A)


def test_sampling_noise_has_the_posterior_scale():
    model = TupleToy()
    x = x0(1).repeat(4000, 1)
    z0 = run_dynamics(model, x, steps=0, mode="sampling", generator=1).z[:, 0]
    torch.testing.assert_close(z0.mean(0), (x[:1] @ model.A)[0], atol=0.03, rtol=0)
    torch.testing.assert_close(z0.std(0), torch.full((NZ,), torch.exp(torch.tensor(-1.0)).item(),
                                                     dtype=torch.float64), atol=0.02, rtol=0)


def test_contraction_converges_to_fixed_point():
    x = torch.randn(5, 3, generator=gen(), dtype=torch.float64) * 10
    traj = run_dynamics(ContractionToy(), x, steps=60)
    torch.testing.assert_close(traj.z[:, -1], ContractionToy.b.expand(5, 3), atol=1e-12, rtol=0)
    dist = (traj.z - ContractionToy.b).norm(dim=-1)
    assert torch.all(dist[:, 1:] <= dist[:, :-1] + 1e-12)


def test_module_runs_in_eval_without_grad_and_mode_is_restored():
    model = ModeSpy().train()
    model.lin.eval()  # a deliberately frozen part stays so
    traj = run_dynamics(model, torch.rand(4, D), steps=3, progress=True, device="cpu")
    assert model.seen == {(False, False)}
    assert model.training and not model.lin.training
    assert not traj.z.requires_grad and traj.z.device.type == "cpu"


def test_real_vae_tiny_shapes():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=12, hidden=8, nz=3))
    x = torch.rand(5, 12)
    det = run_dynamics(model, x, steps=4, record_x=[0, 4], chunk_size=2)
    assert det.z.shape == (5, 5, 3) and det.x.shape == (5, 2, 12)
    assert det.z.dtype == torch.float32 and torch.equal(det.x_at(0), x)
    smp = run_dynamics(model, x, steps=4, mode="sampling", record_x="all", generator=0)
    assert smp.z.shape == (5, 5, 3) and smp.x.shape == (5, 5, 12)
    # float64 input is cast to the model's dtype
    assert run_dynamics(model, x.double(), steps=1).z.dtype == torch.float32


def test_step_maps():
    model, x = LinearToy(), x0()
    enc, dec = step_maps(model, "deterministic")
    torch.testing.assert_close(dec(enc(x)), x @ model.A @ model.B)
    with pytest.raises(ConfigError, match="unknown dynamics mode"):
        step_maps(model, "langevin")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mode="langevin"), "mode 'langevin'; choose from deterministic, sampling"),
        (dict(steps=-1), "steps must be >= 0"),
        (dict(steps=2.5), "steps must be an integer"),
        (dict(chunk_size=0), "chunk_size must be >= 1"),
        (dict(record_x=[0, 9]), r"record_x steps must be in \[0, 5\], got \[9\]"),
        (dict(record_x="last"), "record_x must be"),
        (dict(record_x=[0.5]), "record_x must be integer steps"),
        (dict(generator="seed"), "generator must be"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        run_dynamics(LinearToy(), x0(), **{"steps": 5, **kwargs})


def test_bad_inputs():
    vae = VAE(VAEConfig(input_dim=12, hidden=8, nz=3))
    cases = [
        (torch.rand(12), r"non-empty batch of shape \(trials, \.\.\.\)"),
        (torch.rand(0, 12), "non-empty batch"),
        (torch.ones(3, 12, dtype=torch.int64), "floating-point"),
        (torch.full((3, 12), float("nan")), "NaN"),
        (torch.rand(3, 10), r"VAE cannot run on x0 of shape \(trials, 10\)"),
        (torch.rand(3, 3, 4), r"VAE cannot run on x0 of shape \(trials, 3, 4\)"),
        ([[0.0] * 12], "torch.Tensor"),
    ]
    for x, match in cases:
        with pytest.raises(ConfigError, match=match) as err:
            run_dynamics(vae, x, steps=2)
        assert "\n" not in str(err.value)


def test_model_without_protocol_or_mismatched_decoder():
    with pytest.raises(ConfigError, match="lacks encode"):
        run_dynamics(object(), x0(), steps=1)

    class Shrinks(LinearToy):
        def decode(self, z):
            return z  # nz values per trial, but x0 has D

    with pytest.raises(ConfigError, match="cannot run on x0|same number of values"):
        run_dynamics(Shrinks(), x0(), steps=1)


def test_a_vae_gives_its_posterior_mean_without_the_log_variance():
    """protocol.latent_mean uses the VAE's own latent_mean (the mean half of the output
    layer): the numbers of encode(x)[0]; a model whose sub-module is named latent_mean
    is still read through encode."""
    from torch import nn

    from latentdyn.models import VAE, VAEConfig
    from latentdyn.models.protocol import latent_mean

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=784, hidden=64, nz=10)).eval()
    x = torch.rand(50, 784)
    with torch.no_grad():
        torch.testing.assert_close(latent_mean(vae, x), vae.encode(x)[0], rtol=0, atol=1e-6)

    class Head(nn.Module):  # a user's model with a mean head called latent_mean
        def __init__(self):
            super().__init__()
            self.body, self.latent_mean = nn.Linear(6, 4), nn.Linear(4, 2)

        def encode(self, x):
            return self.latent_mean(self.body(x))

        def decode(self, z):
            return z.repeat(1, 3)

    head, x = Head(), torch.rand(5, 6)
    assert torch.equal(latent_mean(head, x), head.encode(x))
