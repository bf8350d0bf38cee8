"""latentdyn transition (issue 20) with known answers: a model built by hand whose
attraction switches from concepts to memories at a known step; the law's fit recovering
a known alpha; the twin test at its two limits; the prediction recorded before the
largest size is evaluated; an end-to-end smoke run through the command line."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from latentdyn.analysis import build_hierarchy
from latentdyn.analysis.twins import twin_test
from latentdyn.cli import main
from latentdyn.data import load_dataset
from latentdyn.studies.conditions.profiles import PROFILES as MAP_PROFILES
from latentdyn.studies.transition import law as L
from latentdyn.studies.transition.measure import snapshot_stats

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = "synthetic:k=4,m=10,side=8,test=5"
SWITCH = 16  # the step at which the hand-built model's attraction turns to memories
STEPS = [2, 4, 8, 16, 32, 64]


class Pull(torch.nn.Module):
    """The latent space is the image space (encode: identity); decode pulls z half way
    to its nearest concept (class mean) before ``SWITCH`` and to its nearest training
    image from then on, so repeated inference ends at a concept, then at a memory."""

    def __init__(self, images, labels, step):
        super().__init__()
        self.memories = images.flatten(1)
        classes = labels.unique()
        self.concepts = torch.stack([self.memories[labels == c].mean(0) for c in classes])
        self.to_memory = step >= SWITCH

    def encode(self, x):
        return x.flatten(1)

    def decode(self, z):
        targets = self.memories if self.to_memory else self.concepts
        nearest = targets[torch.cdist(z.detach(), targets).argmin(1)]
        return z + 0.5 * (nearest - z)


PROF = SimpleNamespace(trials=8, steps=30, p_dip=0.03, noises=("swap",), memories=5,
                       elbo_images=10)


def test_hand_built_switch_from_concepts_to_memories_at_its_step():
    data = load_dataset(DATA)
    ser = L.Series(len(data.train_labels), STEPS)
    train, held, shares = [], [], []
    for step in STEPS:
        model = Pull(data.train_images, data.train_labels, step)
        hier = build_hierarchy(model, data.train_images, data.train_labels)
        found = snapshot_stats(model, hier, data, PROF, seed=0)
        shares.append(found["stats"])
        train.append(np.asarray(found["trials"]["return_train"]))
        held.append(np.asarray(found["trials"]["return_held_out"]))
    for step, st in zip(STEPS, shares):
        if step < SWITCH:
            assert st["end_own_concept"] > 0.9 and st["end_own_memory"] == 0, (step, st)
            assert st["memorisation"] < L.MEMORY_THRESHOLD
        else:
            assert st["end_own_memory"] > 0.9 and st["return_held_out"] < 0.2, (step, st)
            assert st["memorisation"] > 0.7
        assert st["elbo_gap"] is None  # the hand-built model has no ELBO
    ser.train.append(np.stack(train))
    ser.held_out.append(np.stack(held))
    t = L.tau(ser, "memory", boot=50)
    assert t.point == SWITCH and t.lo == SWITCH and t.hi == SWITCH


def _taus(alpha, sizes, noise, rng, boot=200):
    out = {}
    for n in sizes:
        point = 3.0 * n ** alpha * math.exp(rng.normal(0, noise))
        out[n] = L.Tau(point, 0, 0, point * np.exp(rng.normal(0, noise, boot)))
        out[n].lo, out[n].hi = L._interval(out[n].reps)
    return out


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_the_fit_recovers_a_known_alpha_and_predicts_the_largest(alpha):
    rng = np.random.default_rng(0)
    sizes = [250, 500, 1000, 2000, 4000]
    taus = _taus(alpha, sizes, 0.05, rng)
    law = L.fit_law(taus)
    assert law.lo <= alpha <= law.hi and abs(law.alpha - alpha) < 0.1
    pred = L.predict({n: taus[n] for n in sizes[:-1]}, sizes[-1])
    checked = L.check_prediction(pred, taus[sizes[-1]])
    assert checked["holds"] is True and abs(pred["alpha"] - alpha) < 0.15
    # a largest size that breaks the law is reported as failing
    broken = L.Tau(taus[4000].point * 8, taus[4000].lo * 8, taus[4000].hi * 8, taus[4000].reps * 8)
    assert L.check_prediction(pred, broken)["holds"] is False
    # the largest beyond a grid that ends at 8 192 steps: it fails a prediction inside
    # the grid, and cannot test one that reaches beyond it
    never = L.Tau(math.inf, math.inf, math.inf, np.full(10, math.inf))
    inside = {**pred, "lo": 1000.0, "hi": 4000.0}
    assert L.check_prediction(inside, never, last_step=8192)["holds"] is False
    reaching = {**pred, "lo": 4000.0, "hi": 20000.0}
    untested = L.check_prediction(reaching, never, last_step=8192)
    assert untested["holds"] is None and untested["verdict"].startswith("not tested")
    # one size inside the grid: no law, said so
    beyond = {n: L.Tau(math.inf, math.inf, math.inf, np.full(10, math.inf)) for n in sizes[1:]}
    none = L.fit_law({sizes[0]: taus[sizes[0]], **beyond})
    assert none.alpha is None and none.fitted == 1


def test_twin_test_at_its_two_limits():
    data = load_dataset(DATA)
    a = Pull(data.train_images, data.train_labels, 64)  # memories: every training image
    x0 = data.test_images
    same = twin_test(a, a, x0, data.train_images, data.train_labels, steps=20)
    assert same.relative_distance == 0 and same.agreement == 1
    # unrelated: a twin that recalls a random other training image for each of a's
    other_model = Pull(data.train_images, data.train_labels, 64)
    perm = torch.randperm(len(data.train_labels), generator=torch.Generator().manual_seed(1))

    def unrelated(z):
        targets = other_model.memories
        return targets[perm[torch.cdist(z.detach(), targets).argmin(1)]]

    other_model.decode = unrelated
    x0 = torch.cat([data.test_images] * 5)
    other = twin_test(a, other_model, x0, data.train_images, data.train_labels, steps=21)
    assert 0.7 < other.relative_distance < 1.3 and other.agreement < 0.5
    assert other.chance <= 1


def test_profiles_keep_the_conditions_grids_and_snapshots_axis():
    for prof in MAP_PROFILES.values():  # the conditions map's settings read as before
        assert "snapshots" not in prof.settings() and "constant_lr" not in prof.settings()
    from latentdyn.studies.transition import PROFILES
    quick = PROFILES["quick"]
    assert quick.snapshots[0] == 16 and quick.snapshots[-1] == quick.max_steps
    assert quick.constant_lr and len(quick.sizes) >= 3


def test_smoke_end_to_end_with_the_prediction_first(tmp_path, capsys, monkeypatch):
    from latentdyn.studies.transition import stages

    seen = []
    original = stages._rows_of

    def spy(spec, s, folder, summaries, series):
        # the run's staging folder: the prediction is there before the largest size
        preds = list(folder.parent.rglob("prediction.json")) + list(folder.rglob("prediction.json"))
        seen.append((spec.n_train, bool(preds)))
        return original(spec, s, folder, summaries, series)

    monkeypatch.setattr(stages, "_rows_of", spy)
    out = tmp_path / "t"
    assert main(["transition", "--profile", "smoke", "--quiet", "--device", "cpu",
                 "--out", str(out)]) == 0
    assert seen == [(20, False), (40, False), (80, True)]
    result = json.loads((out / "transition.json").read_text())
    assert {"alpha", "prediction", "by_setting", "rules"} <= set(result)
    assert result["prediction"]["n"] == 80 and result["prediction"]["fitted_on"] == [20, 40]
    rows = (out / "data" / "cells.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3 * 3  # sizes x snapshots 16, 32, 64
    assert "twin_relative_distance" in rows[0] and "memorisation" in rows[0]
    html = (out / "report.html").read_text()
    assert "The law" in html and "Phase diagram" in html
    assert "local stability and the twin test" in html  # the smoke profile trains twins
    for name in ("phase_", "collapse_", "curves"):
        assert any(p.name.startswith(name) for p in (out / "figures").iterdir())
    # the snapshots were trained once and are reused: a second call trains nothing
    assert main(["transition", "--profile", "smoke", "--quiet", "--device", "cpu",
                 "--out", str(out), "--overwrite"]) == 0


def test_placement_of_a_model_on_the_map():
    from latentdyn.studies.transition.placement import placement

    times = {"concept": {"1000": {"tau": 64.0}, "4000": {"tau": 64.0}},
             "memory": {"1000": {"tau": 1024.0}, "4000": {"tau": 4096.0}}}
    result = {"by_setting": {"mnist-embedded|14": {
        "times": times, "alpha": {"memory": {"alpha": 1.0}, "concept": {"alpha": 0.0}}}}}
    late = placement(2000, 19000, result, "mnist-embedded")
    assert "τ_mem ≈ 2.05e+03" in late and "past the time at which memories take over" in late
    window = placement(4000, 1000, result)
    assert "concept window" in window
    assert "less than τ_concept" in placement(1000, 10, result)
    beyond = {"by_setting": {"x|2": {"times": {"concept": {"10": {"tau": None}},
                                               "memory": {"10": {"tau": None}}},
                                     "alpha": {}}}}
    assert "beyond the map's grid" in placement(10, 5, beyond)


def test_bad_grids_are_one_line(tmp_path, capsys):
    for args, message in ((["--sizes", "40,20"], "ascending"), (["--sizes", "20,all"], "numbers"),
                          (["--training-steps", "8"], "--training-steps"),
                          (["--sizes", "20"], "at least two"),
                          (["--twins", "--no-twins"], "contradict")):
        rc = main(["transition", "--profile", "smoke", "--quiet", "--device", "cpu",
                   "--out", str(tmp_path / "t"), *args])
        err = capsys.readouterr().err
        assert rc == 2 and err.startswith("error:") and message in err, (args, err)
    assert not (tmp_path / "t").exists()


def test_quick_trains_no_twins_unless_asked():
    from types import SimpleNamespace

    from latentdyn.studies.transition.inputs import _profile

    base = dict(profile="quick", max_steps=None, datasets=None, sizes=None, nz=None,
                seeds=None, trials=None)
    assert not _profile(SimpleNamespace(**base, twins=False, no_twins=False)).twins
    assert _profile(SimpleNamespace(**base, twins=True, no_twins=False)).twins
    smoke = {**base, "profile": "smoke"}
    assert _profile(SimpleNamespace(**smoke, twins=False, no_twins=False)).twins
    assert not _profile(SimpleNamespace(**smoke, twins=False, no_twins=True)).twins


def test_no_twins_trains_none(tmp_path):
    out = tmp_path / "t"
    assert main(["transition", "--profile", "smoke", "--quiet", "--device", "cpu",
                 "--out", str(out), "--no-twins", "--sizes", "20,40"]) == 0
    assert not any("twin" in p.name for p in (out / "sweeps").iterdir())
    assert "twin_agreement" not in (out / "data" / "cells.csv").read_text().splitlines()[0]
    intro = (out / "report.html").read_text()
    assert "the twin test not run: --twins adds it" in intro


def test_the_report_says_what_each_figure_shows():
    from latentdyn.studies.transition import report as R

    def row(n, step, dominant, dip, mem, gap):
        ends = {f"end_{e}": 0.0 for e in R.ENDS}
        ends[f"end_{dominant}"] = 0.9
        return {"dataset": "d", "nz": 2, "size": n, "step": step, "dip_fraction": dip,
                "memorisation": mem, "elbo_gap": gap, **ends}

    rows = [row(100, 16, "none", 0.0, 0.0, 1.0), row(100, 32, "abstract", 0.9, 0.0, 2.0),
            row(100, 64, "abstract", 0.5, 0.1, 3.0), row(100, 128, "own_memory", 0.0, 0.6, 9.5),
            row(200, 16, "none", 0.0, 0.0, 1.0), row(200, 128, "own_concept", 0.7, 0.0, 2.0)]
    assert R.phase_words(rows, "d|2") == (
        "Where most trajectories end, per size (steps): n = 100: none (16) → abstract (32–64) "
        "→ own memory (128); n = 200: none (16) → own concept (128).")
    assert R.curve_words(rows, "d|2").startswith(
        "n = 100: the dip in 90% of labels at step 32 (its peak), at step 128 memorisation "
        "0.60 and a train − test ELBO gap of 9.5 nats; n = 200:")
    taus = {100: L.Tau(1000.0, 1000, 1000, np.zeros(0)), 200: L.Tau(4000.0, 4000, 4000,
                                                                   np.zeros(0)),
            400: L.Tau(math.inf, math.inf, math.inf, np.zeros(0))}
    words = R.collapse_words(taus, 2.0)
    assert "n = 100: 0.1, n = 200: 0.1 (largest / smallest 1.00" in words
    assert R.collapse_words(taus, None).startswith("τ_mem lies inside the grid at 2 size(s)")
