import json

import pytest
import torch

from latentdyn.cli import main
from latentdyn.errors import ConfigError, LatentdynError
from latentdyn.reproduce import serdega2020 as study
from latentdyn.reproduce.serdega2020.claims import (ACC_GAIN, accuracy_claim, family_claims,
                                                    gap_claim, mi_gain_claim)
from latentdyn.reproduce.serdega2020.measures import Measures


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
def _measures(family="joint", chosen=("z0", "cat"), stats0=None, stats1=None, gaps=None,
              acc=((0.3,), (0.5,))):
    codes = ["z0", "z1", "cat"]
    stats0 = stats0 or {c: (0.1, 0.01) for c in codes}
    stats1 = stats1 or {c: (0.1, 0.01) for c in codes}
    return Measures(tag=family, family=family, lams=(0.0, 10.0), n_seeds=len(acc[0]),
                    codes=codes, chosen=set(chosen), stats={0.0: stats0, 10.0: stats1},
                    gaps=gaps or {}, test_elbo={0.0: [-40.0], 10.0: [-41.0]},
                    cat_acc={0.0: list(acc[0]), 10.0: list(acc[1])})


def test_mi_gain_claim():
    up = {"z0": (1.0, 0.01), "z1": (0.1, 0.01), "cat": (2.0, 0.01)}
    c = mi_gain_claim(_measures(stats1=up))
    assert c.id == "S1-joint" and c.reproduced is True
    assert list(c.run_value) == ["z0", "cat"] and c.run_value["z0"] == 0.9
    # one chosen code does not rise by 2 pooled sd: not reproduced
    c = mi_gain_claim(_measures(stats1={**up, "cat": (0.11, 0.01)}))
    assert c.reproduced is False
    # nothing chosen: not evaluated
    assert mi_gain_claim(_measures(chosen=())).reproduced is None


def test_gap_claim():
    assert gap_claim(_measures()) is None  # no gaps without chosen and unchosen units
    c = gap_claim(_measures(gaps={0.0: [0.0, 0.01], 10.0: [0.5, 0.52]}))
    assert c.id == "S2-joint" and c.reproduced is True
    assert c.run_value == {"gap λ>0": 0.51, "gap λ=0": 0.005}
    assert gap_claim(_measures(gaps={0.0: [0.0, 0.01], 10.0: [-0.5, -0.4]})).reproduced is False


def test_accuracy_claim():
    assert accuracy_claim(_measures(family="gauss")) is None
    c = accuracy_claim(_measures(acc=((0.3,), (0.3 + 2 * ACC_GAIN,))))
    assert c.id == "S3-joint" and c.reproduced is True
    assert c.details == "one training seed: no spread over seeds"
    c = accuracy_claim(_measures(acc=((0.3, 0.32), (0.31, 0.33))))
    assert c.reproduced is False and c.details.startswith("sd over seeds")
    ids = [c.id for c in family_claims(_measures(gaps={0.0: [0.0], 10.0: [0.1]}))]
    assert ids == ["S1-joint", "S2-joint", "S3-joint"]
