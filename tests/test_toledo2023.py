"""`latentdyn reproduce toledo2023` end to end at toy size (the 'smoke' profile:
synthetic 8×8 images of 3 classes, a 12-d latent, networks of a few hundred weights),
and its claims T1-T5 on hand-built results."""

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from latentdyn.cli import main
from latentdyn.train.runs import inputs_changed
from latentdyn.errors import ConfigError
from latentdyn.figures import save_figure
from latentdyn.figures.save import read_csv
from latentdyn.studies import toledo2023 as study
from latentdyn.studies.toledo2023 import claims as rules
from latentdyn.studies.toledo2023.figures import (amplitude_histograms, denoise_curves,
                                                  gram_matrices, rotation_summary)
from latentdyn.studies.toledo2023.lsd import Decoded
from latentdyn.studies.toledo2023.measures import DecodedVectors, PairedComparison

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CURVE_FIGURES = ("gram_matrices", "amplitude_histograms", "denoise_curves", "rotation_reading",
                 "decoded_quasi_eigenvectors", "gan_samples")
IMAGE_FIGURES = ("denoise_grid_gaussian", "denoise_grid_swap", "rotation_paths")


def cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("toledo") / "out"
    assert cli("reproduce", "toledo2023", "--profile", "smoke", "--out", out, "--quiet",
               "--device", "cpu") == 0
    return out


def test_figures_and_data(result):
    for stem in CURVE_FIGURES + IMAGE_FIGURES:
        assert (result / "figures" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
        assert (result / "figures" / f"{stem}.pdf").read_bytes()[:4] == b"%PDF", stem
    for stem in CURVE_FIGURES + ("rotation_paths",):
        assert (result / "data" / f"{stem}.csv").stat().st_size > 0, stem
    curves = read_csv(result / "data" / "denoise_curves.csv")
    assert set(curves["variant"]) == {"input", "k=1", "k=2", "k=3", "k=4", "k=10", "all"}
    assert set(curves["noise"]) == {"gaussian", "swap"}
    rot = read_csv(result / "data" / "rotation_reading.csv")
    assert len(rot["angle_deg"]) == study.PROFILES["smoke"].rot_steps + 1
    assert float(rot["angle_deg"][-1]) == pytest.approx(90.0)
    lsd = json.loads((result / "data" / "lsd.json").read_text())
    assert lsd["nz"] == 12 and 0 <= lsd["test"]["label_subspace_fraction"] <= 1
    assert len(lsd["decoded_vectors"]["scales"]) == lsd["num_label_vectors"]
    moderate = json.loads((result / "data" / "denoise_moderate.json").read_text())
    assert [(m["noise"], m["level"]) for m in moderate] == [("gaussian", 0.5), ("swap", 0.5)]
    assert (result / "basis.safetensors").is_file()
    for run in ("classifier", "judge", "gan", "encoder"):
        assert (result / "runs" / run / "model.safetensors").is_file(), run


def test_scorecard_and_manifest(result):
    card = json.loads((result / "claims.json").read_text())
    assert [c["id"] for c in card["claims"]] == ["T1", "T2", "T3", "T4", "T5"]
    for c in card["claims"]:
        assert c["verdict"] in ("reproduced", "NOT reproduced", "not evaluated")
        assert c["threshold"] and c["run_value"] is not None
    by_id = {c["id"]: c for c in card["claims"]}
    assert by_id["T1"]["paper_value"] == 0.98
    assert str(rules.LABEL_FRACTION_MIN) in by_id["T1"]["threshold"]
    assert by_id["T5"]["verdict"] == "reproduced"  # the basis is complete by construction
    assert "Rules (fixed in code before the run)" in (result / "claims.md").read_text()
    manifest = json.loads((result / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["config"]["name"] == "smoke" and manifest["data"]["checksums"]
    assert manifest["claims"]["total"] == 5
    assert {"train gan", "train encoder", "denoising", "rotations"} <= set(manifest["timings"])


def test_report(result):
    page = (result / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "Toledo" in page
    assert "The paper found" in page and "This run found" in page
    assert "smoke" in page and "reduced" in page  # the reduced settings are stated
    assert "judge" in page and "Decoded quasi-eigenvectors" in page
    assert page.count("data:image/png;base64,") >= 9


def test_reuse_and_determinism(result, tmp_path):
    """Repeating the command reuses the trained runs and gives the same numbers; so do
    the same runs passed in by hand to another folder."""
    names = ("denoise_curves.csv", "rotation_reading.csv", "amplitude_histograms.csv",
             "gram_matrices.csv")
    before = {n: (result / "data" / n).read_bytes() for n in names}
    claims = json.loads((result / "claims.json").read_text())["claims"]
    weights = {r: (result / "runs" / r / "model.safetensors").stat().st_mtime_ns
               for r in ("classifier", "judge", "gan", "encoder")}
    assert cli("reproduce", "toledo2023", "--profile", "smoke", "--out", result, "--quiet",
               "--device", "cpu") == 0
    assert {r: (result / "runs" / r / "model.safetensors").stat().st_mtime_ns
            for r in weights} == weights  # nothing was retrained
    for n in names:
        assert (result / "data" / n).read_bytes() == before[n], n
    # the encoder is retrained when the runs it was trained from have changed
    runs = result / "runs"
    assert not inputs_changed(runs / "encoder", {"gan": runs / "gan",
                                                        "classifier": runs / "classifier"})
    assert inputs_changed(runs / "encoder", {"classifier": runs / "judge"})
    again = json.loads((result / "claims.json").read_text())["claims"]
    assert [c["run_value"] for c in again] == [c["run_value"] for c in claims]

    out = tmp_path / "given"
    assert cli("reproduce", "toledo2023", "--profile", "smoke", "--out", out, "--quiet",
               "--device", "cpu", "--classifier", runs / "classifier", "--judge", runs / "judge",
               "--encoder", runs / "encoder") == 0
    assert not (out / "runs").exists()  # nothing trained
    given = json.loads((out / "claims.json").read_text())["claims"]
    assert given[0]["run_value"] == claims[0]["run_value"]  # T1: the label sub-space fraction
    assert (out / "data" / "rotation_reading.csv").read_bytes() == before["rotation_reading.csv"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["given_runs"]["encoder"] == str(runs / "encoder")


def test_errors(result, tmp_path, capsys):
    with pytest.raises(ConfigError, match="unknown profile"):
        study.run("bogus", tmp_path / "x")
    assert cli("reproduce", "toledo2023", "--profile", "bogus", "--out", tmp_path / "y") == 2
    # a classifier run is not an encoder run
    assert cli("reproduce", "toledo2023", "--profile", "smoke", "--out", tmp_path / "z",
               "--quiet", "--device", "cpu", "--encoder", result / "runs" / "classifier",
               "--classifier", result / "runs" / "classifier",
               "--judge", result / "runs" / "judge") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and "gan-encoder" in err
    assert not (tmp_path / "z").exists()  # a bad input is refused before anything is written
    with pytest.raises(ConfigError, match="gan-epochs"):
        study.run("smoke", tmp_path / "w", gan_epochs=0)
    assert not (tmp_path / "w").exists()
    # results of another setting are not overwritten silently
    assert cli("reproduce", "toledo2023", "--profile", "smoke", "--out", result, "--seed", 3,
               "--quiet") == 2
    assert "another setting" in capsys.readouterr().err
    assert cli("reproduce", "toledo2023", "--help") == 0
    text = capsys.readouterr().out
    assert "quick" in text and "paper" in text and "smoke" in text and "tiny" not in text
    assert set(study.PROFILES) == {"quick", "paper", "smoke"}


def test_figure_functions_attach_their_data(tmp_path):
    labels = [0, 1, 2]
    eye = np.eye(3)
    saved = save_figure(gram_matrices(eye, eye, eye, labels, caption="c"), tmp_path, "g")
    assert read_csv(saved.csv)["xi_gram_j1"] == ["0.0", "1.0", "0.0"]
    edges = np.linspace(0, 1, 5)
    fig = amplitude_histograms(edges, {"a": np.ones(4), "b": np.zeros(4)}, ["1", "2"],
                               [0.75, 0.25], label_fraction=0.9)
    cols = read_csv(save_figure(fig, tmp_path, "h").csv)
    assert cols["density_a"] == ["1.0"] * 4 and cols["rank"] == ["1", "2"]
    rows = [{"noise": "gaussian", "level": p, "variant": v, "accuracy": 0.5, "psnr": 10.0,
             "psnr_sem": 0.1} for p in (0.1, 0.5) for v in ("input", "k=10")]
    cols = read_csv(save_figure(denoise_curves(rows, moderate={"gaussian": 0.5}), tmp_path,
                                "d").csv)
    assert cols["variant"] == ["input", "input", "k=10", "k=10"]
    m = np.full((3, 3), 0.5)
    cols = read_csv(save_figure(rotation_summary([0, 45, 90], {"j": [0, 0.5, 1]}, m, labels),
                                tmp_path, "r").csv)
    assert cols["j"] == ["0.0", "0.5", "1.0"] and cols["read_as_j2"] == ["0.5"] * 3
    with pytest.raises(Exception):
        gram_matrices(eye, eye, np.eye(2), labels)
    shutil.rmtree(tmp_path)


# ------------------------------------------------------------------ claims on hand-built results
def _subspace(frac, null_mean, null_q, n=100, dim=10, reading="paper"):
    from latentdyn.analysis.lsd.nulls import LabelSubspaceTest
    from latentdyn.analysis.uncertainty import Null

    hits = np.zeros(n, dtype=bool)
    hits[:round(frac * n)] = True
    null = Null(np.full(100, null_mean), null_mean, null_q, 0.95, 0)
    return LabelSubspaceTest(reading, float(hits.mean()), hits, dim, 100, null)


def _lsd(frac=0.97, missing=(), gram=1e-15, recon=1e-14, null=(0.3, 0.4)):
    return SimpleNamespace(
        test={"n": 100, "lsd_accuracy": 0.9, "mean_rank": 1.2}, num_label=10,
        basis=SimpleNamespace(nz=100, missing_classes=list(missing)), label_fraction=frac,
        energy=0.5, gram_deviation=gram, reconstruction_error=recon,
        subspace={"paper": _subspace(frac, *null),
                  "centred": _subspace(0.6, 0.3, 0.4, dim=9, reading="centred")},
        lsd_correct=np.r_[np.ones(90), np.zeros(10)])


def _paired(noise, delta, se, n=100):
    a = np.r_[np.ones(50), np.zeros(n - 50)]
    b = a.copy()
    b[50:50 + round(delta * n)] = 1.0  # the truncation is right on delta·n more images
    return PairedComparison(noise, 0.5, n, 0.5, 0.5 + delta, delta, se, 10.0, 12.0, a, b)


def test_label_subspace_and_span_claims():
    t1 = rules.label_subspace_claim(_lsd(0.97))
    assert t1.verdict == "reproduced" and t1.null == 0.3 and "shuffled" in t1.null_name
    assert t1.interval[0] <= 0.97 <= t1.interval[1] and 0 < t1.stability <= 1
    assert "centred reading" in t1.details and "LSD accuracy 0.9000" in t1.details
    t1 = rules.label_subspace_claim(_lsd(0.9))
    assert t1.verdict == "NOT reproduced" and t1.run_value == 0.9 and t1.paper_value == 0.98
    # the issue-11 artefact: a fraction of 1.000 that shuffled labels give as well fails
    t1 = rules.label_subspace_claim(_lsd(1.0, null=(0.996, 1.0)))
    assert t1.verdict == "NOT reproduced" and t1.stability == 0.0
    assert "rule before issue 11 (fraction >= 0.95 alone" in t1.details and "met" in t1.details
    t1 = rules.label_subspace_claim(_lsd(0.99, missing=[7]))
    assert t1.verdict == "not evaluated" and "NOT EVALUATED" in t1.details
    assert rules.span_claim(_lsd()).verdict == "reproduced"
    assert rules.span_claim(_lsd(recon=1e-6)).verdict == "NOT reproduced"


def test_denoising_claim():
    den = SimpleNamespace(n_images=100, moderate={"gaussian": 0.5, "swap": 0.5},
                          paired=[_paired("gaussian", 0.2, 0.05), _paired("swap", 0.2, 0.05)])
    t2 = rules.denoising_claim(den)
    assert t2.verdict == "reproduced" and t2.run_value == {"gaussian 0.5": 0.2, "swap 0.5": 0.2}
    assert t2.interval[0] <= 0.2 <= t2.interval[1] and t2.stability > 0.9 and t2.null == 0.0
    den.paired[1] = _paired("swap", 0.05, 0.05)  # Δ = 1 SE: not enough
    t2 = rules.denoising_claim(den)
    assert t2.verdict == "NOT reproduced" and t2.stability < 0.5
    den.paired = []
    t2 = rules.denoising_claim(den)
    assert t2.verdict == "not evaluated" and t2.run_value is None


def test_rotation_and_one_to_one_claims():
    rot = SimpleNamespace(paths=30, frac_end_j=0.6, frac_start_i=0.9,
                          frac_end_j_given_start=0.6, frac_end_j_classifier=0.7,
                          image_end_j=np.r_[np.full(9, 2.0), np.zeros(6)],
                          image_start_j=np.zeros(15), image_paths=np.full(15, 2.0),
                          frac_start_j=0.0)
    t3 = rules.rotation_claim(rot, [], 3)
    assert t3.verdict == "reproduced" and t3.null == 0.0
    assert t3.interval[0] <= 0.6 <= t3.interval[1] and 0.5 < t3.stability < 1
    rot.frac_end_j = 0.4
    assert rules.rotation_claim(rot, [], 3).verdict == "NOT reproduced"
    assert rules.rotation_claim(rot, [2], 3).verdict == "not evaluated"
    rot.paths = 0
    assert rules.rotation_claim(rot, [], 3).verdict == "not evaluated"

    judge = torch.tensor([[0, 1, 0, 0], [1, 1, 1, 1], [2, 2, 2, 0]])  # columns: m, ½s, s, 2s
    vectors = DecodedVectors(images=torch.zeros(3, 4, 1), columns=["m", "h", "s", "d"],
                             scales=[1.0] * 3, factors=[0.5, 1.0, 2.0], judge=judge,
                             classifier=judge, classes=[0, 1, 2], norm_class_means=[1.0] * 3,
                             random_read_own=[0.1, 0.2, 0.0], n_random=20)
    dec = Decoded(vectors)
    assert (dec.n_one, dec.n_mean, dec.per_factor) == (3, 3, [3, 2, 3, 2])
    t4 = rules.one_to_one_claim(dec, [], 3)
    assert t4.verdict == "reproduced" and t4.run_value == "3 of 3"
    assert t4.null == 0.3 and t4.stability == 1.0 and t4.interval == (3.0, 3.0)
    t4 = rules.one_to_one_claim(dec, [3], 4)  # a class lacks a vector
    assert t4.verdict == "NOT reproduced" and t4.stability < 1


def test_seeds_2_end_to_end(result, tmp_path):
    """--seeds 2: two independent sets of networks, the scorecard with the seed counts;
    given runs cannot be combined with it. (Seed 0's runs are copied from the module's
    run, which the command reuses: only seed 1 is trained.)"""
    out = tmp_path / "two"
    shutil.copytree(result, out)  # the result folder (loose runs in a new --out are refused)
    assert cli("reproduce", "toledo2023", "--profile", "smoke", "--out", out, "--quiet",
               "--device", "cpu", "--seeds", "2", "--overwrite") == 0
    card = json.loads((out / "claims.json").read_text())["claims"]
    assert [c["id"] for c in card] == ["T1", "T2", "T3", "T4", "T5"]
    for c in card:
        assert c["seeds"]["of"] == 2 and c["seeds"]["seeds"] == [0, 1]
    assert (out / "runs" / "seed1" / "encoder" / "model.safetensors").is_file()
    assert (out / "seeds" / "seed1" / "claims.json").is_file()
    second = json.loads((out / "seeds" / "seed1" / "claims.json").read_text())["claims"]
    assert [c["verdict"] for c in second] == [c["seeds"]["verdicts"][1] for c in card]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["seeds"] == [0, 1]
    assert "seed 1: train gan" in manifest["timings"]
    assert cli("reproduce", "toledo2023", "--profile", "smoke", "--out", tmp_path / "x",
               "--seeds", "2", "--encoder", out / "runs" / "encoder") == 2
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------ the study's shape
OPTIONS = {"--profile", "--out", "--seed", "--device", "--overwrite", "--quiet", "--dataset",
           "--data-dir", "--classifier", "--judge", "--gan", "--encoder", "--gan-epochs",
           "--seeds"}


def test_the_command_is_built_from_params(tmp_path):
    from latentdyn.studies import STUDIES
    from latentdyn.studies.driver import load_study

    assert load_study(STUDIES["reproduce toledo2023"]) is study.STUDY
    command = study.STUDY.command()
    assert {flag for option in command.params for flag in option.opts} == OPTIONS
    defaults = {option.name: option.default for option in command.params}
    p = study.Params()
    assert (p.profile, p.out, p.seed, p.device, p.n_seeds) == ("quick", "results/toledo2023",
                                                               0, "auto", 1)
    assert {k: defaults[k] for k in ("profile", "out", "device", "n_seeds")} == {
        "profile": "quick", "out": "results/toledo2023", "device": "auto", "n_seeds": 1}
    assert study.STUDY.kind == "reproduce toledo2023"
    with pytest.raises(ConfigError, match="unknown option"):
        study.run("smoke", tmp_path / "x", encoder_run="x")  # keywords: the options' names
    assert not (tmp_path / "x").exists()


def test_prepare_checks_and_loads_and_writes_nothing(result, tmp_path):
    """prepare: the given runs loaded (an encoder run brings its own classifier as C),
    the manifest's settings; --gan-epochs changes the GAN's recipe only."""
    encoder = str(result / "runs" / "encoder")
    setup = study.prepare(study.Params(profile="smoke", out=str(tmp_path / "o"),
                                       encoder=encoder, device="cpu"))
    assert set(setup.given.models) == {"encoder", "classifier"}
    assert setup.given.paths["classifier"] == str(result / "runs" / "classifier")
    assert setup.settings["given_runs"] == {"encoder": encoder}
    assert setup.settings["name"] == "smoke" and setup.seeds == [0]
    assert setup.data_record["dataset"] == setup.data.name and setup.data_record["checksums"]
    assert not (tmp_path / "o").exists()
    setup = study.prepare(study.Params(profile="smoke", gan_epochs=3, n_seeds=2, seed=5))
    assert setup.profile.gan.epochs == 3 and setup.settings["gan_epochs"] == 3
    assert setup.profile.classifier == study.PROFILES["smoke"].classifier
    assert setup.seeds == [5, 6] and setup.settings["seeds"] == [5, 6]


def test_a_given_gan_is_described_by_its_own_run(result, tmp_path):
    """Issue 19, item 12: with --gan the manifest's GAN settings (epochs, batch, lr, Nz)
    are the run's, not the profile's, each given run's properties are recorded, and a
    --gan-epochs that contradicts the given GAN (or comes with an encoder run, which
    holds its GAN) is refused in one line."""
    import shutil

    gan = tmp_path / "gan"
    shutil.copytree(result / "runs" / "gan", gan)
    config = json.loads((gan / "config.json").read_text())
    (gan / "config.json").write_text(json.dumps({**config, "epochs": 7}))
    setup = study.prepare(study.Params(profile="smoke", gan=str(gan), device="cpu"))
    assert study.PROFILES["smoke"].gan.epochs != 7
    assert setup.settings["gan_epochs"] == 7 and setup.profile.gan.epochs == 7
    assert setup.settings["given_properties"]["gan"]["epochs"] == 7
    assert setup.settings["nz"] == config["nz"]
    assert study.prepare(study.Params(profile="smoke", gan=str(gan), gan_epochs=7,
                                      device="cpu")).profile.gan.epochs == 7
    with pytest.raises(ConfigError, match=r"--gan-epochs 3 \(the run has 7\)"):
        study.prepare(study.Params(profile="smoke", gan=str(gan), gan_epochs=3))
    with pytest.raises(ConfigError, match="--encoder gives one"):
        study.prepare(study.Params(profile="smoke", gan_epochs=3,
                                   encoder=str(result / "runs" / "encoder")))


def test_both_studies_train_the_networks_of_the_shared_recipes():
    """The classifier, GAN and encoder settings are written once (train.recipes):
    toledo2023 and compare denoise embed the same recipes in every profile, and one
    function turns each into the TrainConfig of the run."""
    from latentdyn.data import load_dataset
    from latentdyn.studies.denoise import PROFILES as DENOISE
    from latentdyn.train import recipes

    for name, prof in study.PROFILES.items():
        other = DENOISE[name]
        assert (prof.classifier, prof.gan, prof.encoder) == (
            other.classifier, other.gan, other.encoder), name
    assert study.PROFILES["paper"].gan == recipes.GanRecipe()  # the defaults: the paper's
    smoke = study.PROFILES["smoke"]
    assert (smoke.classifier, smoke.gan, smoke.encoder) == (
        recipes.SMOKE_CLASSIFIER, recipes.SMOKE_GAN, recipes.SMOKE_ENCODER)
    data = load_dataset(smoke.dataset)
    c = recipes.classifier_config(smoke.classifier, data, seed=3, device="cpu")
    assert (c.model, c.epochs, c.batch_size, c.lr, c.seed) == ("classifier", 2, 16, 1e-2, 3)
    assert c.model_options == {"conv1": 4, "conv2": 8, "dense": 16, "num_classes": 3}
    assert c.lr_factors == [1.0] and c.lr_milestones == []
    g = recipes.gan_config(smoke.gan, data, seed=1, device="cpu", classifier="C")
    assert (g.model, g.nz, g.epochs, g.lr) == ("gan", 12, 10, 2e-3)
    assert {k: g.model_options[k] for k in ("g_width", "d_width", "beta1", "beta2",
                                            "classifier")} == {
        "g_width": 16, "d_width": 8, "beta1": 0.5, "beta2": 0.99, "classifier": "C"}
    # the manifests keep their flat names, in both studies
    flat = recipes.record(smoke.classifier, smoke.gan, smoke.encoder)
    assert list(flat)[:3] == ["nz", "clf_epochs", "clf_batch"] and flat["kl_weight"] == 1 / 25
    assert {k: smoke.settings()[k] for k in flat} == flat
    assert {k: DENOISE["smoke"].training()[k] for k in flat} == flat
