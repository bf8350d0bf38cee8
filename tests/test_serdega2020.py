import json

import numpy as np
import pytest

from latentdyn.cli import main
from latentdyn.errors import ConfigError, LatentdynError
from latentdyn.studies import serdega2020 as study
from latentdyn.studies.serdega2020.claims import (ACC_GAIN, accuracy_claim, family_claims,
                                                    gap_claim, mi_gain_claim)
from latentdyn.studies.serdega2020.measures import Measures

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """One toy-size end-to-end run of the command (the 'smoke' profile)."""
    out = tmp_path_factory.mktemp("serdega") / "out"
    rc = main(["reproduce", "serdega2020", "--profile", "smoke", "--out", str(out), "--quiet",
               "--device", "cpu"])
    assert rc == 0
    return out


def test_scorecard_and_manifest(result):
    card = json.loads((result / "claims.json").read_text())
    ids = [c["id"] for c in card["claims"]]
    assert ids == ["S1-joint", "S2-joint", "S3-joint"]
    assert card["summary"]["total"] == 3
    for c in card["claims"]:
        assert c["verdict"] in ("reproduced", "NOT reproduced")
        assert c["threshold"] and c["run_value"] is not None
    assert "Rules (fixed in code before the run)" in (result / "claims.md").read_text()
    manifest = json.loads((result / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["config"]["name"] == "smoke" and manifest["config"]["lam_joint"] > 0
    assert manifest["claims"]["total"] == 3
    (data_name, info), = manifest["data"].items()
    assert data_name.startswith("synthetic") and info["checksums"]
    assert any(k.startswith("train joint lam0") for k in manifest["timings"])


def test_figures_data_and_runs(result):
    figs = {p.name for p in (result / "figures").iterdir()}
    for stem in ("mi_per_code_joint", "concept_attraction_joint", "categorical_timecourse_joint",
                 "traversal_cat_lam0_joint", "train_elbo_joint"):
        assert f"{stem}.png" in figs and f"{stem}.pdf" in figs, stem
    assert any(n.startswith("traversal_z0_") for n in figs)
    rows = (result / "data" / "mi_codes_joint.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert header[:6] == ["dataset", "family", "lam", "seed", "fit", "code"]
    # 2 models x 2 fits x (3 Gaussian units + cat)
    assert len(rows) == 1 + 2 * 2 * 4
    summary = (result / "data" / "summary_joint.csv").read_text()
    assert "test_elbo" in summary and "cat_acc" in summary and "mi_cat" in summary
    runs = sorted(p.name for p in (result / "runs").iterdir() for p in p.iterdir())
    assert runs == ["joint-lam0-seed0", f"joint-lam{study.PROFILES['smoke'].lam_joint:g}-seed0"]
    cfg = json.loads((result / "runs" / next((result / "runs").iterdir()).name
                      / "joint-lam0-seed0" / "config.json").read_text())
    assert cfg["model"] == "vmi" and cfg["model_options"]["lam"] == 0.0


def test_report(result):
    page = (result / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Serdega" in page and "Claims scorecard" in page
    assert "smoke" in page and "reduced" in page  # the reduced settings are stated
    assert "Concept attraction with and without the MI term" in page
    assert page.count("data:image/png;base64,") >= 8


def test_profiles_and_errors(capsys):
    assert list(study.PROFILES) == ["quick", "paper", "smoke"]
    with pytest.raises(ConfigError, match="unknown profile"):
        study.run("bogus", "unused")
    with pytest.raises(ConfigError, match="lam"):
        study.run("smoke", "unused", lam=-1.0)
    assert main(["reproduce", "serdega2020", "--profile", "bogus"]) == 2
    assert main(["reproduce", "serdega2020", "--help"]) == 0
    text = capsys.readouterr().out
    assert "quick" in text and "paper" in text and "smoke" in text and "tiny" not in text


def test_bad_options_leave_out_untouched(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="lam"):
        study.run("smoke", out, lam=float("nan"))
    with pytest.raises(ConfigError, match="at most"):  # refused before it trains
        study.run("smoke", out, lam=1e30)
    with pytest.raises(ConfigError, match="seeds"):
        study.run("smoke", out, seeds=[0, 0])
    with pytest.raises(LatentdynError):
        study.run("smoke", out, datasets=["no-such-data"])
    assert main(["reproduce", "serdega2020", "--profile", "smoke", "--out", str(out),
                 "--seeds", "a"]) == 2
    assert not out.exists()


def test_cli_prints_one_line(tmp_path, capsys):
    # stdout is finish()'s line only (progress and the scorecard go to stderr)
    out = tmp_path / "again"
    assert main(["reproduce", "serdega2020", "--profile", "smoke", "--out", str(out), "--quiet",
                 "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"report: {out / 'report.html'}; ")
    assert "of 3 claims reproduced" in lines[0]


# --------------------------------------------------------------------------- claims
CODES = ["z0", "z1", "cat"]


def _code_acc(acc, n=400, chance=0.1, seed=0):
    """A CodeAccuracy with ``acc`` of ``n`` test images right and a chance of ``chance``."""
    from latentdyn.analysis.mi import CodeAccuracy
    from latentdyn.analysis.uncertainty import Null

    correct = np.zeros(n)
    correct[np.random.default_rng(seed).permutation(n)[:round(acc * n)]] = 1.0
    null = Null(np.full(20, chance), chance, chance + 0.01, 0.95, 0)
    return CodeAccuracy(float(correct.mean()), correct, list(range(10)), acc + 0.05, null)


def _measures(family="joint", chosen=("z0", "cat"), up=None, seeds=1, sd=0.01,
              acc=((0.3,), (0.5,)), gap=None):
    """Measures from bounds per (seed, fit): 0.1 at λ = 0 and ``up`` (code -> mean) at
    λ > 0, the three fits of a model off by +``sd``, −``sd`` and 0; ``gap``: (gap at
    λ = 0, gap at λ > 0) per fit."""
    from latentdyn.studies.serdega2020.measures import mean_sd

    up = up or {}
    wiggle = sd * np.tile([1.0, -1.0, 0.0], (seeds, 1))
    bounds = {0.0: {c: 0.1 + wiggle for c in CODES},
              10.0: {c: up.get(c, 0.1) + wiggle for c in CODES}}
    gap_units = {} if gap is None else {0.0: gap[0] + wiggle, 10.0: gap[1] + wiggle}
    return Measures(
        tag=family, family=family, lams=(0.0, 10.0), n_seeds=seeds, codes=CODES,
        chosen=set(chosen),
        stats={lam: {c: mean_sd(b.ravel()) for c, b in bounds[lam].items()} for lam in bounds},
        gaps={lam: g.ravel().tolist() for lam, g in gap_units.items()},
        test_elbo={0.0: [-40.0] * seeds, 10.0: [-41.0] * seeds},
        cat_acc={0.0: [None] * seeds, 10.0: [None] * seeds}, seeds=list(range(seeds)),
        bounds=bounds, gap_units=gap_units,
        code_acc={0.0: [_code_acc(a, seed=i) for i, a in enumerate(acc[0])],
                  10.0: [_code_acc(a, seed=9 + i) for i, a in enumerate(acc[1])]})


def test_mi_gain_claim():
    up = {"z0": 1.0, "cat": 2.0}
    c = mi_gain_claim(_measures(up=up))
    assert c.id == "S1-joint" and c.reproduced is True
    assert list(c.run_value) == ["z0", "cat"] and c.run_value["z0"] == 0.9
    assert c.stability == 1.0 and c.interval[0] <= 0.9 <= c.interval[1]
    assert "seed sd (λ=0) not measured (one seed)" in c.details
    assert "Q fits of the one training seed" in c.method  # nothing else to resample
    # one chosen code does not rise by 2 floors: not reproduced
    c = mi_gain_claim(_measures(up={**up, "cat": 0.11}))
    assert c.reproduced is False and "cat" in c.reading and c.null > 0
    # nothing chosen: not evaluated
    assert mi_gain_claim(_measures(chosen=())).reproduced is None


def test_s1_floor_includes_the_spread_over_training_seeds():
    """A rise that clears the fit-to-fit spread but not the seed-to-seed one fails."""
    m = _measures(up={"z0": 0.2, "cat": 0.2}, seeds=2, sd=0.001)
    assert mi_gain_claim(m).reproduced is True  # seeds agree: the floor is tiny
    for lam in m.lams:  # the second seed's models differ by 0.3 nats
        for c in CODES:
            m.bounds[lam][c][1] += 0.3
    c = mi_gain_claim(m)
    assert c.reproduced is False and "seed sd (λ>0) 0.2" in c.details
    assert "rule before issue 11" in c.details and "floor before issue 19" in c.details
    assert "nested: training seeds resampled, then Q fits" in c.method


def nested_units(rng, n_seeds, n_fits, sd_seed, sd_fit, mean=0.0):
    """Bounds of n_seeds trained models, n_fits Q fits each: a model's own offset
    (sd ``sd_seed``) plus the fit's (sd ``sd_fit``)."""
    return (mean + sd_seed * rng.standard_normal((n_seeds, 1))
            + sd_fit * rng.standard_normal((n_seeds, n_fits)))


def test_floor_counts_the_fit_variance_once():
    """Known answer: one (seed, fit) unit varies by sd_seed² + sd_fit²; the sd of the
    per-model means already holds sd_fit² / n_fits, which the floor before issue 19
    added to sd_fit² again."""
    from latentdyn.studies.serdega2020.measures import floor_sd, spread

    rng = np.random.default_rng(0)
    u0, u1 = (nested_units(rng, 4000, 2, 0.5, 1.0) for _ in range(2))
    sd_fit, sd_seed = spread(u0)
    assert abs(sd_fit - 1.0) < 0.03 and abs(sd_seed - 0.5) < 0.03
    floor, parts = floor_sd(u0, u1)
    assert abs(floor - np.sqrt(2 * (0.5 ** 2 + 1.0))) < 0.04  # 1.58
    old, _ = floor_sd(u0, u1, old=True)
    assert abs(old - np.sqrt(2 * (0.5 ** 2 + 1.0 + 1.0 / 2))) < 0.04  # 1.87: fits twice
    # with one seed the seed part is not measured, and only the fit part is left
    assert spread(u0[:1])[1] is None and floor_sd(u0[:1], u1[:1])[0] < 1.5


def test_nested_bootstrap_covers_where_the_flat_one_does_not():
    """Known answer: the mean rise is 0 in truth; models (seeds) differ by more than
    their Q fits. Resampling (seed, fit) units as if independent (before issue 19)
    leaves the seed-to-seed variation out of the interval; resampling seeds, then fits
    within them, keeps it."""
    from latentdyn.analysis.uncertainty import bootstrap
    from latentdyn.studies.serdega2020.measures import nested_bootstrap

    rng = np.random.default_rng(1)
    cover = {"nested": 0, "flat": 0}
    reps = 200
    for rep in range(reps):
        u0, u1 = (nested_units(rng, 8, 5, 1.0, 0.5) for _ in range(2))

        def rise(a, b):
            return b.mean() - a.mean()

        b = nested_bootstrap((u0, u1), rise, n_resamples=300, level=0.95, seed=rep)
        cover["nested"] += b.low <= 0 <= b.high
        b = bootstrap((u0.ravel(), u1.ravel()), rise, n_resamples=300, seed=rep)
        cover["flat"] += b.low <= 0 <= b.high
    assert cover["nested"] >= 0.8 * reps  # 0.89 here (8 seeds: the percentile bootstrap
    assert cover["flat"] <= 0.75 * reps  # of few units is a little short); flat: 0.61


def test_gap_claim():
    assert gap_claim(_measures()) is None  # no gaps without chosen and unchosen units
    c = gap_claim(_measures(gap=(0.005, 0.51)))
    assert c.id == "S2-joint" and c.reproduced is True
    assert c.run_value == {"gap λ>0": 0.51, "gap λ=0": 0.005}
    assert c.interval[0] <= 0.505 <= c.interval[1] and c.stability == 1.0
    assert gap_claim(_measures(gap=(0.005, -0.45))).reproduced is False


def test_accuracy_claim():
    assert accuracy_claim(_measures(family="gauss")) is None
    c = accuracy_claim(_measures(acc=((0.3,), (0.3 + 2 * ACC_GAIN,))))
    assert c.id == "S3-joint" and c.reproduced is True
    assert c.details.startswith("one training seed") and "cluster purity" in c.details
    assert c.null == 0.1 and c.interval[0] < 2 * ACC_GAIN < c.interval[1]
    assert 0.5 < c.stability <= 1.0
    c = accuracy_claim(_measures(seeds=2, acc=((0.3, 0.32), (0.31, 0.33))))
    assert c.reproduced is False and c.details.startswith("sd over seeds")
    # a gain that stays at chance is not an improvement
    c = accuracy_claim(_measures(acc=((0.0,), (0.1,))))
    assert c.reproduced is False
    ids = [c.id for c in family_claims(_measures(gap=(0.0, 0.1)))]
    assert ids == ["S1-joint", "S2-joint", "S3-joint"]


def test_seed_image_bootstrap_covers_the_true_accuracy():
    """The interval over seeds and images covers the true difference in most of many
    seeded repetitions (nominal 95 %)."""
    from latentdyn.studies.serdega2020.measures import seed_image_bootstrap

    rng = np.random.default_rng(0)
    hits = 0
    for rep in range(40):
        c0 = (rng.random((2, 300)) < 0.4).astype(float)
        c1 = (rng.random((2, 300)) < 0.5).astype(float)
        s = seed_image_bootstrap(c0, c1, n_resamples=200, seed=rep)
        lo, hi = np.percentile(s[:, 1] - s[:, 0], [2.5, 97.5])
        hits += lo <= 0.1 <= hi
    assert hits >= 34


def test_seeds_count_or_list():
    from latentdyn.studies.serdega2020.params import parse_seeds
    from latentdyn.studies.serdega2020.profiles import resolve_profile

    assert parse_seeds("3") == 3 and parse_seeds("0,4,7") == [0, 4, 7]
    assert parse_seeds("7,") == [7] and parse_seeds(None) is None
    assert resolve_profile("smoke", seeds=3, seed=5).seeds == (5, 6, 7)
    assert resolve_profile("smoke", seeds=[0, 4]).seeds == (0, 4)
    assert resolve_profile("quick", seed=2).seeds == (2, 3)  # the profile's count
    with pytest.raises(ConfigError, match="positive"):
        resolve_profile("smoke", seeds=0)


def test_seeds_2_end_to_end(result, tmp_path):
    """--seeds 2 at the smoke profile: the claims pool both seeds and say how many
    reproduce each on its own. (Seed 0's runs are copied from the module's run, which
    the command reuses: only seed 1 is trained.)"""
    import shutil

    out = tmp_path / "two"
    shutil.copytree(result, out)  # a result folder (its manifest says so), not loose runs
    assert main(["reproduce", "serdega2020", "--profile", "smoke", "--out", str(out), "--quiet",
                 "--device", "cpu", "--seeds", "2", "--overwrite"]) == 0
    card = json.loads((out / "claims.json").read_text())["claims"]
    for c in card:
        assert c["seeds"]["of"] == 2 and c["seeds"]["seeds"] == [0, 1]
        assert len(c["seeds"]["verdicts"]) == 2
        assert c["interval"] is not None and c["method"] and c["null_name"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["seeds"] == [0, 1]
    runs = sorted(p.name for d in (out / "runs").iterdir() for p in d.iterdir())
    assert runs == sorted(f"joint-lam{lam:g}-seed{s}" for s in (0, 1)
                          for lam in (0, study.PROFILES["smoke"].lam_joint))
    # the explicit list still works: --seeds 1, (one seed) reuses seed 1's runs
    one = tmp_path / "one"
    shutil.copytree(out, one)
    assert main(["reproduce", "serdega2020", "--profile", "smoke", "--out", str(one), "--quiet",
                 "--device", "cpu", "--seeds", "1,", "--overwrite"]) == 0
    manifest = json.loads((one / "manifest.json").read_text())
    assert manifest["config"]["seeds"] == [1] and manifest["seed"] == 1  # the first trained
    assert json.loads((one / "claims.json").read_text())["claims"][0]["seeds"] is None
    # the Python API: the same Params from keyword arguments, the same results
    card = (one / "claims.json").read_bytes()
    assert study.run("smoke", one, seeds=[1], quiet=True, device="cpu") == one
    assert (one / "claims.json").read_bytes() == card


# --------------------------------------------------------------------------- the shape
def test_options_come_from_params():
    """Every option of the command is a field of Params, with the flags, defaults and
    meanings the command has always had."""
    from latentdyn.studies.params import fields_of

    command = study.STUDY.command()
    options = {o.name: o for o in command.params}
    assert set(options) == {f.name for f in fields_of(study.Params)}
    flags = {o.opts[0]: o.default for o in command.params}
    assert flags == {"--profile": "quick", "--out": "results/serdega2020", "--dataset": (),
                     "--data-dir": None, "--seed": 0, "--seeds": None, "--lam": None,
                     "--device": "auto", "--overwrite": False, "--quiet": False}
    assert options["datasets"].multiple
    # --seeds: a count or an explicit list, parsed into the same Params as from Python
    from latentdyn.studies.params import from_command_line

    p = from_command_line(study.Params, {"seeds": "0,4", "datasets": ("a", "b")})
    assert p.seeds == [0, 4] and p.datasets == ("a", "b")
    assert from_command_line(study.Params, {"seeds": "3"}).seeds == 3


def test_modules_import_one_way():
    """The modules of the study import each other in one direction only: profiles →
    params → models, dynamics → family → measures → stages → claims; figures → outputs
    → report (no circle; the package __init__ assembles the study)."""
    import ast
    from pathlib import Path

    order = ["profiles", "params", "models", "dynamics", "family", "measures", "stages",
             "claims", "figures", "outputs", "report"]
    folder = Path(study.__file__).parent
    assert sorted(p.stem for p in folder.glob("*.py")) == sorted(order + ["__init__"])
    prefix = "latentdyn.studies.serdega2020."
    for i, name in enumerate(order):
        tree = ast.parse((folder / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module != "latentdyn.studies.study", name
                assert not node.module.startswith("latentdyn.cli"), name
                if node.module.startswith(prefix):
                    used = node.module[len(prefix):]
                    assert order.index(used) < i, f"{name} imports {used}"
