"""The statistics behind the issue-11 verdicts, on synthetic data with known answers:
effective dimension, random-direction and shuffled-label references (C4), the
sensitivity of the active units (C2), the dip's relative depth and power (C1, C8), the
two readings of Fig. 4 with paired SEMs and stage widths (C5), and the vectors the
nagano2017 bootstraps recompute."""

import math

import numpy as np
import pytest
import torch

from latentdyn.analysis import build_hierarchy, hierarchy_from_latents
from latentdyn.analysis.distances import (
    dip_power,
    dip_statistic_from_trials,
    has_dip_np,
)
from latentdyn.analysis.geometry import (
    activity_sensitivity,
    component_variances,
    participation_ratio,
    random_cosine,
    shuffled_concepts_null,
)
from latentdyn.analysis.hierarchy import posterior_logvars
from latentdyn.analysis.stages import (
    closest_margin,
    hierarchy_distances,
    hierarchy_min_distances,
    minima,
    paired_differences,
    stage_widths,
)
from latentdyn.analysis.trials import noise_sweep
from latentdyn.errors import ConfigError
from latentdyn.studies.nagano2017 import resampling as B


def _dip_trials(n, depth, rng, T=10, noise=1.0):
    """Trials whose mean distance is 10 at t = 0, 10 - depth at t = 3, then rises."""
    t = np.arange(T + 1)
    mean = 10 - depth * np.exp(-0.5 * (t - 3) ** 2) + 0.3 * np.clip(t - 3, 0, None)
    return mean + noise * rng.normal(size=(n, T + 1))


# ------------------------------------------------------------------- C4 references
def test_participation_ratio_counts_equal_dimensions():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(4000, 12)) * np.r_[np.ones(5), np.zeros(7)])
    assert participation_ratio(x) == pytest.approx(5, rel=0.05)
    lam = component_variances(x)
    assert lam.shape == (12,) and bool((lam[:-1] >= lam[1:]).all())
    assert participation_ratio(variances=torch.tensor([2.0, 2.0, 0.0])) == pytest.approx(2)
    with pytest.raises(ConfigError, match="do not vary"):
        participation_ratio(torch.zeros(5, 3))


@pytest.mark.parametrize("dim", [2, 3, 14, 40])
def test_random_cosine_matches_random_directions(dim):
    rng = np.random.default_rng(dim)
    u = rng.normal(size=(20000, dim))
    v = rng.normal(size=(20000, dim))
    cos = np.abs((u * v).sum(1)) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    assert random_cosine(dim) == pytest.approx(cos.mean(), abs=0.01)
    assert random_cosine(2) == pytest.approx(2 / math.pi)  # E|cos θ| on the circle


def test_random_cosine_accepts_fractional_dimensions():
    assert random_cosine(14) > random_cosine(14.5) > random_cosine(15)
    assert random_cosine(14) == pytest.approx(math.sqrt(2 / (math.pi * 14)), rel=0.03)
    with pytest.raises(ConfigError, match="dim"):
        random_cosine(0.5)


def test_shuffled_concepts_null_is_far_from_orthogonal_concepts():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(5), 60)
    centres = 4 * np.eye(5, 8)  # five orthogonal concepts
    memories = torch.tensor(centres[labels] + 0.5 * rng.normal(size=(300, 8)))
    null = shuffled_concepts_null(memories, labels, n_permutations=50, seed=0)
    hier = hierarchy_from_latents(memories, torch.tensor(labels))
    from latentdyn.analysis import cosine_matrix, mean_abs_offdiagonal

    true = mean_abs_offdiagonal(cosine_matrix(hier.concepts))
    assert true < 0.1 < null.quantile
    assert null.mean > 0.8  # shuffled concepts are all near the common mean
    assert shuffled_concepts_null(memories, labels, n_permutations=50, seed=0).mean == null.mean


def test_activity_sensitivity_and_the_kl_criterion():
    rng = np.random.default_rng(2)
    scales = np.array([1.0, 0.3, 0.15, 0.05, 0.0])  # variances 1, .09, .0225, .0025, 0
    mem = torch.tensor(rng.normal(size=(5000, 5)) * scales)
    sens = activity_sensitivity(mem)
    assert sens == {"var > 0.01": 3, "var > 0.05": 2, "var > 0.1": 1}
    logvars = torch.zeros_like(mem)  # unit posterior variance: KL = mean^2 / 2
    with_kl = activity_sensitivity(mem, logvars)
    assert with_kl["KL > 0.01 nats"] == 3  # E[mu^2] / 2 > 0.01 for variances > 0.02


def test_posterior_logvars_of_a_vae_and_of_a_mean_only_model():
    from torch import nn

    from latentdyn.models import build_model

    vae = build_model("vae", input_dim=6, hidden=4, nz=3)
    x = torch.rand(7, 6)
    lv = posterior_logvars(vae, x, batch_size=3)
    with torch.no_grad():
        assert lv.shape == (7, 3) and torch.allclose(lv, vae.encode(x)[1])

    class MeanOnly(nn.Module):
        def encode(self, x):
            return x[:, :2]

        def decode(self, z):
            return z

    assert posterior_logvars(MeanOnly(), torch.rand(4, 5)) is None


# ------------------------------------------------------------------- C1, C8: the dip
def test_has_dip_np_agrees_with_the_dip_statistic():
    rng = np.random.default_rng(3)
    seen = set()
    for depth in (0.0, 0.3, 0.6, 1.5, 3.0):
        for n in (2, 5, 40):
            d = _dip_trials(n, depth, rng)
            want = dip_statistic_from_trials(torch.tensor(d))["has_dip"]
            assert has_dip_np(d) == want
            seen.add(want)
    assert seen == {True, False}
    groups = np.stack([_dip_trials(30, 3.0, rng), _dip_trials(30, 0.0, rng, noise=0.0)], 1)
    assert has_dip_np(groups).tolist() == [True, False]


def test_relative_depth_is_depth_over_d0():
    rng = np.random.default_rng(4)
    dip = dip_statistic_from_trials(torch.tensor(_dip_trials(200, 2.0, rng, noise=0.1)))
    assert dip["relative_depth"] == pytest.approx(dip["depth"] / dip["d0"])
    assert dip["relative_depth"] == pytest.approx(0.2, abs=0.02)


def test_dip_power_grows_with_the_number_of_trials():
    rng = np.random.default_rng(5)
    d = _dip_trials(300, 0.5, rng, noise=1.5)
    assert has_dip_np(d)
    small, large = dip_power(d, 10, draws=200), dip_power(d, 200, draws=200)
    assert small < 0.6 < 0.95 <= large
    assert dip_power(d, 10, draws=200, seed=1) == dip_power(d, 10, draws=200, seed=1)
    with pytest.raises(ConfigError, match="n must lie"):
        dip_power(d, 1)


# ------------------------------------------------------------------- C5: Fig. 4
def test_two_readings_of_the_minimum_and_paired_differences():
    z = torch.zeros(3, 4, 2)
    z[:, 0] = torch.tensor([5.0, 0.0])  # t = 0 at the abstract concept's distance 5
    z[:, 1:] = torch.tensor([1.0, 0.0])  # later: 1 from memory at (0, 0)
    hier = hierarchy_from_latents(torch.tensor([[0.0, 0.0], [10.0, 0.0]]), torch.tensor([0, 1]))
    # memory 0 at (0,0), concept 0 = (0,0), abstract = (5, 0)
    dist = hierarchy_distances(z, hier, torch.tensor([0, 0, 0]))
    m0, m1 = minima(dist, 0), minima(dist, 1)
    assert m0["abstract"].tolist() == [0.0] * 3  # reached at t = 0 only
    assert m1["abstract"].tolist() == [4.0] * 3 and m1["memory"].tolist() == [1.0] * 3
    assert hierarchy_min_distances(z, hier, torch.tensor([0, 0, 0]), start=1)["memory"].tolist() \
        == [1.0] * 3
    with pytest.raises(ConfigError, match="start"):
        minima(dist, 4)
    rng = np.random.default_rng(6)
    a = torch.tensor(rng.normal(size=400))
    mins = {"memory": a, "concept": a + 1.0, "abstract": a + 0.5}
    diffs = paired_differences(mins)
    assert diffs["memory-concept"] == pytest.approx((-1.0, 0.0))
    assert diffs["concept-abstract"][0] == pytest.approx(0.5)
    level, margin = closest_margin(mins)
    assert level == "memory" and margin > 1e6  # the pairs (almost) never disagree
    noisy = {"memory": a, "concept": a + 0.1 + torch.tensor(rng.normal(size=400)),
             "abstract": a + 5}
    level, margin = closest_margin(noisy)
    assert level == "memory" and 0 < margin < 5


def test_stage_widths_count_noise_levels():
    ps = [0.0, 0.1, 0.2, 0.5, 0.9]
    levels = ["memory", "memory", "concept", "abstract", "abstract"]
    assert stage_widths(ps, levels) == [
        {"level": "memory", "points": 2, "p_start": 0.0, "p_end": 0.1},
        {"level": "concept", "points": 1, "p_start": 0.2, "p_end": 0.2},
        {"level": "abstract", "points": 2, "p_start": 0.5, "p_end": 0.9}]


def test_noise_sweep_keeps_both_readings_and_the_share_at_t0():
    from latentdyn.data import load_dataset
    from latentdyn.models import build_model

    data = load_dataset("synthetic:k=3,m=10,side=4,test=3")
    model = build_model("vae", input_dim=data.dim, hidden=8, nz=3)
    hier = build_hierarchy(model, data.train_images, data.train_labels)
    sw = noise_sweep(model, hier, data.train_images, data.train_labels, 1, [0.0, 0.5, 1.0], 6,
                     steps=4, seed=3)
    assert set(sw.readings) == {"t>=0", "t>=1"}
    lit, rep = sw.readings["t>=0"], sw.readings["t>=1"]
    assert sw.mean == lit.mean and sw.closest == lit.closest
    for lv in ("memory", "concept", "abstract"):
        assert all(a <= b + 1e-9 for a, b in zip(lit.mean[lv], rep.mean[lv]))
        assert lit.mins[lv].shape == (3, 6) and len(sw.at_start[lv]) == 3
    assert sum(w["points"] for w in rep.widths) == 3 and len(rep.differences) == 3


# ------------------------------------------------------------------- bootstrap vectors
def test_geometry_vector_matches_the_geometry_functions():
    from latentdyn.analysis import active_units, dims_for, pca_cumulative

    rng = np.random.default_rng(7)
    labels = np.repeat(np.arange(4), 50)
    mem = 2 * np.eye(4, 10)[labels] + rng.normal(size=(200, 10)) * np.linspace(0.01, 0.5, 10)
    onehot = (labels[:, None] == np.arange(4)).astype(float)
    v = B.geometry_vector(mem, onehot)
    t = torch.tensor(mem)
    cum = pca_cumulative(t)
    assert v[0] == active_units(t)[1]
    assert (v[1], v[2]) == (dims_for(cum, 0.7), dims_for(cum, 0.99))
    assert v[3] == pytest.approx(participation_ratio(t))
    hier = hierarchy_from_latents(t, torch.tensor(labels))
    from latentdyn.analysis import cosine_matrix, mean_abs_offdiagonal

    assert v[4] == pytest.approx(mean_abs_offdiagonal(cosine_matrix(hier.concepts)))
    assert v[5] == pytest.approx(random_cosine(v[3]))
    boot = B.geometry_bootstrap(mem, labels, 30, seed=0)
    assert boot.samples.shape == (30, 6) and boot.low[4] <= v[4] <= boot.high[4]


def test_stages_vector_orders_and_margins():
    rng = np.random.default_rng(8)
    n, noise = 200, 0.3
    means = np.array([[1, 2, 3], [2, 1, 3], [3, 2, 1], [3, 3, 1]], dtype=float)  # M, C, A, A
    mins = means[None] + noise * rng.normal(size=(n, 4, 3))
    v = B.stages_vector(mins)
    assert v[0] == 1 and v[1] > 10 and v[2:].tolist() == [1, 1, 2]
    close = np.array([[1, 2, 3], [1.0, 1.01, 3], [3, 2, 1]])  # a concept stage within noise
    v2 = B.stages_vector(close[None] + noise * rng.normal(size=(n, 3, 3)))
    assert v2[1] < 2
    no_concept = np.array([[1, 2, 3], [3, 2, 1]])
    assert B.stages_vector(no_concept[None] + noise * rng.normal(size=(n, 2, 3)))[0] == 0


def test_elbo_and_attribution_vectors():
    per_image = np.array([[-100.0, -90.0, -91.0], [-102.0, -92.0, -93.0]])
    assert B.elbo_vector(per_image, np.array([2.0, 14.0, 100.0])).tolist() == [14, 1.0, -91.0]
    rng = np.random.default_rng(9)
    d = _dip_trials(60, 3.0, rng, noise=0.2)
    kept = np.r_[np.ones(30), np.zeros(30)]
    assert B.attribution_vector(d, kept).tolist() == [30, 1.0, 1.0]
    assert B.attribution_vector(d, np.r_[1, np.zeros(59)]).tolist() == [1, 1.0, 0.0]


# ------------------------------------------------------------------- the pilot's criterion
def test_convergence_epoch_needs_both_elbo_and_units_stable_over_the_window():
    from latentdyn.studies.nagano2017.pilot import convergence_epoch, quick_epochs

    # ELBO settles (within 0.5 nats) from epoch 20, the units (within 2) from epoch 30
    rows = [{"epoch": e, "test_elbo": -100 - max(0, 20 - e) - 0.04 * (e % 3),
             "active_units": 30 + max(0, 30 - e)} for e in range(1, 61)]
    assert convergence_epoch(rows, window=10) == 38  # units 32..30 over epochs 28..38
    assert convergence_epoch(rows, window=10, units_tol=0) == 40
    assert convergence_epoch(rows[:30], window=10) is None
    assert quick_epochs(91) == 190 and quick_epochs(95) == 190 and quick_epochs(None) is None


def test_pilot_trains_exactly_like_the_vae_and_records_active_units(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from latentdyn.models.registry import FAMILIES
    from latentdyn.studies.nagano2017 import pilot
    from latentdyn.train import TrainConfig, train
    from latentdyn.train.runs import read_metrics

    monkeypatch.setitem(FAMILIES, pilot.PILOT_KIND, "latentdyn.studies.nagano2017.pilot:FAMILY")
    monkeypatch.setattr(pilot.PilotVAETask, "_images", None)
    common = dict(dataset="synthetic:k=3,m=10,side=4,test=3", nz=5, hidden=8, epochs=3,
                  device="cpu", lr_factors=[1.0, 1.0, 1.0])
    train(TrainConfig(**common), tmp_path / "vae", progress=False)
    train(TrainConfig(model=pilot.PILOT_KIND, **common), tmp_path / "pilot", progress=False)
    a, b = (load_file(tmp_path / k / "model.safetensors") for k in ("vae", "pilot"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = read_metrics(tmp_path / "pilot")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert all(0 <= r["active_units"] <= 5 for r in rows)
