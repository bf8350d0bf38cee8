"""End-to-end runs of `latentdyn reproduce nagano2017` and `latentdyn dynamics` at toy size."""

import json

import numpy as np
import pytest

from latentdyn.cli import main
from latentdyn.train import TrainConfig, train

DATA = "synthetic:m=20,side=6,test=5"  # 10 concepts, 200 memories of 36 pixels


def cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("n17") / "a"
    assert cli("reproduce", "nagano2017", "--profile", "smoke", "--dataset", DATA, "--nz", 6,
               "--out", out, "--quiet", "--device", "cpu") == 0
    return out


def test_reproduce_writes_report_figures_data_and_scorecard(smoke):
    for stem in ("fig1_sequence", "fig2_distance", "fig3a_concepts", "fig3b_pca",
                 "fig3c_cosine", "fig4_stages", "figA1_pca", "fig6_latent_size", "fig7_elbo",
                 "figB2_attribution"):
        assert (smoke / "figures" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (smoke / "figures" / f"{stem}.pdf").read_bytes()[:4] == b"%PDF"
        assert (smoke / "data" / f"{stem}.csv").stat().st_size > 0
    claims = json.loads((smoke / "claims.json").read_text())
    ids = [c["id"] for c in claims["claims"]]
    assert ids == ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"]
    for c in claims["claims"]:
        assert c["verdict"] in ("reproduced", "NOT reproduced", "not evaluated")
        assert c["run_value"] is not None
    html = (smoke / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 10 and "C8" in html
    manifest = json.loads((smoke / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["config"]["profile"] == "smoke"
    assert manifest["data"]["checksums"]
    # the model, the sweep points and the classifier are normal run folders
    assert (smoke / "model" / "model.safetensors").is_file()
    assert (smoke / "classifier" / "model.safetensors").is_file()
    assert (smoke / "sweep" / "summary.csv").is_file()


def test_reproduce_is_deterministic(smoke, tmp_path):
    again = tmp_path / "b"
    # reuse the trained model so only the experiments are repeated
    assert cli("reproduce", "nagano2017", "--profile", "smoke", "--dataset", DATA, "--nz", 6,
               "--out", again, "--quiet", "--device", "cpu", "--model", smoke / "model",
               "--no-latent-size") == 0
    for name in ("fig2_distance.csv", "fig4_stages.csv", "fig3c_cosine.csv"):
        assert (smoke / "data" / name).read_bytes() == (again / "data" / name).read_bytes()
    a = json.loads((smoke / "claims.json").read_text())["claims"]
    b = json.loads((again / "claims.json").read_text())["claims"]
    assert [c["run_value"] for c in a[:5]] == [c["run_value"] for c in b]


@pytest.mark.parametrize("args, message", [
    (["--trials", 1], "trials"),
    (["--noise", "blur"], "unknown noise"),
    (["--mode", "chaotic"], "unknown dynamics mode"),
    (["--dataset", "nope"], "unknown data set"),
])
def test_reproduce_bad_options(tmp_path, capsys, args, message):
    assert cli("reproduce", "nagano2017", "--profile", "smoke", "--dataset", DATA,
               "--out", tmp_path / "x", "--quiet", *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_reproduce_refuses_other_settings_in_out(smoke, capsys):
    before = (smoke / "claims.json").read_bytes()
    assert cli("reproduce", "nagano2017", "--profile", "smoke", "--dataset", DATA, "--seed", 3,
               "--out", smoke, "--quiet") == 2
    assert "another setting" in capsys.readouterr().err
    assert (smoke / "claims.json").read_bytes() == before


def test_dynamics_command_exports_npz(tmp_path, capsys):
    run = train(TrainConfig(dataset=DATA, nz=4, hidden=16, epochs=1, device="cpu"),
                tmp_path / "run", progress=False)
    out = tmp_path / "traj.npz"
    assert cli("dynamics", "--model", run, "--noise", "flip", "--p", "0.1,0.5", "--trials", 5,
               "--steps", 4, "--out", out, "--quiet") == 0
    with np.load(out) as z:
        assert z["z"].shape == (2, 5, 5, 4)
        assert z["d_concept"].shape == (2, 5, 5)
        assert z["min_memory"].shape == (2, 5)
        assert list(z["ps"]) == [0.1, 0.5]
        assert set(z["closest"]) <= {"memory", "concept", "abstract"}
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["trials"] == 5 and len(summary["closest"]) == 2
    assert "closest" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--p", "0.1,1.5"], "--p expects"),
    (["--trials", 1], "--trials"),
    (["--label", 42], "--label 42"),
])
def test_dynamics_bad_input(tmp_path, capsys, args, message):
    run = train(TrainConfig(dataset=DATA, nz=4, hidden=16, epochs=0, device="cpu"),
                tmp_path / "run", progress=False)
    assert cli("dynamics", "--model", run, "--quiet", "--steps", 2, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_dynamics_missing_run(tmp_path, capsys):
    assert cli("dynamics", "--model", tmp_path / "nothing", "--quiet") == 2
    assert "not a run folder" in capsys.readouterr().err
