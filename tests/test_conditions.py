"""The conditions map: the grid and its training amounts, the nested subsets, the
heat-map aggregation and the findings in words on hand-built cells with known answers,
the study's shape (its command built from Params, lists from Python and text from the
command line), one end-to-end run of `latentdyn conditions --profile smoke` (resumed,
refused, bad options) and one of the Python API."""

import csv
from html import escape as html_escape
import json

import pytest
import torch

from latentdyn.cli import main
from latentdyn.data import load_dataset
from latentdyn.errors import ConfigError
from latentdyn.studies.conditions import PROFILES
from latentdyn.studies.conditions import grid as G
from latentdyn.studies.conditions import report as R
from latentdyn.studies.conditions.inputs import override


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def cli(*args):
    return main([str(a) for a in args])


# ------------------------------------------------------------------ the grid
def test_training_amounts_equal_epochs_or_equal_steps():
    assert G.parse_training("epochs=30").epochs_for(10000, 100) == 30
    steps = G.parse_training(" steps = 18000 ".replace(" ", ""))
    # 30 epochs of 60 000 images = 18 000 steps = 180 epochs of 10 000 (the case)
    assert steps.epochs_for(10000, 100) == 180 and steps.epochs_for(60000, 100) == 30
    assert steps.epochs_for(1000, 100) == 1800
    assert G.parse_training("steps=5").epochs_for(1000, 100) == 1  # at least one epoch
    for bad in ("epochs", "steps=0", "minutes=3", "epochs=x"):
        with pytest.raises(ConfigError, match="epochs=E or steps=S"):
            G.parse_training(bad)
    assert G.parse_size("all") == "all" and G.parse_size("300") == 300
    for bad in ("1", "many", 2.5):
        with pytest.raises(ConfigError):
            G.parse_size(bad)


def test_plan_shares_models_and_skips_what_the_data_cannot_give():
    prof = override(PROFILES["smoke"], sizes=["20", "all", "500"])
    data = load_dataset(prof.datasets[0])  # 60 training images, batch 10
    plan = G.plan(prof, {prof.datasets[0]: data})
    assert plan.skipped == [f"size 500 on {prof.datasets[0]}: it has only 60 training images"]
    # epochs=1 and steps=4 at 60 images (6 steps an epoch) are one model: 3 sweeps, not 4
    assert sorted(g.epochs for g in plan.groups.values()) == [1, 1, 2]
    assert len(plan.models) == 2 * 2 * 2  # sizes x trainings x nz
    shared = [m for m in plan.models if m.size == "all"]
    assert len({(m.group, m.point) for m in shared}) == 2
    assert {m.steps for m in plan.models if m.size == "20"} == {2, 4}


def test_subsets_are_nested_seeded_and_keep_the_test_set():
    data = load_dataset("synthetic:k=4,m=15,side=6,test=5")
    small, large = G.subset(data, 10), G.subset(data, 30)
    rows = {tuple(r.tolist()) for r in large.train_images}
    assert all(tuple(r.tolist()) in rows for r in small.train_images)
    assert torch.equal(small.test_images, data.test_images)
    assert torch.equal(G.subset(data, 10).train_images, small.train_images)
    assert G.subset(data, 60) is data
    assert len(set(small.train_labels.tolist())) > 1  # not the first concept only


def test_overrides_are_checked():
    prof = PROFILES["smoke"]
    for kwargs, message in ((dict(noises=["blur"]), "noise"), (dict(modes=["x"]), "mode"),
                            (dict(nz=[0]), "latent-sizes"), (dict(trials=1), "trials"),
                            (dict(rows="size", cols="size"), "three different axes"),
                            (dict(sizes=["20", "20"]), "each once"),
                            (dict(trainings=["hours=2"]), "epochs=E")):
        with pytest.raises(ConfigError, match=message):
            override(prof, **kwargs)


# ------------------------------------------------------------------ hand-built cells
def cell(size, training, nz=100, holds=True, noise="swap", mode="deterministic", seed=0,
         **extra):
    row = {"dataset": "d", "size": size, "training": training, "nz": nz, "seed": seed,
           "noise": noise, "mode": mode, "status": "completed", "classes": 10,
           "dip_count": 10 if holds else 3, "dip_count_old": 10, "stages_all": holds, "picture_holds": holds,
           "stages_ordered_old": True, "picture_holds_old": holds,
           "below_start": 10 if holds else 0, "converged_share": 0.5, "drifting_share": 0.1,
           "cycling_share": 0.0, "unsettled_share": 0.4, "converged_share_old": 0.9,
           "contraction_share": 0.9, "dip_fraction": 1.0 if holds else 0.3}
    row.update(extra)
    return row


AXES_OF = {"dataset": ["d"], "size": [1000, 10000], "training": ["epochs=30", "steps=18000"],
           "nz": [100], "seed": [0, 1], "noise": ["swap"], "mode": ["deterministic"]}


def test_findings_say_where_the_picture_holds():
    # the picture needs training length, not data: it holds wherever 18 000 steps were
    # taken, and at 30 epochs only on the large set
    cells = [cell(1000, "epochs=30", holds=False, seed=s) for s in (0, 1)] + \
            [cell(10000, "epochs=30", seed=s) for s in (0, 1)] + \
            [cell(n, "steps=18000", seed=s) for n in (1000, 10000) for s in (0, 1)]
    words = R.findings(cells, AXES_OF)
    assert words[0].startswith("The paper's picture") and "holds in 6 of 8" in words[0]
    assert "by the dip rule before issue 19 (t* chosen on the trials it then tests) C1 held " \
           "in 8; by both old rules the picture held in 6." in words[1]
    assert "By size, the picture holds in: 1000 2/4, 10000 4/4 cells. It holds in every " \
           "cell with size = 10000." in words
    assert any(w.startswith("By training") and "every cell with training = steps=18000" in w
               for w in words)
    assert "With epochs=30, the picture holds in at least half of the cells at sizes: " \
           "10000 (of 1000, 10000)." in words
    assert "With steps=18000, the picture holds in at least half of the cells at sizes: " \
           "1000, 10000 (of 1000, 10000)." in words


def test_heat_panels_average_seeds_and_hold_other_axes_at_the_paper_setting():
    cells = [cell(1000, "epochs=30", holds=s == 0, seed=s) for s in (0, 1)] + \
            [cell(10000, "epochs=30", seed=0), cell(10000, "epochs=30", seed=0,
                                                     noise="flip", holds=False)]
    axes = {**AXES_OF, "noise": ["swap", "flip"]}
    panels, rows, cols, fixed = R.heat_panels(cells, axes, "training", "size", "nz",
                                              "picture_holds")
    assert rows == ["epochs=30", "steps=18000"] and cols == [1000, 10000]
    assert fixed == {"dataset": "d", "noise": "swap", "mode": "deterministic"}
    grid = panels[100]
    assert grid[0, 0] == 0.5 and grid[0, 1] == 1.0  # flip is not the paper's setting
    assert torch.isnan(torch.tensor(grid[1])).all()  # no cell there
    assert R.order("size", ["all", 3000, 1000]) == [1000, 3000, "all"]
    assert R.reference("nz", [5, 14]) == 14 and R.reference("size", [1000, "all"]) == "all"


# ------------------------------------------------------------------ the command
@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("conditions") / "map"
    assert cli("conditions", "--profile", "smoke", "--out", out, "--quiet",
               "--device", "cpu") == 0
    torch.set_num_threads(before)
    return out


def rows_of(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_conditions_command_writes_every_cell_maps_and_words(smoke):
    rows = rows_of(smoke / "data" / "cells.csv")
    # sizes 20, all x trainings x nz 2, 3 x noises swap, flip x both modes
    assert len(rows) == 2 * 2 * 2 * 2 * 2
    assert all(r["status"] == "completed" for r in rows)
    assert {r["mode"] for r in rows if r["converged_share"] == ""} == {"sampling"}
    for r in rows:
        assert 0 <= int(r["dip_count"]) <= int(r["classes"]) == 4
        assert abs(float(r["width_memory"]) + float(r["width_concept"])
                   + float(r["width_abstract"]) - 1) < 1e-9
        assert (r["picture_holds"] == "1") == (r["dip_count"] == "4"
                                               and r["stages_count"] == "4")
        assert (r["stages_all"] == "1") == (r["stages_count"] == "4")
        if r["mode"] == "deterministic":  # the four fates, unsettled included, sum to 1
            assert abs(sum(float(r[f"{k}_share"]) for k in ("converged", "cycling",
                                                            "drifting", "unsettled")) - 1) < 1e-9
            assert float(r["converged_share"]) <= float(r["converged_share_old"]) + 1e-12
    # the two trainings at 60 images share one model; at 20 images they are two
    same = {(r["nz"], r["training"]): r["model"] for r in rows if r["size"] == "all"}
    assert same[("2", "epochs=1")] == same[("2", "steps=4")]
    assert {r["steps"] for r in rows if r["size"] == "20"} == {"2", "4"}
    for stem in ("training_size", "noise_mode"):
        assert (smoke / "figures" / f"conditions_{stem}.png").read_bytes()[:4] == b"\x89PNG"
    maps = {stem: rows_of(smoke / "data" / f"conditions_{stem}.csv")
            for stem in ("training_size", "noise_mode")}
    # model properties are not drawn over noise x mode; every cell of a map is listed
    assert "memories with ρ < 1" in {r["statistic"] for r in maps["training_size"]}
    assert "memories with ρ < 1" not in {r["statistic"] for r in maps["noise_mode"]}
    assert len(maps["training_size"]) == 9 * 2 * 2 * 2  # statistics x nz x rows x cols
    found = json.loads((smoke / "conditions.json").read_text())["findings"]
    html = (smoke / "report.html").read_text()
    assert found[0].startswith("The paper's picture")
    assert html_escape(found[0].split(" (")[0]) in html
    manifest = json.loads((smoke / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["kind"] == "conditions"
    assert manifest["config"]["profile"] == "smoke" and set(manifest["timings"]) >= {
        "train", "evaluate", "report"}
    assert (smoke / "sweeps").is_dir() and list((smoke / "subsets").glob("*.npz"))
    sweeps = [json.loads(p.read_text()) for p in (smoke / "sweeps").glob("*/sweep.json")]
    assert len(sweeps) == 3 and all(s["status"] == "completed" for s in sweeps)


def test_conditions_rerun_reuses_models_and_cells(smoke, capsys):
    before = (smoke / "data" / "cells.csv").read_bytes()
    stamp = {p: p.stat().st_mtime_ns for p in (smoke / "cells").rglob("*.json")}
    assert cli("conditions", "--profile", "smoke", "--out", smoke, "--quiet",
               "--device", "cpu") == 0
    assert (smoke / "data" / "cells.csv").read_bytes() == before
    assert {p: p.stat().st_mtime_ns for p in (smoke / "cells").rglob("*.json")} == stamp
    # another setting in the same folder: refused, nothing changed
    assert cli("conditions", "--profile", "smoke", "--out", smoke, "--quiet", "--trials",
               "3", "--device", "cpu") == 2
    assert "another setting" in capsys.readouterr().err
    assert (smoke / "data" / "cells.csv").read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["--training", "hours=3"], "epochs=E"),
    (["--noises", "blur"], "noise"),
    (["--latent-sizes", "0"], "latent-sizes"),
    (["--latent-sizes", "a,b"], "integers"),
    (["--rows", "size", "--cols", "size"], "three different axes"),
    (["--sizes", "5000"], "no model"),
    (["--datasets", "nope"], "unknown data set"),
    (["--trials", str(2**40)], "trials"),
    (["--workers", "0"], "workers"),
])
def test_conditions_bad_options(tmp_path, capsys, args, message):
    out = tmp_path / "bad"
    assert cli("conditions", "--profile", "smoke", "--out", out, "--quiet", *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and message in err[-1]
    assert not out.exists()


def test_backend_pass_through_only_what_the_sweep_engine_takes(monkeypatch, tmp_path):
    monkeypatch.setattr(G, "sweep_backend_keywords", lambda: [])
    with pytest.raises(ConfigError, match="takes no --backend"):
        from latentdyn.studies.conditions import run
        run("smoke", tmp_path / "x", backend="ray", quiet=True)
    assert not (tmp_path / "x").exists()



# ------------------------------------------------------------------ the study's shape
# the options of `latentdyn conditions` before it ran on the study driver, in their order
OPTIONS = ["--profile", "--datasets", "--data-dir", "--sizes", "--training", "--latent-sizes",
           "--seeds", "--noises", "--modes", "--trials", "--steps", "--rows", "--cols",
           "--facet", "--workers", "--backend", "--address", "--cpus-per-task",
           "--gpus-per-task", "--retries", "--out", "--seed", "--device", "--overwrite",
           "--quiet"]


def test_the_command_is_built_from_params():
    import dataclasses

    from latentdyn.cli import cli as group
    from latentdyn.studies import STUDIES
    from latentdyn.studies.conditions import STUDY, Params
    from latentdyn.studies.driver import load_study

    assert load_study(STUDIES["conditions"]) is STUDY and STUDY.params is Params
    cmd = group.get_command(None, "conditions")
    flags = [o.opts[0] for o in cmd.params]
    assert flags == OPTIONS
    defaults = {o.name: o.default for o in cmd.params}
    assert defaults["out"] == "results/conditions" and defaults["profile"] == "quick"
    assert defaults["seed"] == 0 and defaults["device"] == "auto"
    assert [list(o.type.choices) for o in cmd.params if o.name == "profile"] == \
        [["quick", "full", "smoke"]]
    assert {f.name for f in dataclasses.fields(Params)} == {o.name for o in cmd.params}


def test_the_command_line_parses_text_into_the_lists_python_takes():
    from latentdyn.studies.conditions import Params
    from latentdyn.studies.params import from_command_line

    p = from_command_line(Params, {"profile": "smoke", "sizes": "20, all",
                                   "trainings": "epochs=1,steps=4", "nz": "2,3",
                                   "seeds": "0", "noises": "swap", "modes": "sampling",
                                   "trials": 3, "rows": None})
    assert (p.sizes, p.trainings, p.nz, p.seeds, p.noises, p.modes) == (
        ["20", "all"], ["epochs=1", "steps=4"], [2, 3], [0], ["swap"], ["sampling"])
    assert p.trials == 3 and p.rows is None and p.datasets is None
    for field, text, message in (("nz", "2,,3", "--latent-sizes: give a comma-separated"),
                                 ("seeds", "0,x", "--seeds: '0,x' is not a list of integers"),
                                 ("datasets", ",", "--datasets: give")):
        with pytest.raises(ConfigError, match=message):
            from_command_line(Params, {field: text})


def test_prepare_takes_python_lists_and_writes_nothing(tmp_path):
    from latentdyn.studies.conditions import Params, prepare

    out = tmp_path / "never"
    s = prepare(Params(profile="smoke", out=str(out), sizes=[20, "all"], nz=[3],
                       trainings=["steps=4"], noises=["flip"], device="cpu"))
    assert s.prof.sizes == (20, "all") and s.prof.nz == (3,) and s.prof.noises == ("flip",)
    assert s.settings["sizes"] == [20, "all"] and s.settings["profile"] == "smoke"
    assert len(s.plan.models) == 2 and not out.exists()
    assert set(s.data_record) == set(s.datasets) and s.backend == {}


def test_the_package_imports_nothing_from_the_command_line_layer():
    import ast
    from pathlib import Path

    import latentdyn.studies.conditions as package

    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            assert not any(n == "latentdyn.cli" or n.startswith(("latentdyn.cli.",
                                                                 "latentdyn.studies.study"))
                           for n in names), f"{path.name} imports {names}"


def test_run_from_python_takes_lists(tmp_path):
    from latentdyn.studies.conditions import run

    out = run("smoke", tmp_path / "map", sizes=[20], trainings=["epochs=1"], nz=[2],
              noises=["swap"], modes=["deterministic"], quiet=True, device="cpu")
    assert out == tmp_path / "map"
    rows = rows_of(out / "data" / "cells.csv")
    assert [(r["size"], r["training"], r["nz"], r["noise"], r["mode"], r["status"])
            for r in rows] == [("20", "epochs=1", "2", "swap", "deterministic", "completed")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "conditions" and manifest["cells"] == 1
    assert manifest["config"]["nz"] == [2] and manifest["status"] == "completed"

# ------------------------------------------------------------------ a cell, known answers
class ToConcept(torch.nn.Module):
    """encode(x) = P x; F(z) = c + 0.5 (z - c), c the nearest concept: every trajectory
    converges onto a concept, so its distance falls to 0 and never rises (no dip)."""

    def __init__(self, P, concepts):
        super().__init__()
        self.P, self.C, self.X = P, concepts, concepts @ P

    def encode(self, x):
        return x @ self.P.T

    def decode(self, z):
        j = ((z[:, None, :] - self.C[None]) ** 2).sum(-1).argmin(-1)
        return self.X[j] + (0.5 * (z - self.C[j])) @ self.P

    def sample_latent(self, x, generator=None):  # the sampling mode: a noisy encoder
        z = self.encode(x)
        return z + 0.01 * torch.randn(z.shape, generator=generator)

    def sample_data(self, z, generator=None):
        return self.decode(z)


def test_cell_statistics_of_a_model_that_contracts_onto_its_concepts():
    from latentdyn.analysis import build_hierarchy
    from latentdyn.studies.conditions import evaluate as E

    data = load_dataset("synthetic:k=4,m=15,side=6,test=5")
    P = torch.linalg.qr(torch.randn(data.dim, 6, generator=torch.Generator().manual_seed(0)))[0].T
    hier = build_hierarchy(ToConcept(P, torch.zeros(4, 6)), data.train_images,
                           data.train_labels)
    model = ToConcept(P, hier.concepts)
    prof = override(PROFILES["smoke"], trials=6, steps=30)
    ms = E.model_stats(model, hier, prof, 0)
    assert ms.contraction_share == 1.0 and ms.fixed_attractor_share == 0.0
    cs = E.cell_stats(model, hier, data.train_images, data.train_labels, prof, "swap",
                      "deterministic", 0, ms.latent_scale)
    assert cs.classes == 4 and cs.dip_count == 0 and cs.below_start == 4
    assert cs.dip_count_old == 0  # a fall with no rise: no dip by the old rule either
    # the minimum is where float32 stops resolving 0.5^t (about t = 22), never a rise
    assert cs.t_star_median >= 20 and cs.converged_share == 1.0
    assert cs.drifting_share == 0.0 and not cs.picture_holds
    assert cs.unsettled_share == 0.0 and cs.converged_share_old == 1.0
    # p = 0 starts on the own memory (distance 0 at t = 0): the old reading (labels pooled,
    # min over t >= 0) saw a memory stage there; the study's rule reads t >= 1, where the
    # trajectory has left its memory for the concept: no label has the stages
    assert cs.stages_old.startswith("memory [0, 0] → concept") and not cs.stages_ordered_old
    assert cs.stages_count == 0 and cs.width_memory == 0.0 and cs.width_concept >= 0.5
    sampled = E.cell_stats(model, hier, data.train_images, data.train_labels, prof, "swap",
                           "sampling", 0, ms.latent_scale)
    assert sampled.converged_share is None


def test_c5_of_the_map_is_the_rule_of_the_study():
    """One rule: nagano2017's C5 and the map's come from analysis.stages (issue 19)."""
    from types import SimpleNamespace

    import latentdyn.studies.nagano2017.claims as N
    from latentdyn.analysis import stages as S
    from latentdyn.studies.conditions import evaluate as E

    assert N.stage_margins is S.stage_margins and N.STAGE_MARGIN_SEM == S.STAGE_MARGIN_SEM
    assert E.stages_resolved is S.stages_resolved and E.STAGE_START == 1
    levels = ["memory", "concept", "concept", "abstract"]
    # ordered, every stage resolved by > 2 paired SEM at one of its noise levels: holds
    assert S.stages_resolved(SimpleNamespace(closest=levels, margins=[3.0, 1.0, 2.5, 9.0]))
    # the concept stage leads by 1.9 SEM at best: not resolved, whatever the order
    assert not S.stages_resolved(SimpleNamespace(closest=levels, margins=[3.0, 1.9, 1.0, 9.0]))
    # resolved but out of order
    assert not S.stages_resolved(SimpleNamespace(closest=levels[::-1], margins=[9.0] * 4))


def test_fate_shares_of_a_cell_include_unsettled_and_sum_to_one():
    from latentdyn.analysis import build_hierarchy
    from latentdyn.studies.conditions import evaluate as E

    data = load_dataset("synthetic:k=4,m=15,side=6,test=5")
    P = torch.linalg.qr(torch.randn(data.dim, 6, generator=torch.Generator().manual_seed(0)))[0].T
    c, s_ = 0.5403, 0.8415  # turns of 1 rad in three planes: never at rest, no period
    R = torch.block_diag(*[torch.tensor([[c, -s_], [s_, c]])] * 3)

    class Turn(torch.nn.Module):
        def encode(self, x):
            return x @ P.T

        def decode(self, z):
            return (z @ R.T) @ P

    hier = build_hierarchy(Turn(), data.train_images, data.train_labels)
    prof = override(PROFILES["smoke"], trials=5, steps=20)
    cs = E.cell_stats(Turn(), hier, data.train_images, data.train_labels, prof, "swap",
                      "deterministic", 0, 1.0)
    # before issue 19 the cell listed converged, drifting and cycling only: here 0, 0, 0
    assert cs.unsettled_share == 1.0
    assert cs.converged_share + cs.cycling_share + cs.drifting_share + cs.unsettled_share == 1
