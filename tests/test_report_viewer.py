"""The report viewer (reporting/viewer.py): a self-contained HTML fragment with the
frames and curves embedded, and the report `latentdyn dynamics` writes with it. The
browser half of its test (file:// URL, slider) is in tests/test_explore_browser.py."""

import base64
import json
import re

import numpy as np
import pytest
import torch

from latentdyn.analysis.trials import level_seed, run_trials
from latentdyn.cli import main
from latentdyn.data import load_dataset
from latentdyn.errors import ConfigError
from latentdyn.reporting.viewer import trajectory_viewer, viewer_data
from latentdyn.train import TrainConfig, train
from latentdyn.train.runs import load_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = "synthetic:k=3,m=20,side=8,test=6"


def embedded(fragment: str) -> dict:
    raw = re.search(r'<script type="application/json" class="ld-viewer-data">(.*?)</script>',
                    fragment, re.S).group(1)
    return json.loads(raw)


def toy(n=2, frames=5, h=3, w=4, seed=0):
    g = np.random.default_rng(seed)
    return g.random((n, frames, h, w)), {"own memory": g.random((n, frames)),
                                         "concept": g.random((n, frames))}


def test_fragment_is_self_contained_and_deterministic():
    frames, curves = toy()
    html = trajectory_viewer(frames, curves, labels=["a </script><b>", "b"], title="T < 3")
    assert not re.search(r"https?:", html)  # no URL at all: nothing to fetch
    assert html.count("<script") == 2 and html.count("</script>") == 2  # label escaped
    assert "<style>" in html and "ld-viewer" in html
    assert html == trajectory_viewer(frames, curves, labels=["a </script><b>", "b"],
                                     title="T < 3")
    data = embedded(html)
    assert data["trajectories"][0]["label"] == "a </script><b>"
    assert data["curves"] == ["own memory", "concept"] and data["T"] == 4
    got = np.frombuffer(base64.b64decode(data["trajectories"][1]["frames"]), np.uint8)
    np.testing.assert_array_equal(got, np.round(frames[1] * 255).astype(np.uint8).ravel())
    np.testing.assert_allclose(data["trajectories"][1]["distances"]["concept"],
                               curves["concept"][1], atol=1e-5)


def test_flat_frames_one_trajectory_and_sparse_steps():
    flat = np.linspace(0, 1, 3 * 6).reshape(3, 6)  # (F, D), D = 2 x 3
    data = viewer_data(flat, {"d": np.arange(9.0)}, steps=[0, 4, 8], image_shape=(2, 3),
                       readings=[1, 1, 2])
    assert data["shape"] == [2, 3] and data["steps"] == [0, 4, 8] and data["T"] == 8
    assert len(data["trajectories"]) == 1
    assert data["trajectories"][0]["readings"] == ["1", "1", "2"]
    assert viewer_data(np.zeros((3, 2, 2)))["T"] == 2  # no curves: T from the frames


@pytest.mark.parametrize("args, kwargs, words", [
    ((np.zeros((2, 5, 3, 4)), {"d": np.zeros((3, 5))}), {}, "n = 2 trajectories"),
    ((np.zeros((1, 5, 3, 4)), {"d": np.zeros(5), "e": np.zeros(6)}), {}, "different lengths"),
    ((np.zeros((1, 5, 3, 4)), {"d": np.zeros(3)}), {}, "beyond the curves' T = 2"),
    ((np.full((1, 2, 2, 2), np.nan),), {}, "NaN"),
    ((np.zeros((1, 2, 2, 2)), {"d": [np.inf, 0]}), {}, "NaN or infinite"),
    ((np.zeros((5, 7)),), {"image_shape": (2, 3)}, "do not hold images"),
    ((np.zeros((1, 3, 2, 2)),), {"steps": [0, 2, 1]}, "increasing"),
    ((np.zeros((2, 3, 2, 2)),), {"labels": ["only one"]}, "labels names 1"),
    ((np.zeros((2, 3, 2, 2)),), {"readings": np.zeros((2, 2))}, "readings must be"),
    ((np.zeros(4),), {}, "frames must be"),
])
def test_bad_viewer_input_is_one_line(args, kwargs, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        trajectory_viewer(*args, **kwargs)


def test_too_much_data_is_refused():
    with pytest.raises(ConfigError, match="show fewer"):
        trajectory_viewer(np.zeros((4, 50, 28, 28)), max_bytes=100_000)


# ----------------------------------------------------------------- latentdyn dynamics
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train(TrainConfig(dataset=DATA, nz=4, hidden=16, epochs=1, device="cpu"),
                 tmp_path_factory.mktemp("viewer") / "vae", progress=False)


def cli(*args) -> int:
    return main([str(a) for a in args])


def test_dynamics_report_embeds_the_trials_frames_and_distances(run, tmp_path):
    out = tmp_path / "d.npz"
    assert cli("dynamics", "--model", run, "--trials", 5, "--steps", 6, "--p", "0.1,0.4",
               "--seed", 3, "--report-trials", 2, "--out", out, "--quiet") == 0
    page = (tmp_path / "d.html").read_text()
    assert not re.search(r"https?:", page)
    assert page.count('class="ld-viewer"') == 2  # one viewer per noise level
    manifest = json.loads((tmp_path / "d.manifest.json").read_text())
    assert manifest["outputs"]["report"] == "d.html"
    model, _ = load_run(run)
    data = load_dataset(DATA)
    views = [json.loads(m) for m in re.findall(
        r'class="ld-viewer-data">(.*?)</script>', page, re.S)]
    with np.load(out) as npz:
        for k, p in enumerate((0.1, 0.4)):
            idx, traj = run_trials(model, data.train_images, data.train_labels, None, 5,
                                   "swap", p, 6, "deterministic", level_seed(3, k),
                                   record_x="all")
            assert np.array_equal(idx.numpy(), npz["memory_index"][k])
            assert len(views[k]["trajectories"]) == 2 and views[k]["T"] == 6
            for i, tr in enumerate(views[k]["trajectories"]):
                got = np.frombuffer(base64.b64decode(tr["frames"]), np.uint8).reshape(7, 64)
                want = (traj.x[i].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
                assert np.abs(got.astype(int) - want).max() <= 1  # x(t) of the run itself
                np.testing.assert_array_equal(got[0], want[0])  # x(0): the corrupted input
                np.testing.assert_allclose(tr["distances"]["concept"], npz["d_concept"][k, i],
                                           atol=1e-5)


def test_dynamics_without_a_report_and_refusals(run, tmp_path, capsys):
    out = tmp_path / "n.npz"
    assert cli("dynamics", "--model", run, "--trials", 3, "--steps", 2, "--report-trials", 0,
               "--out", out, "--quiet") == 0
    assert not (tmp_path / "n.html").exists()
    capsys.readouterr()
    (tmp_path / "r.html").write_text("keep me")
    assert cli("dynamics", "--model", run, "--trials", 3, "--steps", 2, "--out",
               tmp_path / "r.npz", "--quiet") == 2
    assert "r.html: exists" in capsys.readouterr().err
    assert (tmp_path / "r.html").read_text() == "keep me" and not (tmp_path / "r.npz").exists()
    for args, words in ((["--report-trials", -1], "--report-trials must be >= 0"),
                        (["--report-trials", 100, "--trials", 100, "--steps", 2000],
                         "lower --report-trials")):
        assert cli("dynamics", "--model", run, "--trials", 3, "--steps", 2, *args, "--out",
                   tmp_path / "x.npz", "--quiet") == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and words in err and err.count("\n") == 1
        assert not list(tmp_path.glob("x.*"))


def test_dynamics_report_opens_on_the_average_of_all_trials_without_leftovers(run, tmp_path):
    out = tmp_path / "d.npz"
    assert cli("dynamics", "--model", run, "--trials", 6, "--steps", 4, "--p", "0.2",
               "--seed", 1, "--report-trials", 2, "--out", out, "--quiet") == 0
    page = (tmp_path / "d.html").read_text()
    for leftover in ("No claims were evaluated", "Claims scorecard", "The paper found",
                     "no paper", "trajectories: d.npz"):
        assert leftover not in page, leftover
    assert "d.npz (trajectories)" in page and "mean of all 6 trials" in page
    view = json.loads(re.findall(r'class="ld-viewer-data">(.*?)</script>', page, re.S)[0])
    avg = view["average"]
    assert avg["n"] == 6 and len(view["trajectories"]) == 2
    with np.load(out) as npz:
        d = npz["d_concept"][0]  # (6, T+1): every trial's distance to its concept
        np.testing.assert_allclose(avg["distances"]["concept"], d.mean(0), atol=1e-5)
        np.testing.assert_allclose(avg["sem"]["concept"], d.std(0, ddof=1) / np.sqrt(6),
                                   atol=1e-5)
    mean_x = np.frombuffer(base64.b64decode(avg["frames"]), np.uint8).reshape(5, 64)
    assert mean_x.std() > 0


def test_viewer_refuses_an_average_that_does_not_fit():
    from latentdyn.errors import ConfigError

    frames = np.zeros((2, 3, 4, 4))
    curves = {"concept": np.ones((2, 3))}
    good = {"label": "mean", "n": 2, "frames": np.zeros((3, 4, 4)),
            "distances": {"concept": np.ones(3)}, "sem": {"concept": np.zeros(3)}}
    assert "ld-viewer" in trajectory_viewer(frames, curves, average=good)
    for bad, words in [({**good, "frames": np.zeros((2, 4, 4))}, "one per frame step"),
                       ({**good, "distances": {"memory": np.ones(3)}}, "same curves"),
                       ({**good, "sem": {"concept": np.zeros(5)}}, "has 5 steps"),
                       ({"label": "x"}, "must be a mapping")]:
        with pytest.raises(ConfigError, match=words):
            trajectory_viewer(frames, curves, average=bad)
