"""`latentdyn reproduce toledo2023` end to end at toy size (the hidden 'tiny' profile:
synthetic 8×8 images of 3 classes, a 12-d latent, networks of a few hundred weights)."""

import json
import shutil

import numpy as np
import pytest
import torch

from latentdyn.cli import main
from latentdyn.train.runs import inputs_changed
from latentdyn.errors import ConfigError
from latentdyn.figures import save_figure
from latentdyn.figures.save import read_csv
from latentdyn.figures.toledo import (amplitude_histograms, denoise_curves, gram_matrices,
                                      rotation_summary)
from latentdyn.reproduce import toledo2023 as study

CURVE_FIGURES = ("gram_matrices", "amplitude_histograms", "denoise_curves", "rotation_reading",
                 "decoded_quasi_eigenvectors", "gan_samples")
IMAGE_FIGURES = ("denoise_grid_gaussian", "denoise_grid_swap", "rotation_paths")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # tiny nets gain nothing from threads, and the machine is shared
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("toledo") / "out"
    assert cli("reproduce", "toledo2023", "--profile", "tiny", "--out", out, "--quiet",
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
    assert len(rot["angle_deg"]) == study.PROFILES["tiny"].rot_steps + 1
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
    assert str(study.LABEL_FRACTION_MIN) in by_id["T1"]["threshold"]
    assert by_id["T5"]["verdict"] == "reproduced"  # the basis is complete by construction
    assert "Rules (fixed in code before the run)" in (result / "claims.md").read_text()
    manifest = json.loads((result / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["config"]["name"] == "tiny" and manifest["data"]["checksums"]
    assert manifest["claims"]["total"] == 5
    assert {"train gan", "train encoder", "denoising", "rotations"} <= set(manifest["timings"])


def test_report(result):
    page = (result / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "Toledo" in page
    assert "The paper found" in page and "This run found" in page
    assert "tiny" in page and "reduced" in page  # the reduced settings are stated
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
    assert cli("reproduce", "toledo2023", "--profile", "tiny", "--out", result, "--quiet",
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
    assert cli("reproduce", "toledo2023", "--profile", "tiny", "--out", out, "--quiet",
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
        study.run(tmp_path / "x", "bogus")
    assert cli("reproduce", "toledo2023", "--profile", "bogus", "--out", tmp_path / "y") == 2
    # a classifier run is not an encoder run
    assert cli("reproduce", "toledo2023", "--profile", "tiny", "--out", tmp_path / "z",
               "--quiet", "--device", "cpu", "--encoder", result / "runs" / "classifier",
               "--classifier", result / "runs" / "classifier",
               "--judge", result / "runs" / "judge") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and "gan-encoder" in err
    # results of another setting are not overwritten silently
    assert cli("reproduce", "toledo2023", "--profile", "tiny", "--out", result, "--seed", 3,
               "--quiet") == 2
    assert "another setting" in capsys.readouterr().err
    assert cli("reproduce", "toledo2023", "--help") == 0
    text = capsys.readouterr().out
    assert "quick" in text and "paper" in text and "tiny" not in text


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
