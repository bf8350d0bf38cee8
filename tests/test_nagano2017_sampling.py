"""Paper 002's sampling dynamics: the chain with its posterior, the three distance
readings on toy models where each is known in closed form, the claims S1-S4 on
hand-built results, and `latentdyn reproduce nagano2017-sampling` end to end."""

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from latentdyn.analysis import build_hierarchy
from latentdyn.analysis.sampling import (
    READINGS,
    approach_escape,
    dip_bootstrap,
    dip_flags,
    distance_readings,
    level_values,
    memory_escape,
    nearest_memory,
    reading_course,
    readings_of,
    stage_bootstrap,
)
from latentdyn.analysis.trials import concept_time_course
from latentdyn.cli import main
from latentdyn.dynamics import run_dynamics
from latentdyn.dynamics.sampling import sample_chain
from latentdyn.errors import ConfigError, LatentdynError
from latentdyn.models import VAE, VAEConfig
from latentdyn.studies import nagano2017_sampling
from latentdyn.studies.nagano2017_sampling import claims as C
from latentdyn.studies.nagano2017_sampling import stages as S
from latentdyn.studies.nagano2017_sampling.stages import StageReading, StageSweep

DATA = "synthetic:m=20,side=6,test=5"  # 10 concepts, 200 memories of 36 pixels
D, NZ = 5, 3


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets run fastest on one thread, and the machine is shared."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def cli(*args) -> int:
    return main([str(a) for a in args])


# ------------------------------------------------------------------- toy models
class ConstantPosterior:
    """q(z|x) = N(m, s² I) whatever x is, p(x|z) = Bernoulli(1/2): every reading is
    known in closed form at every t."""

    def __init__(self, m, s):
        self.m, self.s = torch.as_tensor(m, dtype=torch.float64), float(s)

    def encode(self, x):
        mu = self.m.expand(x.shape[0], -1).clone()
        return mu, torch.full_like(mu, 2 * math.log(self.s))

    def decode(self, z):
        return torch.full((z.shape[0], D), 0.5, dtype=z.dtype)


class LinearGaussian:
    """A linear-Gaussian encoder with constant σ, μ(x) = x A, and a decoder that ignores
    z, p(x_d = 1) = q_d: for t >= 1 the x(t) are i.i.d. Bernoulli(q)."""

    def __init__(self, s=0.7, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.A = torch.randn(D, NZ, generator=g, dtype=torch.float64)
        self.q = torch.linspace(0.1, 0.9, D, dtype=torch.float64)
        self.s = s

    def encode(self, x):
        mu = x @ self.A
        return mu, torch.full_like(mu, 2 * math.log(self.s))

    def decode(self, z):
        return self.q.expand(z.shape[0], -1).clone()


def tiny_vae(seed=0, input_dim=36):
    torch.manual_seed(seed)
    return VAE(VAEConfig(input_dim=input_dim, hidden=16, nz=4)).eval()


def within(sample, expected, k=4.0):
    """The mean of ``sample`` lies within k standard errors of ``expected``."""
    sample = np.asarray(sample, dtype=float)
    se = sample.std(ddof=1) / math.sqrt(sample.size)
    return abs(sample.mean() - expected) < k * se


# ------------------------------------------------------------------- the chain
def test_chain_is_run_dynamics_sampling_with_its_posterior():
    model, x0 = tiny_vae(), torch.rand(7, 36)
    chain = sample_chain(model, x0, steps=5, record_x="all", generator=11)
    traj = run_dynamics(model, x0, steps=5, mode="sampling", record_x="all", generator=11)
    assert torch.equal(chain.z, traj.z) and torch.equal(chain.x, traj.x)  # bit for bit
    with torch.no_grad():
        mu, logvar = model.encode(chain.x.reshape(-1, 36))
    torch.testing.assert_close(chain.mu, mu.reshape(7, 6, 4))
    torch.testing.assert_close(chain.floor, logvar.exp().sum(-1).reshape(7, 6))
    assert set(chain.x[:, 1:].unique().tolist()) <= {0.0, 1.0}  # binary samples x(t)
    assert torch.equal(chain.x_at(0), x0)


def test_chain_is_deterministic_for_a_seed():
    model, x0 = tiny_vae(), torch.rand(6, 36)
    a = sample_chain(model, x0, steps=4, record_x=[0, 4], generator=3)
    b = sample_chain(model, x0, steps=4, record_x=[0, 4], generator=3)
    c = sample_chain(model, x0, steps=4, generator=4)
    assert all(torch.equal(u, v) for u, v in ((a.z, b.z), (a.mu, b.mu), (a.floor, b.floor),
                                              (a.x, b.x)))
    assert not torch.equal(a.z, c.z) and c.x is None
    whole = sample_chain(model, x0, steps=4, generator=3, chunk_size=6)
    assert torch.equal(whole.z, a.z)


def test_chain_needs_a_gaussian_posterior():
    class MeanOnly:
        def encode(self, x):
            return x[:, :2]

        def decode(self, z):
            return torch.sigmoid(z.repeat(1, 3))

    with pytest.raises(ConfigError, match="log-variance"):
        sample_chain(MeanOnly(), torch.rand(3, 6), steps=2, generator=0)
    with pytest.raises(ConfigError, match="steps"):
        sample_chain(tiny_vae(), torch.rand(3, 36), steps=-1)


# ------------------------------------------------------- readings in closed form
def test_readings_of_a_constant_posterior():
    m, s, xi = torch.tensor([1.0, -2.0, 0.5]), 0.8, torch.tensor([0.0, 0.5, 0.5])
    chain = sample_chain(ConstantPosterior(m, s), torch.rand(4000, D, dtype=torch.float64),
                         steps=3, generator=0)
    r = readings_of(chain, xi)
    mean_sq, floor = float(((m - xi) ** 2).sum()), NZ * s ** 2  # 6.5 and 1.92
    # posterior mean and floor: exact at every trial and step
    torch.testing.assert_close(r.mean, torch.full_like(r.mean, math.sqrt(mean_sq)))
    torch.testing.assert_close(r.floor, torch.full_like(r.floor, floor))
    # E||z - xi||^2 = ||mu - xi||^2 + sum sigma^2 ...
    assert within(r.raw.pow(2), mean_sq + floor) and not within(r.raw.pow(2), mean_sq)
    # ... so the corrected reading is ||mu - xi||^2 in expectation, the floor removed
    assert within(r.corrected, mean_sq) and not within(r.corrected, mean_sq + floor)
    # the unsquared raw distance: ||z - xi|| / s is noncentral chi with NZ dof
    expected_raw = s * stats.ncx2(NZ, mean_sq / s ** 2).expect(np.sqrt)
    assert within(r.raw, expected_raw) and not within(r.raw, math.sqrt(mean_sq + floor))
    torch.testing.assert_close(r.corrected.double(), r.raw.double() ** 2 - floor)


def test_readings_along_a_linear_gaussian_chain():
    model = LinearGaussian()
    x0 = torch.zeros(4000, D, dtype=torch.float64)
    x0[:, 0] = 1.0
    xi = torch.tensor([0.3, -0.2, 1.0], dtype=torch.float64)
    r = readings_of(sample_chain(model, x0, steps=2, generator=1), xi)
    A, q = model.A, model.q
    # t = 0: mu(x0) is fixed, so the mean reading is exact
    torch.testing.assert_close(r.mean[:, 0], torch.full((4000,), float((A[0] - xi).norm()),
                                                      dtype=torch.float64))
    # t >= 1: x ~ Bernoulli(q), so mu = xA has mean qA and variance sum_d A_du^2 q_d(1-q_d)
    mean_sq = float(((q @ A - xi) ** 2).sum() + (A ** 2 * (q * (1 - q))[:, None]).sum())
    floor = NZ * model.s ** 2
    for t in (1, 2):
        assert within(r.mean[:, t] ** 2, mean_sq)
        assert within(r.raw[:, t] ** 2, mean_sq + floor)
        assert within(r.corrected[:, t], mean_sq) and not within(r.corrected[:, t],
                                                                 mean_sq + floor)


def test_readings_check_their_input():
    z = torch.zeros(2, 3, 4)
    with pytest.raises(ConfigError, match="must be"):
        distance_readings(z, z, torch.zeros(2, 4), torch.zeros(4))
    with pytest.raises(ConfigError, match="negative"):
        distance_readings(z, z, -torch.ones(2, 3), torch.zeros(4))
    with pytest.raises(ConfigError, match="unknown reading"):
        distance_readings(z, z, torch.zeros(2, 3), torch.zeros(4)).of("sqrt")


# ------------------------------------------------------------ dips and escapes
def _v_curves(n=40, T=10, t_star=2, depth=4.0, rise=3.0, noise=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(T + 1, dtype=torch.float64)
    base = torch.where(t <= t_star, depth * (1 - t / t_star), rise * (t - t_star) / (T - t_star))
    return base + noise * torch.randn(n, T + 1, generator=g, dtype=torch.float64)


def test_approach_escape_rates_of_a_known_dip():
    assert reading_course(_v_curves(noise=0.0)).dip["t_star"] == 2
    course = reading_course(_v_curves())
    e = approach_escape(course.dip)
    assert course.dip["has_dip"] and math.isclose(e["approach_rate"], 2.0, rel_tol=0.05)
    assert math.isclose(e["escape_rate"], 3.0 / 8, rel_tol=0.1) and e["fast_slow"]
    slow_in = reading_course(_v_curves(t_star=8, depth=1.0, rise=3.0))
    assert slow_in.dip["has_dip"] and not slow_in.dip["fast_slow"]


def test_numpy_dip_rule_agrees_with_the_reading_course():
    g = torch.Generator().manual_seed(5)
    cases = [_v_curves(noise=s, seed=k) for k, s in enumerate((0.1, 1.0, 3.0, 6.0))]
    cases += [torch.randn(30, 9, generator=g, dtype=torch.float64).cumsum(1) for _ in range(8)]
    for d in cases:
        dip = reading_course(d).dip
        assert dip_flags(d.numpy()).tolist() == [float(dip["has_dip"]), float(dip["fast_slow"])]
    boot = dip_bootstrap(cases[0], n_resamples=20, seed=1)
    assert boot.samples.shape == (20, 2) and boot.samples[:, 0].mean() == 1.0


def test_nearest_memory_and_escape_in_each_reading():
    memories = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 4.0]])
    z = torch.tensor([[9.0, 0.0], [0.0, 3.0]])
    mu = torch.tensor([[1.0, 0.0], [5.0, 0.0]])
    d2, idx = nearest_memory(z, memories)
    assert idx.tolist() == [1, 2] and d2.tolist() == [1.0, 1.0]
    concepts, floor = torch.tensor([[3.0, 0.0], [0.0, 0.0]]), torch.tensor([0.5, 2.0])
    # the nearest memory chosen by the sample z (the rule before issue 19)
    raw = memory_escape(z, mu, floor, memories, concepts, "raw", select="sample")
    assert raw.to_memory.tolist() == [1.0, 1.0] and raw.to_concept.tolist() == [6.0, 3.0]
    mean = memory_escape(z, mu, floor, memories, concepts, "mean")
    assert mean.nearest.tolist() == [0, 0] and mean.margin.tolist() == [2.0 - 1.0, 5.0 - 5.0]
    cor = memory_escape(z, mu, floor, memories, concepts, "corrected", select="sample")
    assert cor.to_memory.tolist() == [0.5, -1.0] and cor.to_concept.tolist() == [35.5, 7.0]
    # chosen by the posterior mean (issue 19): mu = (1, 0) is nearest memory 0, and the
    # sample's distance to that memory is read
    raw = memory_escape(z[:1], mu[:1], floor[:1], memories, concepts[:1], "raw")
    assert raw.nearest.tolist() == [0] and raw.to_memory.tolist() == [9.0]
    cor = memory_escape(z[:1], mu[:1], floor[:1], memories, concepts[:1], "corrected")
    assert cor.to_memory.tolist() == [81.0 - 0.5] and cor.to_concept.tolist() == [35.5]
    # the mean reading reads mu: the sample plays no part in its choice, old or new
    old = memory_escape(z, mu, floor, memories, concepts, "mean", select="sample")
    assert old.nearest.tolist() == mean.nearest.tolist() == [0, 0]
    with pytest.raises(ConfigError, match="select"):
        memory_escape(z, mu, floor, memories, concepts, "raw", select="nearest")


def test_nearest_memory_by_the_sample_is_biased_low_by_the_posterior_mean_not():
    """Known answer: for z = mu + sigma eps, E[||z - xi||^2 - sum sigma^2] = ||mu - xi||^2
    for any xi chosen without looking at eps; the memory nearest mu is such a xi, the
    memory nearest z (the choice before issue 19) is not."""
    g = torch.Generator().manual_seed(0)
    nz, n, sigma = 20, 2000, 0.5
    memories, mu = torch.randn(2000, nz, generator=g), torch.randn(n, nz, generator=g)
    z = mu + sigma * torch.randn(n, nz, generator=g)
    floor, concepts = torch.full((n,), nz * sigma ** 2), torch.zeros(n, nz)
    truth = torch.cdist(mu.double(), memories.double()).min(1).values.pow(2)
    err = {}
    for select in ("mean", "sample"):
        e = memory_escape(z, mu, floor, memories, concepts, "corrected", select)
        d = (e.to_memory - truth).double()
        err[select] = (float(d.mean()), float(d.std() / math.sqrt(n)))
    assert abs(err["mean"][0]) < 3 * err["mean"][1]  # unbiased
    assert err["sample"][0] < -10 * err["sample"][1]  # biased low, far beyond its SE
    raw = {s: float(memory_escape(z, mu, floor, memories, concepts, "raw", s).to_memory.mean())
           for s in ("mean", "sample")}
    assert raw["sample"] < 0.95 * raw["mean"]  # the raw reading too


def test_level_values_per_reading():
    curves = torch.tensor([[3.0, 1.0, 5.0], [3.0, 4.0, 0.0]])
    assert level_values(curves, "raw").tolist() == [1.0, 0.0]  # per-trial minima
    # corrected: the trial-mean curve is lowest at t = 1, every trial read there
    assert level_values(curves, "corrected").tolist() == [1.0, 4.0]


def test_stage_bootstrap_on_clear_and_absent_stages():
    n, T = 30, 4
    g = torch.Generator().manual_seed(0)

    def level(value):
        return value + 0.1 * torch.randn(n, T + 1, generator=g)

    clear = [{"memory": level(1), "concept": level(2), "abstract": level(3)},
             {"memory": level(3), "concept": level(1), "abstract": level(2)},
             {"memory": level(3), "concept": level(2), "abstract": level(1)}]
    b = stage_bootstrap(clear, "raw", n_resamples=50, seed=0)
    assert b.ordered == 1.0 and set(b.concept_width.tolist()) == {1}
    assert stage_bootstrap(clear, "corrected", n_resamples=50).ordered == 1.0
    absent = [{"memory": level(1), "concept": level(2), "abstract": level(3)}] * 3
    assert stage_bootstrap(absent, "mean", n_resamples=50).ordered == 0.0


# ------------------------------------------------------------- claims, by hand
def _readings(per_label_curves, resamples=30):
    """ConceptReadings of hand-built curves: the same curves in every reading, the
    escape rule given as ``(holds at T, holds at t*)`` per label."""
    classes = sorted(per_label_curves)
    res = S.ConceptReadings(classes, 40, 0.2, {r: {} for r in READINGS},
                            {r: {} for r in READINGS}, {r: {} for r in READINGS})
    for c, (curves, holds) in per_label_curves.items():
        for r in READINGS:
            res.courses[r][c] = reading_course(curves)
            res.boots[r][c] = dip_bootstrap(curves, resamples, seed=c)
            res.escape[r][c] = {"holds": holds[0], "holds_at_t_star": holds[1],
                                "margin_T": 1.0, "same_label_T": 1.0,
                                "holds_old": True, "margin_T_old": 2.0,
                                "boot": np.full(resamples, float(holds[0]))}
        res.floor_dips[c] = [0.0, 0.0]
    return res


def test_claims_s1_s3_need_every_label():
    dip, flat = _v_curves(), _v_curves(depth=0.0, rise=0.0, noise=1.0, seed=3)
    good = _readings({0: (dip, (True, False)), 1: (dip, (True, False))})
    claims = {c.id: c for c in [f(good, r) for f in (C.claim_dip, C.claim_fast_slow,
                                                    C.claim_escape) for r in READINGS]}
    assert set(claims) == {f"S{k}-{t}" for k in (1, 2, 3) for t in ("raw", "mu", "cor")}
    assert all(c.verdict == "reproduced" for c in claims.values())
    c = claims["S1-mu"]
    assert c.reading == "mean" and c.interval == (2.0, 2.0) and c.stability == 1.0
    assert c.null == 0 and c.method and c.sections == ("Fig. 2b",)
    # S3 names how its memory is chosen and shows the old choice's count beside
    assert "posterior mean" in claims["S3-raw"].statistic
    assert "chosen by the noisy sample z(T) (the rule before issue 19, biased toward the " \
           "memory) 2 of 2 labels" in claims["S3-raw"].details
    bad = _readings({0: (dip, (True, True)), 1: (flat, (False, False))})
    s1, s3 = C.claim_dip(bad, "raw"), C.claim_escape(bad, "raw")
    assert s1.verdict == "NOT reproduced" and s1.run_value == "1 of 2"
    assert s3.verdict == "NOT reproduced" and s3.null == 1  # label 0 at the memory at t*


def test_claim_s4_on_the_stages():
    def reading(closest, ordered_share):
        boot = S.StageBootstrap([], ordered_share, np.array([1, 1, 2]), "by hand")
        ps = [0.0, 0.5, 1.0]
        from latentdyn.analysis import stage_intervals, stages_ordered
        return StageReading({}, {}, closest, stage_intervals(ps, closest),
                            stages_ordered(closest), ["memory"] * 3,
                            stage_intervals(ps, ["memory"] * 3), boot)

    sweep = StageSweep([0.0, 0.5, 1.0], 10, {
        "raw": reading(["memory", "concept", "abstract"], 0.7),
        "mean": reading(["memory", "abstract", "concept"], 0.1),
        "corrected": reading(["memory", "memory", "abstract"], 0.0)}, [1.0, 1.0, 1.0])
    got = {r: C.claim_stages(sweep, r) for r in READINGS}
    assert got["raw"].verdict == "reproduced" and got["raw"].stability == 0.7
    assert got["raw"].null == "memory [0, 1]" and got["raw"].interval == (1.0, 2.0)
    assert got["mean"].verdict == got["corrected"].verdict == "NOT reproduced"


# ---------------------------------------------------------------- the stages
def test_raw_reading_is_nagano2017_sampling_fig2(tmp_path):
    """Same trials, same chain: the raw reading is `reproduce nagano2017 --mode
    sampling`'s distance to the concept."""
    from latentdyn.data import load_dataset

    data, model = load_dataset(DATA), tiny_vae()
    hier = build_hierarchy(model, data.train_images, data.train_labels)
    exp = S.experiment(data, 6, "swap", 0)
    res = S.courses_stage(model, hier, exp, 8, 0.2, 20, "cpu", False)
    for c in (0, 6):
        tc = concept_time_course(model, hier, data.train_images, data.train_labels, c, 8, 0.2,
                                 "swap", 6, "sampling", seed=101 * (c + 1))
        torch.testing.assert_close(res.courses["raw"][c].mean, tc.mean.double(),
                                   check_dtype=False)


# ------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("n17s") / "a"
    assert cli("reproduce", "nagano2017-sampling", "--profile", "smoke", "--dataset", DATA,
               "--nz", 6, "--out", out, "--quiet", "--device", "cpu") == 0
    return out


def test_reproduce_writes_figures_data_scorecard_and_report(smoke):
    for stem in ("fig2a_sequence", "fig2b_distance", "fig3_stages"):
        assert (smoke / "figures" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (smoke / "figures" / f"{stem}.pdf").read_bytes()[:4] == b"%PDF"
        assert (smoke / "data" / f"{stem}.csv").stat().st_size > 0
    card = json.loads((smoke / "claims.json").read_text())["claims"]
    assert [c["id"] for c in card] == [f"S{k}-{t}" for k in (1, 2, 3, 4)
                                       for t in ("raw", "mu", "cor")]
    assert [c["reading"] for c in card] == list(READINGS) * 4
    for c in card:
        assert c["verdict"] in ("reproduced", "NOT reproduced")
        assert c["interval"] is not None and 0 <= c["stability"] <= 1 and c["method"]
        assert c["null"] is not None and c["null_name"]
    html = (smoke / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and "noise floor" in html
    manifest = json.loads((smoke / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["config"]["mode"] == "sampling"
    assert manifest["command"][:3] == ["latentdyn", "reproduce", "nagano2017-sampling"]
    assert manifest["noise_floor"]["rms_sigma"] > 0 and manifest["data"]["checksums"]
    fig3 = json.loads((smoke / "data" / "fig3_stages.json").read_text())
    assert set(READINGS) <= set(fig3) and len(fig3["raw"]["closest"]) == 4
    assert (smoke / "model" / "model.safetensors").is_file()


def test_reproduce_is_deterministic_and_reuses_a_nagano2017_model(smoke, tmp_path, capsys):
    again = tmp_path / "b"
    # --model: the folder of a result holding model/ (as `reproduce nagano2017` writes)
    assert cli("reproduce", "nagano2017-sampling", "--profile", "smoke", "--dataset", DATA,
               "--out", again, "--quiet", "--device", "cpu", "--model", smoke) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"report: {again / 'report.html'}; ")
    for name in ("fig2a_sequence.csv", "fig2b_distance.csv", "fig3_stages.csv",
                 "fig2b_dips.json", "escape.json"):
        assert (smoke / "data" / name).read_bytes() == (again / "data" / name).read_bytes()
    a = json.loads((smoke / "claims.json").read_text())["claims"]
    b = json.loads((again / "claims.json").read_text())["claims"]
    assert a == b


def test_run_takes_a_model_object(smoke, tmp_path):
    """`run(model=...)` takes a loaded VAE as well as a run folder: the same results."""
    from latentdyn.train.runs import load_run

    model = load_run(smoke / "model").model
    out = nagano2017_sampling.run("smoke", tmp_path / "obj", dataset=DATA, model=model,
                                  device="cpu", quiet=True)
    for name in ("fig2b_distance.csv", "fig3_stages.csv"):
        assert (smoke / "data" / name).read_bytes() == (out / "data" / name).read_bytes()
    assert json.loads((out / "manifest.json").read_text())["model_run"] == "<VAE object>"
    with pytest.raises(LatentdynError):  # not a model
        nagano2017_sampling.run("smoke", tmp_path / "bad", dataset=DATA, model=object(),
                                device="cpu", quiet=True)
    assert not (tmp_path / "bad").exists()


def test_seeds_two_count_the_seeds_that_reproduce_each_claim(smoke, tmp_path):
    out = tmp_path / "two"
    assert cli("reproduce", "nagano2017-sampling", "--profile", "smoke", "--dataset", DATA,
               "--nz", 6, "--out", out, "--quiet", "--device", "cpu", "--seeds", 2) == 0
    one = json.loads((smoke / "claims.json").read_text())["claims"]
    two = json.loads((out / "claims.json").read_text())["claims"]
    assert [c["id"] for c in two] == [c["id"] for c in one]
    for b in two:  # the verdict and values are the first seed's; both seeds counted
        assert b["seeds"]["of"] == 2 and b["seeds"]["seeds"] == [0, 1]
        assert len(b["seeds"]["verdicts"]) == 2
    assert (out / "model-seed1" / "model.safetensors").is_file()
    assert " of 2 seeds" in (out / "report.html").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == [0, 1] and "fig3 seed1" in manifest["timings"]


@pytest.mark.parametrize("args, message", [
    (["--trials", 1], "trials"),
    (["--steps", 1], "steps"),
    (["--noise", "blur"], "unknown noise"),
    (["--dataset", "nope"], "unknown data set"),
    (["--dataset", "synthetic:k=3,m=5,side=6,test=2"], "label 6"),
    (["--model", "nothing-here"], "run folder"),
    (["--trials", 10 ** 12], "choose fewer --trials"),
    (["--seeds", 0], "--seeds must be a positive integer"),
    (["--seeds", 2, "--seed", 2 ** 32 - 1], "the last seed of --seeds 2"),
    (["--seeds", 2, "--model", "somewhere"], "--model gives one"),
])
def test_reproduce_bad_options(tmp_path, capsys, args, message):
    assert cli("reproduce", "nagano2017-sampling", "--profile", "smoke", "--dataset", DATA,
               "--out", tmp_path / "x", "--quiet", *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err
    assert not (tmp_path / "x").exists()


def test_reproduce_refuses_another_kind_and_other_settings(smoke, tmp_path, capsys):
    other = tmp_path / "clf"  # a real run of another kind (a VAE's weights under a
    # classifier's config are refused earlier, as damaged)
    assert cli("classifier", "train", "--dataset", DATA, "--epochs", 1, "--batch-size", 16,
               "--option", "conv1=2", "--option", "conv2=2", "--option", "dense=4",
               "--device", "cpu", "--quiet", "--out", other) == 0
    assert cli("reproduce", "nagano2017-sampling", "--profile", "smoke", "--dataset", DATA,
               "--model", other, "--out", tmp_path / "y", "--quiet") == 2
    assert "'classifier' run" in capsys.readouterr().err and not (tmp_path / "y").exists()
    before = (smoke / "claims.json").read_bytes()
    assert cli("reproduce", "nagano2017-sampling", "--profile", "smoke", "--dataset", DATA,
               "--seed", 3, "--out", smoke, "--quiet") == 2
    assert "another setting" in capsys.readouterr().err
    assert (smoke / "claims.json").read_bytes() == before


def test_run_checks_before_writing(tmp_path):
    with pytest.raises(LatentdynError, match="unknown profile"):
        nagano2017_sampling.run("tiny", tmp_path / "x", dataset=DATA, quiet=True)
    with pytest.raises(LatentdynError, match="seed"):
        nagano2017_sampling.run("smoke", tmp_path / "x", dataset=DATA, seed=-1, quiet=True)
    assert not (tmp_path / "x").exists()
    assert list(nagano2017_sampling.PROFILES) == ["quick", "paper", "smoke"]
    assert nagano2017_sampling.PROFILES["paper"].trials_fig2b == 500


def test_a_given_model_is_described_by_its_own_run(smoke, tmp_path, capsys):
    """Item 12 of issue 19: with --model the manifest and the notes state the run's Nz,
    epochs and hidden width (not the profile's), its data set is used when --dataset is
    not given, and an option that contradicts the run is refused in one line."""
    run = json.loads((smoke / "model" / "config.json").read_text())
    out = tmp_path / "given"
    assert cli("reproduce", "nagano2017-sampling", "--profile", "quick", "--model", smoke,
               "--trials", 4, "--steps", 3, "--out", out, "--quiet", "--device", "cpu") == 0
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert (config["nz"], config["epochs"], config["hidden"], config["dataset"]) == (
        run["nz"], run["epochs"], run["hidden"], DATA)
    html = (out / "report.html").read_text()
    assert f"the given VAE was trained for {run['epochs']} epochs" in html
    assert f"Nz = {run['nz']}" in html
    for args, flag in ((("--nz", 100), f"--nz 100 (the run has {run['nz']})"),
                       (("--epochs", 30), f"--epochs 30 (the run has {run['epochs']})"),
                       (("--dataset", "mnist-embedded"), "--dataset mnist-embedded")):
        bad = tmp_path / f"bad{args[0][2:]}"
        assert cli("reproduce", "nagano2017-sampling", "--profile", "smoke", "--model", smoke,
                   "--out", bad, "--quiet", *args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and flag in err and "\n" not in err
        assert not bad.exists()
