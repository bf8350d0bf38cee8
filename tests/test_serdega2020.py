import json

import pytest
import torch

from latentdyn.cli import main
from latentdyn.errors import ConfigError
from latentdyn.reproduce import serdega2020 as study


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # tiny nets gain nothing from threads, and on a busy machine idle-spinning
    # intra-op threads make them many times slower
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """One toy-size end-to-end run of the command (the hidden 'tiny' profile)."""
    out = tmp_path_factory.mktemp("serdega") / "out"
    rc = main(["reproduce", "serdega2020", "--profile", "tiny", "--out", str(out), "--quiet",
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
    assert manifest["config"]["name"] == "tiny" and manifest["config"]["lam_joint"] > 0
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
    assert runs == ["joint-lam0-seed0", f"joint-lam{study.PROFILES['tiny'].lam_joint:g}-seed0"]
    cfg = json.loads((result / "runs" / next((result / "runs").iterdir()).name
                      / "joint-lam0-seed0" / "config.json").read_text())
    assert cfg["model"] == "vmi" and cfg["model_options"]["lam"] == 0.0


def test_report(result):
    page = (result / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Serdega" in page and "Claims scorecard" in page
    assert "tiny" in page and "reduced" in page  # the reduced settings are stated
    assert "Concept attraction with and without the MI term" in page
    assert page.count("data:image/png;base64,") >= 8


def test_profiles_and_errors(capsys):
    assert set(study.PUBLIC_PROFILES) == {"quick", "paper"}
    with pytest.raises(ConfigError, match="unknown profile"):
        study.run("bogus", "unused")
    with pytest.raises(ConfigError, match="lam"):
        study.run("tiny", "unused", lam=-1.0)
    assert main(["reproduce", "serdega2020", "--profile", "bogus"]) == 2
    assert main(["reproduce", "serdega2020", "--help"]) == 0
    text = capsys.readouterr().out
    assert "quick" in text and "paper" in text and "tiny" not in text
