"""The latent map, its Jacobians, fixed points and fates on cases with known answers, the
attractor analysis on models built by hand on the synthetic hierarchy, and one
end-to-end run of `latentdyn attractors` at toy size."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from latentdyn.analysis import build_hierarchy
from latentdyn.analysis.attractors import (
    END_LEVELS,
    analyse_attractors,
    basin_sweep,
    classify_ends,
    hierarchy_fixed_points,
    hierarchy_scale,
    memories_at_attractors,
    memory_stability,
    nearest_level,
)
from latentdyn.cli import main
from latentdyn.data import load_dataset
from latentdyn.dynamics import run_dynamics
from latentdyn.dynamics.attractors import (
    FATES,
    apply_map,
    classify_fates,
    deduplicate,
    find_fixed_points,
    iterate_map,
    jacobians,
    jacobians_loop,
    newton_refine,
    spectral_radius,
)
from latentdyn.errors import ConfigError

DATA = "synthetic:k=4,m=12,side=6,test=3"  # 4 concepts, 48 memories of 36 pixels


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ toy models
class Linear(nn.Module):
    """encode = identity, decode(z) = A z + b: F(z) = A z + b."""

    def __init__(self, A, b=None):
        super().__init__()
        self.A = A
        self.b = torch.zeros(A.shape[0]) if b is None else b

    def encode(self, x):
        return x

    def decode(self, z):
        return z @ self.A.T + self.b


class Cubic(nn.Module):
    """F(z) = (z³ + z) / 2 per coordinate: fixed points {-1, 0, 1}^nz in closed form,
    F'(0) = 1/2 (attracting), F'(±1) = 2 (repelling)."""

    def encode(self, x):
        return x

    def decode(self, z):
        return (z ** 3 + z) / 2


def symmetric(eigenvalues, seed=0):
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=gen(seed)))
    return q @ torch.diag(torch.as_tensor(eigenvalues, dtype=torch.float32)) @ q.T


class OnHierarchy(nn.Module):
    """Built by hand on image data: encode(x) = P x (orthonormal rows), and decode so
    that F(z) = t + lam (z - t), t the nearest target (row of ``targets``) to z. With
    the memories as targets every memory is an attracting fixed point; with the
    concepts every concept is, and a memory is contracting but not fixed."""

    def __init__(self, images, P, targets, lam=0.5):
        super().__init__()
        self.P, self.T, self.lam = P, targets, lam
        self.X = targets @ P  # an image whose encoding is each target

    def encode(self, x):
        return x @ self.P.T

    def decode(self, z):
        j = ((z[:, None, :] - self.T[None]) ** 2).sum(-1).argmin(-1)
        return self.X[j] + (self.lam * (z - self.T[j])) @ self.P


def projection(dim, nz=6, seed=0):
    return torch.linalg.qr(torch.randn(dim, nz, generator=gen(seed)))[0].T.contiguous()


@pytest.fixture(scope="module")
def synth():
    data = load_dataset(DATA)
    P = projection(data.dim)
    to_memory = OnHierarchy(data.train_images, P, data.train_images @ P.T)
    hier = build_hierarchy(to_memory, data.train_images, data.train_labels)
    to_concept = OnHierarchy(data.train_images, P, hier.concepts)
    return data, P, hier, to_memory, to_concept


# ------------------------------------------------------------------ the map
def test_linear_map_jacobian_and_spectrum_are_known():
    A = symmetric([0.9, -0.5, 0.2, 0.05])
    model = Linear(A, torch.tensor([1.0, -2.0, 0.5, 3.0]))
    z = torch.randn(7, 4, generator=gen(1))
    for method in ("rev", "fwd", "loop"):
        J = jacobians(model, z, method=method)
        assert J.shape == (7, 4, 4)
        torch.testing.assert_close(J, A.expand(7, 4, 4), atol=1e-6, rtol=0)
    torch.testing.assert_close(spectral_radius(jacobians(model, z)),
                               torch.full((7,), 0.9), atol=1e-5, rtol=0)
    torch.testing.assert_close(apply_map(model, z), z @ A.T + model.b)


def test_batched_jacobians_equal_the_per_point_loop_on_a_vae():
    from latentdyn.models import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=36, hidden=16, nz=3))
    z = torch.randn(9, 3, generator=gen(8))
    loop = jacobians_loop(vae, z)
    for method in ("rev", "fwd"):
        torch.testing.assert_close(jacobians(vae, z, method=method, chunk_size=4), loop,
                                   atol=1e-6, rtol=1e-5)
    # a finite difference of F agrees with the Jacobian
    e = 1e-3 * torch.eye(3)[0]
    fd = (apply_map(vae, z + e) - apply_map(vae, z - e)) / 2e-3
    torch.testing.assert_close(fd, loop[:, :, 0], atol=1e-3, rtol=1e-2)
    assert vae.training  # the model's mode is restored


def test_linear_fixed_point_attracting_and_repelling():
    b = torch.tensor([1.0, -2.0, 0.5])
    A = symmetric([0.8, 0.3, -0.6], seed=2)
    exact = torch.linalg.solve(torch.eye(3) - A, b)
    fp = find_fixed_points(Linear(A, b), 5 * torch.randn(40, 3, generator=gen(3)), tol=1e-5)
    assert fp.n == 1 and int(fp.basin[0]) == 40 and bool((fp.assignment == 0).all())
    torch.testing.assert_close(fp.points[0], exact, atol=1e-4, rtol=0)
    assert abs(float(fp.radius[0]) - 0.8) < 1e-5 and bool(fp.stable[0])
    # an expanding map: iteration runs away, Newton finds the repelling fixed point
    B = symmetric([1.5, 1.2, -1.3], seed=4)
    model = Linear(B, b)
    z, res = newton_refine(model, torch.randn(5, 3, generator=gen(5)), steps=3)
    torch.testing.assert_close(z, torch.linalg.solve(torch.eye(3) - B, b).expand(5, 3),
                               atol=1e-4, rtol=0)
    assert float(res.max()) < 1e-4
    assert abs(float(spectral_radius(jacobians(model, z[:1]))[0]) - 1.5) < 1e-5


def test_cubic_fixed_points_in_closed_form():
    model = Cubic()
    # every start strictly inside (-1, 1)^2 converges to the origin, radius 1/2
    inside = torch.rand(30, 2, generator=gen(6)) * 1.8 - 0.9
    fp = find_fixed_points(model, inside, tol=1e-6)
    assert fp.n == 1 and float(fp.points.abs().max()) < 1e-5
    assert abs(float(fp.radius[0]) - 0.5) < 1e-5
    # Newton from near each of the nine fixed points {-1, 0, 1}^2 finds it exactly
    grid = torch.cartesian_prod(torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([-1.0, 0.0, 1.0]))
    z, res = newton_refine(model, grid + 0.05, steps=8)
    torch.testing.assert_close(z, grid, atol=1e-5, rtol=0)
    radius = spectral_radius(jacobians(model, z))
    expect = torch.where((grid.abs() == 1).any(1), 2.0, 0.5)
    torch.testing.assert_close(radius, expect, atol=1e-4, rtol=0)


def test_iteration_and_deduplication():
    it = iterate_map(Linear(0.5 * torch.eye(2)), torch.tensor([[1.0, 0.0], [0.0, 0.0]]),
                     max_steps=50, tol=0.01)
    # steps 0.5^t: the first below 0.01 is t = 7; the origin is fixed at once
    assert it.steps.tolist() == [7, 1] and bool(it.converged.all())
    pts = torch.tensor([[0.0, 0.0], [0.05, 0.0], [1.0, 1.0], [1.0, 1.02], [3.0, 0.0]])
    leaders, assign = deduplicate(pts, tol=0.1)
    assert leaders.tolist() == [0, 2, 4] and assign.tolist() == [0, 0, 1, 1, 2]


def test_vmap_fallback_for_a_model_vmap_cannot_trace():
    class Scalar(nn.Module):  # .item() breaks vmap: Jacobians fall back to the loop
        def encode(self, x):
            return x

        def decode(self, z):
            return z * (0.5 if float(z.sum().item()) > -1e9 else 1.0)

    z = torch.randn(3, 2, generator=gen(7))
    torch.testing.assert_close(jacobians(Scalar(), z), 0.5 * torch.eye(2).expand(3, 2, 2))


def test_bad_inputs():
    model = Linear(torch.eye(2))
    with pytest.raises(ConfigError, match="method"):
        jacobians(model, torch.zeros(2, 2), method="magic")
    with pytest.raises(ConfigError, match="NaN"):
        jacobians(model, torch.tensor([[float("nan"), 0.0]]))
    with pytest.raises(ConfigError, match="non-empty"):
        apply_map(model, torch.zeros(0, 2))
    with pytest.raises(ConfigError, match="tol"):
        iterate_map(model, torch.zeros(1, 2), tol=0)
    with pytest.raises(ConfigError, match="encode and decode|lacks"):
        apply_map(object(), torch.zeros(1, 2))


# ------------------------------------------------------------------ fates
def trajectories(model, z0, steps):
    return run_dynamics(model, z0, steps=steps).z


@pytest.mark.parametrize("A, fate, period", [
    (0.5 * torch.eye(2), "converged", 0),
    (-torch.eye(2), "cycling", 2),
    (torch.tensor([[0.0, -1.0], [1.0, 0.0]]), "cycling", 4),  # a quarter turn
    (1.1 * torch.eye(2), "drifting", 0),  # ‖F(z)‖ = 1.1 ‖z‖: provably drifts
    (torch.tensor([[0.5403, -0.8415], [0.8415, 0.5403]]), "unsettled", 0),  # 1 rad turns
])
def test_fates_of_linear_maps(A, fate, period):
    z = trajectories(Linear(A), torch.tensor([[1.0, 0.0], [0.0, 2.0]]), 40)
    f = classify_fates(z, tol=1e-3)
    assert f.names() == [fate, fate] and f.period.tolist() == [period, period]
    assert f.share()[fate] == 1.0 and sum(f.share().values()) == pytest.approx(1.0)
    if fate == "converged":  # steps 0.5^t ‖z0‖ < 1e-3 from t = 10 (‖z0‖ = 1) and 11 (2)
        assert f.step.tolist() == [10, 11]
    else:
        assert f.step.tolist() == [-1, -1] and np.isnan(f.mean_step())


def test_fates_need_a_step_and_a_positive_tolerance():
    with pytest.raises(ConfigError, match="T >= 1"):
        classify_fates(torch.zeros(2, 1, 3), 1e-3)
    with pytest.raises(ConfigError, match="tol"):
        classify_fates(torch.zeros(2, 4, 3), 0.0)
    assert FATES == ("converged", "cycling", "drifting", "unsettled")


# ------------------------------------------------------------------ on the hierarchy
def test_nearest_memory_model_every_memory_is_an_attracting_fixed_point(synth):
    data, P, hier, to_memory, _ = synth
    scale = hierarchy_scale(hier)
    st = memory_stability(to_memory, hier, 20, fixed_tol=1e-4 * scale.scale)
    torch.testing.assert_close(st.memory_radius, torch.full((20,), 0.5), atol=1e-5, rtol=0)
    assert st.contraction_share == 1.0 and st.fixed_attractor_share == 1.0
    assert st.fixed_share == 1.0
    # clean starts stay at their own memory; every trajectory converges
    sweep = basin_sweep(to_memory, hier, data.train_images, data.train_labels, [0.0], 16,
                        steps=20, tol=1e-4 * scale.scale, capture=scale.capture)
    assert sweep.end_shares()["own_memory"] == [1.0]
    assert sweep.fate_shares()["converged"] == [1.0] and sweep.mean_steps() == [1.0]
    # the fixed points reached from the memories are the memories themselves
    fp = hierarchy_fixed_points(to_memory, hier, hier.memories, tol=1e-4 * scale.scale,
                                capture=scale.capture)
    assert fp.n == len(torch.unique(hier.memories, dim=0))
    assert fp.level_counts()["memory"] == fp.n and float(fp.nearest.d_memory.max()) < 1e-5
    # every memory is an attractor read at the fixed points: one sits on it, rho = 1/2
    assert memories_at_attractors(st, fp, hier, scale.capture) == 1.0
    assert fp.attractor_share == 1.0 and fp.by_level()["memory"]["attracting"] == fp.n


def test_nearest_concept_model_concepts_attract_memories_do_not_stay(synth):
    data, P, hier, _, to_concept = synth
    scale = hierarchy_scale(hier)
    h2 = build_hierarchy(to_concept, data.train_images, data.train_labels)
    torch.testing.assert_close(h2.concepts, hier.concepts)
    st = memory_stability(to_concept, hier, 30, fixed_tol=1e-4 * scale.scale)
    # contracting everywhere (radius 1/2) but no memory is a fixed point
    assert st.contraction_share == 1.0 and st.fixed_attractor_share == 0.0
    assert st.fixed_share == 0.0
    torch.testing.assert_close(st.concept_residual, torch.zeros(4), atol=1e-5, rtol=0)
    own = torch.cdist(hier.memories, hier.concepts).argmin(1) == hier.labels
    assert bool(own.all())  # the synthetic memories lie nearest their own concept
    sweep = basin_sweep(to_concept, hier, data.train_images, data.train_labels, [0.0], 16,
                        steps=40, tol=1e-4 * scale.scale, capture=scale.capture)
    assert sweep.end_shares()["own_concept"] == [1.0]
    res = analyse_attractors(to_concept, hier, data.train_images, data.train_labels,
                             ps=[0.0, 0.2], trials=8, steps=40, memories=10, starts=50)
    assert res.fixed.n == 4 and res.fixed.level_counts()["concept"] == 4
    assert bool(res.fixed.fixed.stable.all())
    assert res.memories_at_attractors == 0.0  # the attractors are the concepts, not memories
    assert res.start_counts == {"concepts": 4, "abstract": 1, "memories": 10,
                                "trial_ends": 16}  # all 26 fit in the 50 - 5 left


def test_drifting_model_ends_nowhere(synth):
    data, P, hier, _, _ = synth

    class Away(nn.Module):  # F(z) = 1.3 z: the trajectories provably drift outward
        def encode(self, x):
            return x @ P.T

        def decode(self, z):
            return (1.3 * z) @ P

    scale = hierarchy_scale(hier)
    sweep = basin_sweep(Away(), hier, data.train_images, data.train_labels, [0.0, 0.5], 10,
                        steps=30, tol=1e-3 * scale.scale, capture=scale.capture)
    assert sweep.fate_shares()["drifting"] == [1.0, 1.0]
    assert sweep.end_shares()["none"] == [1.0, 1.0]
    st = memory_stability(Away(), hier, 10, fixed_tol=1e-3)
    assert st.contraction_share == 0.0


def test_end_levels_follow_the_nearest_point(synth):
    _, _, hier, _, _ = synth
    far = hier.abstract + 100.0
    z = torch.stack([hier.memories[0], hier.memories[1], hier.concepts[0], hier.concepts[1],
                     hier.abstract, far])
    labels = torch.tensor([int(hier.labels[0])] * 6)
    ends = classify_ends(z, hier, labels, torch.zeros(6, dtype=torch.long), capture=1.0)
    assert ends.names() == list(END_LEVELS)
    near = nearest_level(z, hier, capture=1.0)  # one radius for every level: the old rule
    assert near.names() == ["memory", "memory", "concept", "concept", "abstract", "none"]


# ------------------------------------------------------------------ the command
def cli(*args):
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def vae(tmp_path_factory):
    root = tmp_path_factory.mktemp("attractors")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    assert cli("train", "--dataset", DATA, "--nz", 3, "--hidden", 16, "--epochs", 2,
               "--device", "cpu", "--quiet", "--out", root / "vae") == 0
    assert cli("classifier", "train", "--dataset", DATA, "--epochs", 1, "--batch-size", 16,
               "--option", "conv1=2", "--option", "conv2=2", "--option", "dense=4",
               "--device", "cpu", "--quiet", "--out", root / "clf") == 0
    torch.set_num_threads(before)
    return root


TOY = ["--trials", 6, "--steps", 10, "--memories", 12, "--starts", 40, "--p", "0,0.3,1",
       "--device", "cpu", "--quiet"]


def test_attractors_command_end_to_end(vae, capsys):
    out = vae / "a"
    assert cli("attractors", "--model", vae / "vae", "--classifier", vae / "clf", "--out", out,
               *TOY) == 0
    assert capsys.readouterr().out.strip() == f"report: {out / 'report.html'}"
    for stem in ("attractor_fates", "attractor_basins", "attractor_stability"):
        assert (out / "figures" / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "data" / f"{stem}.csv").stat().st_size > 0
    summary = json.loads((out / "attractors.json").read_text())
    assert summary["ps"] == [0.0, 0.3, 1.0] and summary["memories_measured"] == 12
    for shares in (summary["fates"], summary["ends"]):
        assert np.allclose(np.sum(list(shares.values()), axis=0), 1.0)
    assert summary["digit_kept"] is not None and len(summary["digit_kept"]) == 3
    trials = (out / "data" / "attractor_trials.csv").read_text().splitlines()
    assert len(trials) == 1 + 3 * 6 and trials[0].startswith("p,label,memory_index,fate")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["kind"] == "attractors"
    assert manifest["command"][:2] == ["latentdyn", "attractors"]
    html = (out / "report.html").read_text()
    assert "Radhakrishnan" in html and html.count("data:image/png;base64,") >= 3
    # the same command again: refused, nothing changed; with --overwrite: same numbers
    before = (out / "data" / "attractor_trials.csv").read_bytes()
    assert cli("attractors", "--model", vae / "vae", "--classifier", vae / "clf", "--out",
               out, *TOY) == 2
    assert "exists" in capsys.readouterr().err
    assert cli("attractors", "--model", vae / "vae", "--classifier", vae / "clf", "--out",
               out, "--overwrite", *TOY) == 0
    assert (out / "data" / "attractor_trials.csv").read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["--p", "0,2"], "noise levels"),
    (["--p", "0.5,0.1"], "increasing"),
    (["--method", "magic"], "method"),
    (["--trials", "1"], "trials"),
    (["--trials", str(2**40)], "trials"),
    (["--tol", "0"], "tol"),
    (["--noise", "blur"], "unknown noise"),
    (["--label", "99"], "label"),
    (["--classifier", "VAE"], "classifier"),
    (["--dataset", "synthetic:side=5"], "values per image"),
])
def test_attractors_bad_options_are_one_line_errors(vae, tmp_path, capsys, args, message):
    args = [str(vae / "vae") if a == "VAE" else a for a in args]
    out = tmp_path / "bad"
    assert cli("attractors", "--model", vae / "vae", "--out", out, *TOY, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and message in err[-1] and "Traceback" not in err[-1]
    assert not (out / "attractors.json").exists()


def test_attractors_of_a_run_that_is_not_a_protocol_model(vae, capsys):
    assert cli("attractors", "--model", vae / "clf", "--out", vae / "x", *TOY) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_run_on_a_hand_built_model_and_the_nagano_section(synth, tmp_path):
    from dataclasses import asdict

    from latentdyn.studies.attractors import Settings, nagano_section, run

    data, _, hier, _, to_concept = synth
    s = Settings(ps=(0.0, 0.5), trials=4, steps=20, memories=8, starts=30)
    # run() takes a model object as `model`, and the analysis' settings as keywords
    out = run(out=tmp_path / "hand", model=to_concept, dataset=DATA, device="cpu", quiet=True,
              **asdict(s))
    summary = json.loads((out / "attractors.json").read_text())
    assert summary["fixed_points"] == 4 and summary["fixed_point_levels"]["concept"] == 4
    assert summary["contraction_share"] == 1.0 and summary["fixed_attractor_share"] == 0.0
    assert summary["fixed_point_attractor_share"] == 1.0
    assert summary["fixed_points_by_level"]["concept"] == {"n": 4, "attracting": 4,
                                                           "median_radius": pytest.approx(0.5)}
    # the baseline of the capture rule: the test images of the set, labelled beside
    assert summary["held_out"]["images"] == 12  # 4 classes x 3 test images
    assert sum(summary["held_out"]["levels"].values()) == pytest.approx(1.0)
    # where the fixed points are (for latentdyn explore --attractors): the four concepts
    points = torch.tensor([f["z"] for f in summary["fixed_point_list"]])
    assert points.shape == (4, hier.nz) and all(f["stable"] for f in summary["fixed_point_list"])
    assert torch.cdist(points.float(), hier.concepts.float()).min(1).values.max() < 1e-3
    sections, files = nagano_section(to_concept, hier, data, tmp_path / "n17", settings=s)
    assert [x.title for x in sections][:1] == ["Attractors: fate of trajectories"]
    assert all(f.is_file() for f in files) and len(sections) == 4


# ------------------------------------------------------------------ issue 19
def gaussian_hierarchy(n=3000, k=10, nz=8, seed=0):
    """Memories drawn around k centres, and a draw of the same law (held out)."""
    from latentdyn.analysis import hierarchy_from_latents

    g = gen(seed)
    centres = 2.0 * torch.randn(k, nz, generator=g)

    def draw(m):
        lab = torch.randint(0, k, (m,), generator=g)
        return centres[lab] + torch.randn(m, nz, generator=g), lab

    mem, lab = draw(n)
    return hierarchy_from_latents(mem, lab), draw(2000)[0], g


def test_capture_rule_labels_held_out_encodings_as_memories_at_a_low_rate():
    from latentdyn.analysis.capture import CAPTURE_QUANTILE

    hier, held, g = gaussian_hierarchy()
    scale = hierarchy_scale(hier)
    assert scale.quantile == CAPTURE_QUANTILE == 0.05
    new = nearest_level(held, hier, scale.capture).share()
    old = nearest_level(held, hier, scale.old_radius).share()
    # points drawn like the memories, with no memory of their own: each level captures
    # them at about its quantile (5 %); the old single radius called nearly all "memory"
    assert new["memory"] <= 0.08 and new["concept"] <= 0.08 and new["abstract"] <= 0.1
    assert old["memory"] >= 0.9
    # what ends at a memory, a concept, the abstract concept is still captured by it
    at_mem = hier.memories[:300] + 1e-3 * torch.randn(300, hier.nz, generator=g)
    assert nearest_level(at_mem, hier, scale.capture).share()["memory"] == 1.0
    at_con = nearest_level(hier.concepts + 1e-3, hier, scale.capture)
    assert at_con.names() == ["concept"] * 10 and at_con.concept.tolist() == list(range(10))
    assert nearest_level(hier.abstract[None] + 1e-3, hier, scale.capture).names() == ["abstract"]


def test_held_out_levels_encode_the_test_images(synth):
    from latentdyn.analysis.capture import held_out_levels

    data, _, hier, to_memory, _ = synth
    scale = hierarchy_scale(hier)
    held = held_out_levels(to_memory, hier, data.test_images, scale)
    assert held.n == data.test_images.shape[0]
    assert sum(held.shares.values()) == pytest.approx(1.0)
    # a training image is captured by its own memory: the rate is 1 on the training set
    assert held_out_levels(to_memory, hier, data.train_images, scale).shares["memory"] == 1.0


def test_own_memory_share_against_chance():
    hier, _, _ = gaussian_hierarchy(n=200)
    scale = hierarchy_scale(hier)
    idx = torch.tensor([0, 1, 2, 3, 4, 5])
    # each trial ends exactly at the memory of another trial's start, or far away
    ends = hier.memories[torch.tensor([1, 0, 3, 2, 4, 5])].clone()
    ends[4:] += 100.0
    e = classify_ends(ends, hier, hier.labels[idx], idx, scale.capture)
    assert e.share()["own_memory"] == 0.0 and e.share()["other_memory"] == 4 / 6
    # a random pairing of these ends with these starts hits the own memory 4/36 of the time
    assert e.own_memory_chance() == pytest.approx(4 / 36)
    e = classify_ends(hier.memories[idx], hier, hier.labels[idx], idx, scale.capture)
    assert e.share()["own_memory"] == 1.0 and e.own_memory_chance() == pytest.approx(1 / 6)


class Shift(nn.Module):
    """F(z) = z + v: a creep of ‖v‖ per step, with no fixed point."""

    def __init__(self, v):
        super().__init__()
        self.v = v

    def encode(self, x):
        return x

    def decode(self, z):
        return z + self.v


def test_slow_drift_is_not_converged():
    tol = 1e-3
    z = trajectories(Shift(torch.tensor([tol / 2, 0.0])), torch.tensor([[1.0, 0.0],
                                                                       [0.0, 2.0]]), 40)
    f = classify_fates(z, tol)
    # every step is below tol: the rule before issue 19 called both converged
    assert bool(f.last_step_below.all())
    # but over the last 10 steps they moved 5 tol: outward (drifting) and sideways
    # (unsettled); a creep of tol / 2 per step is no cycle either
    assert f.names() == ["drifting", "unsettled"] and f.step.tolist() == [-1, -1]
    assert sum(f.share().values()) == pytest.approx(1.0)
    # a trajectory at rest over its last steps is still converged, at the same step
    z = trajectories(Linear(0.5 * torch.eye(2)), torch.tensor([[1.0, 0.0]]), 40)
    f = classify_fates(z, tol)
    assert f.names() == ["converged"] and f.step.tolist() == [10]


class Ghost(nn.Module):
    """F(z) = z + c (1 − z / R): a slow stretch near 0, the one fixed point at z = R."""

    def __init__(self, c, R):
        super().__init__()
        self.c, self.R = c, R

    def encode(self, x):
        return x

    def decode(self, z):
        return z + self.c * (1 - z / self.R)


def test_a_newton_moved_leader_does_not_carry_the_basin():
    tol = 1e-4
    # 20 steps of about 1e-3 (< 50 tol) from 0: the starts end as candidates near 0.02,
    # and Newton's method jumps from there to the fixed point at (1, 1), far away
    fp = find_fixed_points(Ghost(1e-3, 1.0), torch.zeros(5, 2), max_steps=20, tol=tol)
    assert fp.n == 1 and float((fp.points[0] - 1).abs().max()) < 1e-4  # still reported
    assert fp.basin.tolist() == [0] and fp.assignment.tolist() == [-1] * 5
    assert float(fp.moved.min()) > 1.0  # the move, recorded for every start
    # from starts that iterate into the fixed point, the checked move keeps the basin
    fp = find_fixed_points(Ghost(0.5, 1.0), torch.zeros(5, 2), max_steps=100, tol=tol)
    assert fp.basin.tolist() == [5] and float(fp.moved.max()) <= 10 * tol


def test_contraction_at_memories_is_not_attraction_rho_at_fixed_points():
    """The cubic map, fixed points {-1, 0, 1}^2 known in closed form (ρ = 1/2 at the
    origin, ρ = 2 at the others), memories near (±0.5, ±0.5), which are not fixed."""
    from latentdyn.analysis import hierarchy_from_latents

    corners = torch.tensor([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])
    mem = corners.repeat_interleave(25, 0) + 0.02 * torch.randn(100, 2, generator=gen(9))
    hier = hierarchy_from_latents(mem, torch.arange(4).repeat_interleave(25))
    scale = hierarchy_scale(hier)
    st = memory_stability(Cubic(), hier, 40, fixed_tol=1e-5)
    # F'(z) = (3 z² + 1) / 2 ≈ 0.875 at every memory: the map contracts there, and the
    # old "attractor share" read 1; no memory is a fixed point, so none is an attractor
    assert st.contraction_share == 1.0 and st.fixed_share == 0.0
    assert st.fixed_attractor_share == 0.0
    # rho at the fixed points: three steps from the memories reach no fixed point; from
    # beside the eight others Newton finds them, every one repelling
    grid = torch.cartesian_prod(torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([-1.0, 0.0, 1.0]))
    starts = torch.cat([hier.memories, grid[(grid != 0).any(1)] * (1 + 1e-7)])
    fp = hierarchy_fixed_points(Cubic(), hier, starts, tol=1e-6, capture=scale.capture,
                                max_steps=3)
    assert fp.n == 8 and fp.attractor_share == 0.0
    assert float(fp.fixed.radius.min()) > 1.9 and bool((fp.fixed.assignment[:100] == -1).all())
    # with the origin among the starts: the one attracting fixed point, rho = 1/2
    fp = hierarchy_fixed_points(Cubic(), hier, torch.cat([starts, torch.zeros(1, 2)]),
                                tol=1e-6, capture=scale.capture, max_steps=3)
    assert fp.n == 9 and int(fp.fixed.stable.sum()) == 1
    assert fp.attractor_share == pytest.approx(1 / 9)
    origin = fp.fixed.points.abs().sum(1).argmin()
    assert abs(float(fp.fixed.radius[origin]) - 0.5) < 1e-4
    assert fp.nearest.names()[int(origin)] == "abstract"  # the mean of the memories
    assert memories_at_attractors(st, fp, hier, scale.capture) == 0.0
    assert sum(v["n"] for v in fp.by_level().values()) == 9
