"""Denoising across model families: metrics, the comparison core on toy models, the
study package (profiles, options checked first, claims), the files it writes, and
`latentdyn compare denoise` end to end (bare at the smoke profile, and --given-only)."""

import json
import math

import pytest
import torch
from torch import nn

from latentdyn.analysis.denoising import (
    COLUMNS,
    NOISES,
    Method,
    compare_denoising,
    corruption_seed,
    lsd_method,
    psnr,
    repeated_inference_method,
    ssim,
)
from latentdyn.analysis.lsd import DEFAULT_KS, basis_from_model
from latentdyn.data import load_dataset
from latentdyn.errors import ConfigError, LatentdynError
from latentdyn.reporting.denoise_tables import markdown_table, write_tables
from latentdyn.studies.denoise import PROFILES, Profile, run
from latentdyn.studies.denoise.figures import comparison_figure

torch.set_num_threads(1)

DATASET = "synthetic:k=4,m=30,side=8,test=10,seed=1"


class ProjectionModel(nn.Module):
    """encode = PCA coordinates of the training images, decode = back-projection
    clipped to [0, 1]: repeated inference and LSD both project noise away."""

    def __init__(self, images, nz=6):
        super().__init__()
        self.register_buffer("mean", images.mean(0))
        u = torch.linalg.svd(images - images.mean(0), full_matrices=False).Vh[:nz].T
        self.register_buffer("u", u.contiguous())
        self.nz = nz

    def encode(self, x):
        return (x.flatten(1) - self.mean) @ self.u

    def decode(self, z):
        return (self.mean + z @ self.u.T).clamp(0, 1)


class NearestMean:
    def __init__(self, images, labels, k):
        self.means = torch.stack([images[labels == c].mean(0) for c in range(k)])

    def predict_proba(self, x):
        return torch.softmax(-20 * torch.cdist(x.flatten(1).float(), self.means) ** 2, 1)


@pytest.fixture(scope="module")
def toy():
    ds = load_dataset(DATASET)
    model = ProjectionModel(ds.train_images)
    clf = NearestMean(ds.train_images, ds.train_labels, ds.num_classes)
    return ds, model, clf


# ----------------------------------------------------------------------------- metrics
def test_psnr_and_ssim_known_values():
    clean = torch.rand(3, 64, generator=torch.Generator().manual_seed(0)) * 0.8
    assert torch.allclose(psnr(clean + 0.1, clean), torch.full((3,), 20.0, dtype=torch.float64))
    assert torch.allclose(psnr(clean, clean), torch.full((3,), 100.0, dtype=torch.float64))
    assert torch.allclose(ssim(clean, clean, (8, 8)), torch.ones(3, dtype=torch.float64))
    noise = torch.randn(3, 64, generator=torch.Generator().manual_seed(1))
    noisy = (clean + 0.2 * noise).clamp(0, 1)
    s = ssim(noisy, clean, (8, 8))
    assert bool((s < 0.99).all()) and bool((s > -1).all())
    with pytest.raises(ConfigError):
        ssim(clean[:, :36], clean[:, :36], (6, 6))


def test_corruption_seed_depends_on_setting_only():
    assert corruption_seed(0, "swap", 0.1) == corruption_seed(0, "swap", 0.1)
    assert len({corruption_seed(0, "swap", 0.1), corruption_seed(0, "flip", 0.1),
                corruption_seed(0, "swap", 0.2), corruption_seed(1, "swap", 0.1)}) == 4


# -------------------------------------------------------------------------------- core
def test_every_method_sees_the_same_corrupted_images(toy):
    ds, model, clf = toy
    seen = {"a": [], "b": []}

    def recorder(name):
        def fn(x):
            seen[name].append(x.clone())
            return {"": x}
        return Method(name, fn)

    rows = compare_denoising({"a": recorder("a"), "b": recorder("b")}, clf, ds.test_images,
                             ds.test_labels, ["swap", "gaussian"], [0.2, 0.5], batch_size=16)
    assert len(seen["a"]) == 2 * 2 * 3  # 40 images in batches of 16
    for xa, xb in zip(seen["a"], seen["b"]):
        assert torch.equal(xa, xb)
    # the identity methods score exactly like the corrupted input
    for r in rows:
        if r["family"] in ("a", "b"):
            ref = next(q for q in rows if q["family"] == "input" and q["noise"] == r["noise"]
                       and q["level"] == r["level"])
            assert r["psnr"] == ref["psnr"] and r["accuracy"] == ref["accuracy"]
    # adding a method changes nothing for the others (same seeds)
    rows_a = compare_denoising({"a": recorder("a")}, clf, ds.test_images, ds.test_labels,
                               ["swap", "gaussian"], [0.2, 0.5], batch_size=16)
    keep = lambda rs: [r for r in rs if r["family"] in ("input", "a")]  # noqa: E731
    assert json.dumps(keep(rows)) == json.dumps(keep(rows_a))  # NaN-safe equality


def test_rows_structure_and_denoisers_help(toy):
    ds, model, clf = toy
    basis = basis_from_model(model, clf, ds.train_images, 200, num_classes=4, max_per_class=50,
                             generator=0)
    methods = {"vae-inference": repeated_inference_method(model, (1, 3)),
               "lsd-vae": lsd_method(model, basis, (1, 2, 4), "lsd-vae")}
    examples = {}
    rows = compare_denoising(methods, clf, ds.test_images, ds.test_labels,
                             ["salt_pepper", "gaussian"], [0.3], image_shape=(8, 8),
                             examples=examples, n_examples=3)
    assert rows[0]["family"] == "clean" and rows[0]["noise"] == "none"
    assert rows[0]["accuracy"] == 1.0
    assert all(set(COLUMNS) <= set(r) for r in rows)
    methods_seen = {r["method"] for r in rows[1:]}
    assert methods_seen == {"input", "vae-inference t=1", "vae-inference t=3", "lsd-vae k=1",
                            "lsd-vae k=2", "lsd-vae k=4"}
    assert len(rows) == 1 + 2 * 6
    for noise in ("salt_pepper", "gaussian"):
        by = {r["method"]: r for r in rows if r["noise"] == noise}
        assert by["vae-inference t=1"]["psnr"] > by["input"]["psnr"]
        assert by["lsd-vae k=4"]["psnr"] > by["input"]["psnr"]
        assert by["vae-inference t=1"]["accuracy"] >= 0.9
        assert 0 <= by["input"]["ssim"] <= 1 and by["input"]["n"] == 40
    ex = examples[("gaussian", 0.3)]
    assert list(ex)[:2] == ["clean", "corrupted"] and ex["lsd-vae k=2"].shape == (3, 64)
    again = compare_denoising(methods, clf, ds.test_images, ds.test_labels,
                              ["salt_pepper", "gaussian"], [0.3], image_shape=(8, 8))
    assert json.dumps(again) == json.dumps(rows)  # deterministic


def test_without_classifier_accuracy_is_nan_and_tables_render(toy, tmp_path):
    ds, model, _ = toy
    rows = compare_denoising({"vae-inference": repeated_inference_method(model, (1,))}, None,
                             ds.test_images, None, ["flip"], [0.1, 0.4])
    assert all(math.isnan(r["accuracy"]) for r in rows)
    md = markdown_table(rows)
    assert "## flip" in md and "| vae-inference t=1 |" in md and "p = 0.4" in md
    csv_path, md_path = write_tables(rows, tmp_path)
    assert csv_path.read_text().splitlines()[0] == ",".join(COLUMNS)
    fig = comparison_figure(rows, caption="toy")
    assert len(fig.axes) == 1  # PSNR only
    with pytest.raises(ConfigError, match="noise"):
        compare_denoising({}, None, ds.test_images, None, ["blur"], [0.1])


# ----------------------------------------------------------------------------- runner
def test_run_with_model_objects(toy, tmp_path):
    ds, model, clf = toy
    gan = ProjectionModel(ds.train_images, 5)
    out = run("quick", tmp_path / "out", vae=model, gan=gan, classifier=clf,
              dataset=DATASET, noises=["gaussian"],
              levels=[0.2, 0.4], steps=[1, 2], ks=[1, 4], n_test=40,
              n_prior=100, max_per_class=40, examples=2, gan_inference=True, progress=False)
    assert out == tmp_path / "out"  # run() returns the output folder
    summary = json.loads((out / "summary.json").read_text())
    families = {r["family"] for r in summary["rows"]}
    assert families == {"clean", "input", "vae-inference", "lsd-gan", "lsd-vae", "gan-inference"}
    assert summary["skipped"] == {}
    for name in ("report.html", "manifest.json", "denoise.csv", "denoise.md", "summary.json",
                 "basis-gan.safetensors", "basis-vae.safetensors",
                 "figures/denoise_curves.png", "figures/denoise_examples_gaussian.png"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["kind"] == "compare-denoise"
    assert not (out / "runs").exists()
    # levels without the moderate 0.3: the claims are not evaluated, and say why
    card = json.loads((out / "claims.json").read_text())["claims"]
    assert {c["verdict"] for c in card} == {"not evaluated"}
    assert all("level 0.3" in c["details"] for c in card)
    assert manifest["config"]["levels"] == [0.2, 0.4]
    html = (out / "report.html").read_text()
    assert "LSD truncation" in html and "lsd-gan k=4" in html


# -------------------------------------------------------------------------------- CLI
def test_compare_denoise_cli_skips_missing_families(tmp_path, capsys):
    from latentdyn.cli import main

    vae_run = tmp_path / "vae"
    assert main(["train", "--model", "vae", "--dataset", DATASET, "--nz", "4", "--hidden", "16",
                 "--epochs", "1", "--batch-size", "40", "--device", "cpu", "--out", str(vae_run),
                 "--quiet"]) == 0
    out = tmp_path / "cmp"
    rc = main(["compare", "denoise", "--vae", str(vae_run), "--dataset", DATASET, "--out", str(out),
               "--noise", "swap", "--levels", "0.2", "--steps", "1,3", "--n-test", "20",
               "--examples", "0", "--no-progress", "--given-only"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "skipped lsd-gan" in err and "skipped lsd-vae" in err
    summary = json.loads((out / "summary.json").read_text())
    assert {r["family"] for r in summary["rows"]} == {"clean", "input", "vae-inference"}
    assert set(summary["skipped"]) == {"lsd-gan", "lsd-vae", "accuracy"}
    html = (out / "report.html").read_text()
    assert "skipped" in html and "classifier" in html
    assert main(["compare", "denoise", "--profile", "huge"]) != 0
    assert main(["compare", "denoise", "--levels", "a,b", "--out", str(out)]) == 2


def test_compare_denoise_bare_smoke_trains_then_reuses(tmp_path, capsys):
    from latentdyn.cli import main

    out = tmp_path / "bare"
    args = ["compare", "denoise", "--profile", "smoke", "--out", str(out), "--noise",
            "gaussian,swap", "--examples", "1", "--device", "cpu", "--quiet"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith(f"report: {out / 'report.html'}; ")
    assert "of 4 claims reproduced" in captured.out
    assert "skipped" not in captured.err
    weights = {n: out / "runs" / n / "model.safetensors"
               for n in ("vae", "classifier", "gan", "encoder")}
    assert all(w.is_file() for w in weights.values())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skipped"] == {}
    assert {r["family"] for r in summary["rows"]} == {"clean", "input", "vae-inference",
                                                      "lsd-gan", "lsd-vae"}
    assert summary["settings"]["profile"] == "smoke" and summary["settings"]["ks"] == [1, 3]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["command"][:3] == ["latentdyn", "compare", "denoise"]
    assert manifest["runs"]["gan"] == str(out / "runs" / "encoder")
    assert {"train vae", "train classifier", "train gan", "train encoder"} <= set(
        manifest["timings"])
    assert "Trained here" in (out / "report.html").read_text()
    card = json.loads((out / "claims.json").read_text())["claims"]
    assert [c["id"] for c in card] == ["D1", "D2", "D3", "D4"]
    assert all(c["verdict"] != "not evaluated" and c["interval"] for c in card)
    mtimes = {n: w.stat().st_mtime_ns for n, w in weights.items()}
    assert main(args) == 0  # the same command again: every run reused, none retrained
    assert {n: w.stat().st_mtime_ns for n, w in weights.items()} == mtimes

    # --seeds 2: seed 0's runs (copied) are reused, seed 1's trained in runs/seed1
    import shutil

    two = tmp_path / "two"
    shutil.copytree(out, two)  # the result folder (loose runs in a new --out are refused)
    assert main(["compare", "denoise", "--profile", "smoke", "--out", str(two), "--noise",
                 "gaussian,swap", "--examples", "1", "--device", "cpu", "--quiet",
                 "--seeds", "2", "--overwrite"]) == 0
    combined = json.loads((two / "claims.json").read_text())["claims"]
    assert [c["run_value"] for c in combined] == [c["run_value"] for c in card]
    for c in combined:
        assert c["seeds"]["of"] == 2 and c["seeds"]["seeds"] == [0, 1]
    assert (two / "runs" / "seed1" / "encoder" / "model.safetensors").is_file()
    assert (two / "seeds" / "seed1" / "claims.json").is_file()
    assert main(["compare", "denoise", "--profile", "smoke", "--out", str(tmp_path / "x"),
                 "--seeds", "2", "--given-only"]) == 2
    assert not (tmp_path / "x").exists()


def test_compare_denoise_given_only_scores_only_the_input(tmp_path, capsys):
    from latentdyn.cli import main

    out = tmp_path / "input-only"
    assert main(["compare", "denoise", "--given-only", "--dataset", DATASET, "--out", str(out),
                 "--noise", "flip", "--levels", "0.1,0.3", "--n-test", "12", "--examples", "0",
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "only the corrupted input is scored" in err
    summary = json.loads((out / "summary.json").read_text())
    assert {r["family"] for r in summary["rows"]} == {"clean", "input"}
    assert set(summary["skipped"]) == {"vae-inference", "lsd-vae", "lsd-gan", "accuracy"}
    for family in summary["skipped"]:
        assert f"skipped {family}: " in err
    assert not (out / "runs").exists()
    assert json.loads((out / "manifest.json").read_text())["config"]["given_only"] is True


# ------------------------------------------------------------------ the study package
def test_profiles_keep_the_comparison_settings():
    assert list(PROFILES) == ["quick", "paper", "smoke"]
    assert all(isinstance(p, Profile) and p.name == k for k, p in PROFILES.items())
    assert PROFILES["quick"].comparison() == {
        "n_test": 500, "noises": list(NOISES), "levels": [0.1, 0.3, 0.5], "steps": [1, 5, 20],
        "ks": list(DEFAULT_KS), "basis_images": 5000, "n_prior": 5000, "max_per_class": 500,
        "examples": 6}
    assert PROFILES["paper"].comparison() == {
        "n_test": 10000, "noises": list(NOISES), "levels": [0.05, 0.1, 0.2, 0.3, 0.4, 0.5],
        "steps": [1, 5, 20, 80], "ks": list(DEFAULT_KS), "basis_images": None,
        "n_prior": 50000, "max_per_class": 5000, "examples": 8}
    quick = PROFILES["quick"].training()
    assert quick["vae_epochs"] == 30 and quick["gan_epochs"] == 8 and quick["clf_epochs"] == 5
    assert PROFILES["smoke"].dataset.startswith("synthetic:")


@pytest.mark.parametrize("bad", [dict(levels=[1.5]), dict(steps=[0]), dict(ks=[0, 2]),
                                 dict(n_test=0), dict(examples=-1), dict(noises=["blur"]),
                                 dict(batch_size=0), dict(seed=-1), dict(profile="huge"),
                                 dict(vae="no-such-run")])
def test_bad_options_leave_the_output_folder_untouched(tmp_path, bad):
    out = tmp_path / "out"
    kwargs = dict(bad)
    profile = kwargs.pop("profile", "smoke")
    with pytest.raises(LatentdynError):
        run(profile, out, dataset=DATASET, given_only=True, progress=False, **kwargs)
    assert not out.exists()


def test_a_failing_stage_marks_the_manifest_failed(toy, tmp_path):
    ds, _, _ = toy

    class Broken(nn.Module):
        """Passes prepare's one trial encoding (the fit check), then breaks in a stage."""

        calls = 0

        def encode(self, x):
            Broken.calls += 1
            if Broken.calls > 1:
                raise RuntimeError("broken encoder")
            return x

        def decode(self, z):
            return z

    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="broken encoder"):
        run("smoke", out, vae=Broken(), given_only=True, dataset=DATASET, n_test=8,
            progress=False)
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"


def test_a_given_run_of_another_image_size_is_refused_first(tmp_path):
    from latentdyn.cli import main

    vae_run = tmp_path / "vae"
    assert main(["train", "--model", "vae", "--dataset", "synthetic:k=2,m=10,side=6,test=4",
                 "--nz", "2", "--hidden", "8", "--epochs", "1", "--device", "cpu", "--out",
                 str(vae_run), "--quiet"]) == 0
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="takes 36"):
        run("smoke", out, vae=str(vae_run), given_only=True, dataset=DATASET, progress=False)
    assert not out.exists()


def test_given_gan_is_the_encoder_run_and_a_bare_gan_is_refused(tmp_path):
    """--gan takes the GAN + encoder run (encode = E, decode = G), as its help says; a
    run of the bare GAN has no encoder and is refused in one line."""
    from latentdyn.studies.denoise.models import load_given
    from latentdyn.train import TrainConfig, train

    data = "synthetic:k=2,m=10,side=8,test=4"
    gan = tmp_path / "gan"
    train(TrainConfig(model="gan", dataset=data, nz=4, epochs=1, batch_size=10, device="cpu",
                      model_options={"g_width": 8, "d_width": 8}), gan, progress=False)
    with pytest.raises(ConfigError, match="gan-encoder"):
        load_given({"gan": str(gan)}, "cpu")


def _comparison(deltas, n=200, metric="correct", family="lsd-gan", variant="k=10",
                level=0.3):
    """A Comparison whose per-image scores make ``family variant`` beat the input by
    ``deltas[noise]`` (a share of images for accuracy, dB for PSNR) at ``level``."""
    import numpy as np

    from latentdyn.studies.denoise.stages import Comparison

    rng = np.random.default_rng(0)
    scores = {}
    for noise, d in deltas.items():
        base = (rng.random(n) < 0.5).astype(float) if metric == "correct" else rng.normal(10, 1, n)
        if metric == "correct":
            mine = base.copy()
            wrong = np.flatnonzero(base == 0)[:round(d * n)]
            mine[wrong] = 1.0
        else:
            mine = base + d + rng.normal(0, 0.5, n)
        scores[("input", "", noise, level)] = {metric: base}
        scores[(family, variant, noise, level)] = {metric: mine}
        scores[(family, "k=1", noise, level)] = {metric: base}
    return Comparison(rows=[], examples={}, n_test=n, image_shape=None, scores=scores)


def test_denoise_claims_on_known_scores():
    from latentdyn.studies.denoise.claims import SPECS, denoise_claim, scorecard

    d1, d2, d3, d4 = SPECS
    c = denoise_claim(d3, _comparison({"swap": 0.2, "gaussian": 0.15}))
    assert c.verdict == "reproduced" and c.run_value == {"swap": 0.2, "gaussian": 0.15}
    assert c.interval[0] <= 0.15 <= c.interval[1] and c.stability > 0.9 and c.null == 0.0
    assert "k=10" in c.reading and c.sections
    c = denoise_claim(d3, _comparison({"swap": 0.2, "gaussian": 0.0}))
    assert c.verdict == "NOT reproduced" and c.stability < 0.1
    # the largest measured k below 10 stands in for 10
    c = denoise_claim(d3, _comparison({"swap": 0.2}, variant="k=4"))
    assert c.verdict == "reproduced" and "k=4" in c.reading
    # PSNR for repeated inference: +1 dB on 200 images is far above 2 SE
    c = denoise_claim(d2, _comparison({"flip": 1.0}, metric="psnr", family="vae-inference",
                                      variant="t=5"))
    assert c.verdict == "reproduced" and 0.8 < c.run_value["flip"] < 1.2
    # a family or level that was not run: not evaluated
    assert denoise_claim(d4, _comparison({"swap": 0.2})).verdict == "not evaluated"
    c = denoise_claim(d3, _comparison({"swap": 0.2}, level=0.5))
    assert c.verdict == "not evaluated" and "level 0.3" in c.details
    assert [c.id for c in scorecard(_comparison({"swap": 0.2}))] == ["D1", "D2", "D3", "D4"]


def test_per_image_scores_are_paired_and_match_the_rows(toy):
    ds, model, clf = toy
    scores = {}
    rows = compare_denoising({"ri": repeated_inference_method(model, (1, 2))}, clf,
                             ds.test_images, ds.test_labels, ["swap"], [0.3], seed=0,
                             scores=scores)
    for r in rows:
        if r["family"] == "clean":
            continue
        s = scores[(r["family"], r["variant"], r["noise"], r["level"])]
        assert s["psnr"].shape == (r["n"],)
        assert math.isclose(float(s["psnr"].mean()), r["psnr"], rel_tol=1e-9)
        assert math.isclose(float(s["correct"].mean()), r["accuracy"], rel_tol=1e-9)


# ------------------------------------------------------------------ the study's shape
OPTIONS = {"--profile", "--out", "--vae", "--gan", "--classifier", "--given-only",
           "--basis-vae", "--basis-gan", "--noise", "--levels", "--steps", "--ks", "--n-test",
           "--examples", "--gan-inference", "--no-gan-inference", "--dataset", "--data-dir",
           "--seed", "--seeds", "--device", "--batch-size", "--overwrite", "--progress",
           "--no-progress", "--quiet"}


def test_the_command_is_built_from_params():
    from latentdyn.studies import STUDIES
    from latentdyn.studies.denoise import STUDY, Params
    from latentdyn.studies.driver import load_study
    from latentdyn.studies.params import from_command_line

    assert load_study(STUDIES["compare denoise"]) is STUDY and STUDY.kind == "compare-denoise"
    command = STUDY.command()
    flags = {f for option in command.params for f in (*option.opts, *option.secondary_opts)}
    assert flags == OPTIONS
    p = Params()
    assert (p.out, p.device, p.batch_size, p.progress, p.quiet) == (
        "results/compare-denoise", "cpu", 500, True, False)
    # the lists of the command line, and --no-progress meaning --quiet (and back)
    ctx = command.make_context("denoise", ["--no-progress", "--levels", "0.1,0.3", "--ks",
                                           "1,3", "--noise", "swap,flip"])
    p = from_command_line(Params, ctx.params)
    assert p.quiet and not p.progress
    assert (p.levels, p.ks, p.noises) == ([0.1, 0.3], [1, 3], ["swap", "flip"])
    assert not Params(quiet=True).progress
    with pytest.raises(ConfigError, match="--levels"):
        from_command_line(Params, command.make_context("denoise", ["--levels", "a,b"]).params)


def test_prepare_resolves_the_settings_and_writes_nothing(tmp_path):
    from latentdyn.studies.denoise import Params, prepare

    out = tmp_path / "out"
    setup = prepare(Params(profile="smoke", out=str(out), given_only=True, dataset=DATASET,
                           levels=(0.3, 0.1), steps=(3, 1, 3), quiet=True))
    assert setup.comparison["levels"] == [0.3, 0.1] and setup.comparison["steps"] == [1, 3]
    assert setup.settings["given_only"] is True and setup.settings["training"] == \
        PROFILES["smoke"].training()
    assert setup.data_record["dataset"] == setup.data.name and setup.seeds == [0]
    assert not out.exists()


def test_a_given_run_is_described_by_its_own_config(tmp_path):
    """Issue 19, item 12: the manifest never states the profile's Nz or epochs for a
    network it did not train; the given run's own kind, Nz, hidden width, epochs and
    data set are recorded instead (compare denoise has no option that could contradict
    them)."""
    from latentdyn.studies.denoise import Params, prepare
    from latentdyn.train import TrainConfig, train

    vae = train(TrainConfig(dataset=DATASET, nz=4, hidden=16, epochs=1, batch_size=40,
                            device="cpu"), tmp_path / "vae", progress=False)
    setup = prepare(Params(profile="smoke", out=str(tmp_path / "o"), vae=str(vae),
                           given_only=True, dataset=DATASET, quiet=True))
    props = setup.settings["given_properties"]["vae"]
    assert (props["kind"], props["nz"], props["hidden"], props["epochs"]) == ("vae", 4, 16, 1)
    assert not any(k.startswith("vae_") for k in setup.settings["training"])
    assert "clf_epochs" in setup.settings["training"]  # the classifier is not given
