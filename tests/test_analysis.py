"""latentdyn.analysis on synthetic latents with known answers."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from latentdyn.analysis import (
    Hierarchy,
    active_units,
    build_hierarchy,
    closest_level,
    cosine_matrix,
    dims_for,
    dip_statistic,
    dip_statistic_from_trials,
    distance_to,
    hierarchy_from_latents,
    hierarchy_min_distances,
    level_mean_sem,
    mean_abs_offdiagonal,
    mean_sem,
    min_distance,
    pca_2d,
    pca_cumulative,
    stage_intervals,
    stages_ordered,
    unit_activity,
)
from latentdyn.errors import ConfigError


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def clustered(k=5, per=40, nz=12, noise=0.01, scale=3.0, seed=0):
    """Memories around k orthogonal concepts scale * e_j, labels 0..k-1."""
    g = gen(seed)
    centres = scale * torch.eye(k, nz, dtype=torch.float64)
    labels = torch.arange(k).repeat_interleave(per)
    memories = centres[labels] + noise * torch.randn(k * per, nz, generator=g, dtype=torch.float64)
    return memories, labels, centres


# --- hierarchy ---------------------------------------------------------------------------

def test_concepts_are_label_means_and_abstract_is_mean_of_concepts():
    memories, labels, centres = clustered()
    h = hierarchy_from_latents(memories, labels)
    assert isinstance(h, Hierarchy) and h.nz == 12 and h.num_classes == 5
    assert h.classes.tolist() == [0, 1, 2, 3, 4]
    for j in range(5):
        torch.testing.assert_close(h.concept(j), memories[labels == j].mean(0))
        assert torch.equal(h.memories_of(j), memories[labels == j])
    torch.testing.assert_close(h.concepts, centres, atol=0.01, rtol=0)
    torch.testing.assert_close(h.abstract, h.concepts.mean(0))
    torch.testing.assert_close(h.concepts_for([3, 0, 3]), h.concepts[[3, 0, 3]])


def test_abstract_concept_weighs_labels_equally_when_classes_are_unbalanced():
    memories = torch.tensor([[1.0, 0.0]] * 10 + [[0.0, 1.0]] * 2)
    labels = torch.tensor([7] * 10 + [3] * 2)
    h = hierarchy_from_latents(memories, labels)
    assert h.classes.tolist() == [3, 7]
    torch.testing.assert_close(h.concept(7), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(h.abstract, torch.tensor([0.5, 0.5]))  # eq. 12
    assert not torch.allclose(h.abstract, memories.mean(0))  # not the mean of memories


def test_hierarchy_accepts_numpy_and_checks_input():
    h = hierarchy_from_latents(np.array([[0.0, 2.0], [2.0, 0.0]]), np.array([1, 1]))
    torch.testing.assert_close(h.abstract, torch.tensor([1.0, 1.0], dtype=torch.float64))
    with pytest.raises(ConfigError, match="NaN"):
        hierarchy_from_latents(torch.tensor([[float("nan"), 0.0]]), [0])
    with pytest.raises(ConfigError, match="rows"):
        hierarchy_from_latents(torch.zeros(3, 2), [0, 1])
    with pytest.raises(ConfigError, match="2-D"):
        hierarchy_from_latents(torch.zeros(3), [0, 1, 2])
    with pytest.raises(ConfigError, match="no memories"):
        hierarchy_from_latents(torch.zeros(2, 2), [0, 0], classes=[0, 1])
    with pytest.raises(ConfigError, match="not one of the classes"):
        hierarchy_from_latents(torch.zeros(2, 2), [0, 0]).concept(5)


class LinearToy:
    """encode(x) = (x @ A, 0): a parameter-free model with a Gaussian-looking encoder."""

    def __init__(self, a):
        self.a = a
        self.calls = 0

    def encode(self, x):
        self.calls += 1
        mu = x @ self.a
        return mu, torch.zeros_like(mu)

    def decode(self, z):
        return z


def test_build_hierarchy_encodes_memories_in_batches():
    g = gen(1)
    x = torch.rand(23, 6, generator=g)
    labels = torch.randint(0, 3, (23,), generator=g)
    labels[:3] = torch.tensor([0, 1, 2])
    a = torch.randn(6, 4, generator=g)
    toy = LinearToy(a)
    h = build_hierarchy(toy, x, labels, batch_size=7)
    assert toy.calls == 4
    ref = hierarchy_from_latents(x @ a, labels)
    for name in ("memories", "labels", "classes", "concepts", "abstract"):
        torch.testing.assert_close(getattr(h, name), getattr(ref, name))


def test_build_hierarchy_uses_eval_mode_and_restores_it():
    class Drop(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(5, 3)
            self.drop = nn.Dropout(0.9)

        def encode(self, x):
            return self.lin(self.drop(x))

        def decode(self, z):
            return z

    torch.manual_seed(0)
    m = Drop().train()
    x = torch.rand(10, 5, generator=gen(2))
    h = build_hierarchy(m, x, torch.zeros(10, dtype=torch.long))
    assert m.training
    with torch.no_grad():
        torch.testing.assert_close(h.memories, m.lin(x))
    assert not h.memories.requires_grad
    with pytest.raises(ConfigError, match="encode"):
        build_hierarchy(object(), x, torch.zeros(10))


def test_identity_model_on_synthetic_data_recovers_pixel_means_and_prototypes():
    data = pytest.importorskip("latentdyn.data")
    d = data.load_dataset("synthetic:k=4,m=30,side=6,test=10")

    class Identity:
        def encode(self, x):
            return x

        def decode(self, z):
            return z

    h = build_hierarchy(Identity(), d.train_images, d.train_labels)
    assert h.classes.tolist() == [0, 1, 2, 3]
    for j in range(4):
        torch.testing.assert_close(h.concept(j), d.train_images[d.train_labels == j].mean(0))
    proto = torch.as_tensor(d.extra["prototypes"], dtype=h.concepts.dtype)
    dist = torch.cdist(h.concepts, proto)  # (concept, prototype)
    assert dist.argmin(1).tolist() == [0, 1, 2, 3]
    off = dist + torch.diag(torch.full((4,), float("inf")))
    assert bool((dist.diag() < 0.5 * off.min(1).values).all())


# --- distances and the dip -----------------------------------------------------------------

def test_distance_to_matches_hand_computation():
    z = torch.tensor([[[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]],
                      [[1.0, 1.0], [4.0, 5.0], [1.0, -3.0]]])  # (2, 3, 2)
    d = distance_to(z, torch.tensor([0.0, 0.0]))
    torch.testing.assert_close(d, torch.tensor([[5.0, 0.0, 10.0], [math.sqrt(2), math.sqrt(41),
                                                                    math.sqrt(10)]]))
    per_trial = distance_to(z, torch.tensor([[3.0, 0.0], [1.0, 1.0]]))
    torch.testing.assert_close(per_trial, torch.tensor([[4.0, 3.0, math.sqrt(73)],
                                                        [0.0, 5.0, 4.0]]))
    values, steps = min_distance(d)
    torch.testing.assert_close(values, torch.tensor([0.0, math.sqrt(2)]))
    assert steps.tolist() == [1, 0]
    with pytest.raises(ConfigError, match="latent units"):
        distance_to(z, torch.zeros(3))
    with pytest.raises(ConfigError, match="rows"):
        distance_to(z, torch.zeros(3, 2))
    with pytest.raises(ConfigError, match="3-D"):
        distance_to(z[0], torch.zeros(2))
    with pytest.raises(ConfigError, match="NaN"):
        distance_to(z * float("nan"), torch.zeros(2))


def test_mean_sem_matches_numpy():
    d = np.random.default_rng(0).normal(size=(30, 7))
    mean, sem = mean_sem(d)
    np.testing.assert_allclose(mean.numpy(), d.mean(0))
    np.testing.assert_allclose(sem.numpy(), d.std(0, ddof=1) / np.sqrt(30))
    with pytest.raises(ConfigError, match="at least 2"):
        mean_sem(d[:1])


def noisy_trials(curve, n=60, sd=0.05, seed=0):
    g = gen(seed)
    curve = torch.as_tensor(curve, dtype=torch.float64)
    return curve + sd * torch.randn(n, curve.shape[0], generator=g, dtype=torch.float64)


def test_dip_found_in_a_curve_that_falls_then_rises():
    t = torch.arange(41, dtype=torch.float64)
    d = noisy_trials(1.0 + 0.1 * (t - 8).abs())
    for stat in (dip_statistic_from_trials(d), dip_statistic(*mean_sem(d))):
        assert stat["has_dip"] and stat["t_star"] == 8 and stat["T"] == 40
        assert stat["depth"] == pytest.approx(0.8, abs=0.05)
        assert stat["rise"] == pytest.approx(3.2, abs=0.05)
        assert stat["depth"] == pytest.approx(stat["d0"] - stat["d_min"])
    assert dip_statistic_from_trials(d)["n_trials"] == 60


def test_dip_from_trajectories_toward_a_target_and_away():
    # z(t) moves along a line through the target: distance |t - 5|, plus a bit of noise
    t = torch.arange(21, dtype=torch.float64)
    base = torch.stack([t - 5, torch.ones_like(t)], -1)  # passes (0, 1) at t = 5
    z = base + 0.01 * torch.randn(30, 21, 2, generator=gen(3), dtype=torch.float64)
    stat = dip_statistic_from_trials(distance_to(z, torch.tensor([0.0, 1.0])))
    assert stat["has_dip"] and stat["t_star"] == 5


def test_no_dip_for_monotone_curves_or_dips_below_the_noise():
    t = torch.arange(41, dtype=torch.float64)
    falling = noisy_trials(5.0 - 0.1 * t)
    rising = noisy_trials(1.0 + 0.1 * t)
    for d in (falling, rising):
        assert not dip_statistic_from_trials(d)["has_dip"]
        assert not dip_statistic(*mean_sem(d))["has_dip"]
    assert dip_statistic_from_trials(falling)["t_star"] == 40
    assert dip_statistic_from_trials(rising)["t_star"] == 0
    # every trial has its own dip (or bump) c_i * |t - 20| / 20 with c_i ~ N(0.01, 1):
    # the mean dip of 0.01 is far below the trial-to-trial spread of the dips
    g = gen(4)
    a, c = torch.randn(2, 40, 1, generator=g, dtype=torch.float64)
    tiny = 3.0 + a + (0.01 + c) * (t - 20).abs() / 20
    tiny = tiny + 0.01 * torch.randn(tiny.shape, generator=g, dtype=torch.float64)
    assert not dip_statistic_from_trials(tiny)["has_dip"]
    assert not dip_statistic(*mean_sem(tiny))["has_dip"]


def test_dip_rule_needs_both_sides_to_exceed_two_sem():
    mean = torch.tensor([3.0, 1.0, 1.15, 1.3])
    sem = torch.full((4,), 0.1)
    stat = dip_statistic(mean, sem)  # depth 2.0 > 0.2, rise 0.3 > 0.2
    assert stat["has_dip"] and stat["sem_depth"] == pytest.approx(0.1)
    assert not dip_statistic(mean, torch.full((4,), 0.2))["has_dip"]  # rise 0.3 < 0.4
    with pytest.raises(ConfigError):
        dip_statistic(mean, sem[:3])


def test_paired_sem_sees_a_dip_that_shared_offsets_hide():
    # each trial has its own large offset, so per-time SEMs are large, but every trial dips
    offsets = torch.linspace(0, 10, 40, dtype=torch.float64)[:, None]
    d = offsets + torch.tensor([1.0, 0.7, 0.9], dtype=torch.float64)
    d = d + 0.01 * torch.randn(d.shape, generator=gen(5), dtype=torch.float64)
    assert dip_statistic_from_trials(d)["has_dip"]
    assert not dip_statistic(*mean_sem(d))["has_dip"]


# --- stages -------------------------------------------------------------------------------

def test_closest_level_and_stage_intervals():
    ps = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    memory = [0.1, 0.5, 2.0, 2.5, 3.0, 3.1, 3.2]
    concept = [1.0, 0.9, 1.0, 1.2, 2.5, 2.8, 2.9]
    abstract = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    levels = closest_level(memory, concept, abstract)
    assert levels == ["memory", "memory", "concept", "concept", "abstract", "abstract",
                      "abstract"]
    assert stage_intervals(ps, levels) == [("memory", 0.0, 0.1), ("concept", 0.2, 0.3),
                                           ("abstract", 0.4, 0.6)]
    assert stages_ordered(levels)
    assert stages_ordered(levels, min_points=2) and not stages_ordered(levels, min_points=3)
    assert closest_level([1.0], [1.0], [2.0]) == ["memory"]  # ties go to the finer level
    with pytest.raises(ConfigError, match="increasing"):
        stage_intervals([0.2, 0.1], ["memory", "concept"])
    with pytest.raises(ConfigError, match="unknown level"):
        stage_intervals([0.1], ["memories"])


@pytest.mark.parametrize("levels", [
    ["memory", "abstract"],                                   # no concept stage
    ["concept", "memory", "abstract"],                        # wrong order
    ["memory", "concept", "memory", "concept", "abstract"],   # goes back
    ["memory", "concept", "abstract", "concept"],             # goes back at the end
    [],
])
def test_stages_not_ordered(levels):
    assert not stages_ordered(levels)


def test_hierarchy_min_distances_for_trials_started_from_memories():
    memories, labels, _ = clustered(k=3, per=4, nz=5)
    h = hierarchy_from_latents(memories, labels)
    idx = torch.tensor([0, 5, 9])
    # trajectories: own memory at t = 0, then the concept, then the abstract concept
    z = torch.stack([memories[idx], h.concepts_for(labels[idx]),
                     h.abstract.expand(3, -1)], dim=1)
    mins = hierarchy_min_distances(z, h, idx)
    for level in ("memory", "concept", "abstract"):
        torch.testing.assert_close(mins[level], torch.zeros(3, dtype=torch.float64))
    # measured against another label's concept it is not zero
    other = hierarchy_min_distances(z[:, :1], h, idx, labels=[2, 2, 0])
    assert bool((other["concept"] > 2.0).all())
    stats = level_mean_sem(mins)
    assert stats["memory"] == (0.0, 0.0)
    with pytest.raises(ConfigError, match="memory_index"):
        hierarchy_min_distances(z, h, torch.tensor([0, 5, 99]))


# --- geometry -----------------------------------------------------------------------------

def test_orthogonal_concepts_have_identity_cosine_matrix():
    memories, labels, _ = clustered(k=6, nz=20)
    c = cosine_matrix(hierarchy_from_latents(memories, labels).concepts)
    assert c.shape == (6, 6)
    torch.testing.assert_close(c, torch.eye(6, dtype=torch.float64), atol=0.01, rtol=0)
    assert mean_abs_offdiagonal(c) < 0.01
    assert mean_abs_offdiagonal(torch.ones(3, 3)) == pytest.approx(1.0)
    assert mean_abs_offdiagonal([[1.0, -0.5], [-0.5, 1.0]]) == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="zero"):
        cosine_matrix(torch.zeros(2, 3))
    with pytest.raises(ConfigError, match="square"):
        mean_abs_offdiagonal(torch.zeros(2, 3))


def four_of_twenty():
    """8 memories in 20 units; units 2, 5, 11, 17 vary with variances 4:3:2:1 (exactly)."""
    h = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1], [1, -1, 1, -1, 1, -1, 1, -1],
                      [1, 1, -1, -1, 1, 1, -1, -1], [1, -1, -1, 1, 1, -1, -1, 1],
                      [1, 1, 1, 1, -1, -1, -1, -1]], dtype=torch.float64).T  # Hadamard cols
    x = torch.full((8, 20), 0.3, dtype=torch.float64)
    for unit, col, w in zip((2, 5, 11, 17), (1, 2, 3, 4), (4.0, 3.0, 2.0, 1.0)):
        x[:, unit] += math.sqrt(w) * h[:, col]
    return x


def test_active_units_and_pca_dims_for_latents_in_four_units():
    x = four_of_twenty()
    mask, count = active_units(x)
    assert count == 4 and mask.nonzero().flatten().tolist() == [2, 5, 11, 17]
    ratios = pca_cumulative(x)
    torch.testing.assert_close(ratios[:4], torch.tensor([0.4, 0.7, 0.9, 1.0],
                                                        dtype=torch.float64))
    assert dims_for(ratios, 0.99) == 4
    assert dims_for(ratios, 0.7) == 2
    assert dims_for(ratios, 1.0) == 4
    with pytest.raises(ConfigError, match="fraction"):
        dims_for(ratios, 1.5)


def test_active_unit_criteria():
    x = four_of_twenty()
    assert active_units(x, threshold=4.0)[1] == 1  # variances (ddof=1) 32/7, 24/7, 16/7, 8/7
    frac = unit_activity(x, "variance_fraction")
    assert float(frac.sum()) == pytest.approx(1.0)
    assert active_units(x, 0.15, criterion="variance_fraction")[1] == 3  # 0.4, 0.3, 0.2
    # KL(q || N(0,1)) per unit, with q = N(mu, 1): mean of mu^2 / 2
    mu = torch.tensor([[0.0, 1.0], [0.0, -1.0]])
    torch.testing.assert_close(unit_activity(mu, "kl", logvars=torch.zeros(2, 2)),
                               torch.tensor([0.0, 0.5], dtype=torch.float64))
    mask, count = active_units(mu, criterion="kl", logvars=torch.zeros(2, 2))
    assert mask.tolist() == [False, True] and count == 1
    with pytest.raises(ConfigError, match="logvars"):
        active_units(mu, criterion="kl")
    with pytest.raises(ConfigError, match="unknown"):
        active_units(mu, criterion="entropy")


def test_pca_matches_eigendecomposition_of_the_covariance():
    x = np.random.default_rng(1).normal(size=(50, 6)) @ np.diag([5, 3, 2, 1, 0.5, 0.1])
    evals, evecs = np.linalg.eigh(np.cov(x, rowvar=False))
    evals, evecs = evals[::-1], evecs[:, ::-1]
    ratios = pca_cumulative(x)
    np.testing.assert_allclose(ratios.numpy(), np.cumsum(evals) / evals.sum())
    emb, r2 = pca_2d(torch.as_tensor(x))
    assert emb.shape == (50, 2)
    np.testing.assert_allclose(r2.numpy(), evals[:2] / evals.sum())
    ref = (x - x.mean(0)) @ evecs[:, :2]
    np.testing.assert_allclose(np.abs(emb.numpy()), np.abs(ref), atol=1e-10)
    # sign convention: the largest-magnitude loading of each component is positive
    loadings = np.linalg.lstsq(x - x.mean(0), emb.numpy(), rcond=None)[0]
    assert (loadings[np.abs(loadings).argmax(0), [0, 1]] > 0).all()
    with pytest.raises(ConfigError, match="do not vary"):
        pca_cumulative(torch.ones(4, 3))


def test_pca_2d_separates_clusters():
    memories, labels, _ = clustered(k=3, per=20, nz=8, noise=0.05)
    emb, ratios = pca_2d(memories.float())
    assert emb.dtype == torch.float32 and float(ratios.sum()) > 0.99
    centres = torch.stack([emb[labels == j].mean(0) for j in range(3)])
    assert float(torch.pdist(centres).min()) > 1.0


# --- properties ---------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_hierarchy_properties(k, nz, seed):
    g = gen(seed)
    labels = torch.cat([torch.arange(k), torch.randint(0, k, (12,), generator=g)])
    memories = torch.randn(labels.shape[0], nz, generator=g, dtype=torch.float64)
    h = hierarchy_from_latents(memories, labels * 3)  # labels need not be 0..K-1
    assert h.classes.tolist() == [3 * j for j in range(k)]
    for j in range(k):
        torch.testing.assert_close(h.concept(3 * j), memories[labels == j].mean(0))
    torch.testing.assert_close(h.abstract, h.concepts.mean(0))
    c = cosine_matrix(h.concepts)
    torch.testing.assert_close(c, c.T)
    torch.testing.assert_close(c.diag(), torch.ones(k, dtype=torch.float64))
    if k > 1:
        assert 0.0 <= mean_abs_offdiagonal(c) <= 1.0
