import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import latentdyn
from latentdyn.cli import main
from latentdyn.data import load_dataset
from latentdyn.errors import ConfigError
from latentdyn.sweep import (
    SweepSpec,
    format_summary,
    parse_list,
    point_name,
    read_summary,
    run_sweep,
)
from latentdyn.train import TrainConfig, VAEEnsemble, train, train_ensemble
from latentdyn.train import loop as loop_mod
from latentdyn.models.vae import VAETask

DATA = "synthetic:k=4,m=30,side=6,test=10"
BASE = dict(dataset=DATA, hidden=16, epochs=2, device="cpu")
# Tolerance of ensemble-vs-solo weights. On CPU the batched products run the solo GEMM
# per slice (bitwise equal at paper size); at these tiny shapes the small-matrix kernels
# may round differently, ~1 ulp (6e-8) per gradient entry. Adam moves a weight by at most
# ~lr per step, so a few dozen steps at lr <= 1e-2 leave differences of order 1e-7; 1e-5 is
# two orders above that and three below a single Adam step (1e-3 .. 1e-2).
ATOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models on a shared 2-core machine: threads only add synchronisation."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def cli(*args) -> int:
    return main([str(a) for a in args])


def weights(run: Path, name="model.safetensors") -> dict:
    return load_file(str(run / name))


def assert_close_runs(a: Path, b: Path, name="model.safetensors", atol=ATOL) -> None:
    wa, wb = weights(a, name), weights(b, name)
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=atol, rtol=0, msg=k)


# --- the grid ------------------------------------------------------------------------
def test_grid_parsing():
    assert parse_list("2,5, 10", "nz") == [2, 5, 10]
    assert parse_list("1e-2,1e-3", "lr") == [0.01, 0.001]
    assert parse_list(7, "seed") == [7] and parse_list([50, 100], "batch_size") == [50, 100]
    for bad, msg in (("2,,5", "empty element"), ("", "empty element"), ("2,x", "'x' is not"),
                     ("2.5", "not an integer"), ("3,3", "listed twice"), ([], "at least one")):
        with pytest.raises(ConfigError, match=msg):
            parse_list(bad, "nz")
    spec = SweepSpec.from_dict({**BASE, "nz": "2,3", "lr": [1e-3, 1e-2], "batch": 16,
                                "seed": [0, 1]}).validate()
    points = spec.points()
    assert len(points) == 8 and points[0].name == "nz2-lr0.001-bs16-seed0"
    assert points[-1].name == "nz3-lr0.01-bs16-seed1"
    assert points[1].config == TrainConfig(**BASE, nz=2, lr=1e-3, batch_size=16, seed=1)
    assert point_name(14, 1e-4, 100, 0) == "nz14-lr0.0001-bs100-seed0"
    assert spec.difference(spec.to_dict()) is None
    assert "nz" in spec.difference({**spec.to_dict(), "grid": {**spec.grid(), "nz": [2]}})
    # options that train --resume tolerates may change; others may not
    other = {**spec.to_dict(), "options": {**spec.shared(), "eval_every": 5}}
    assert spec.difference(other) is None
    other = {**spec.to_dict(), "options": {**spec.shared(), "hidden": 8}}
    assert spec.difference(other).startswith("hidden")
    for bad in ({"nz": [2, 0]}, {"lr": "1e-3,-1"}, {"model": "gan"}, {"hiddn": 3},
                {"activation": "swish"}):
        with pytest.raises(ConfigError):
            SweepSpec.from_dict({**BASE, **bad}).validate()


# --- ensemble == solo -------------------------------------------------------------------
def test_ensemble_matches_solo_training(tmp_path):
    base = TrainConfig(**BASE, nz=3, batch_size=16, lr_milestones=[0.5])
    base = replace(base, lr_factors=[1.0, 0.2])
    configs = [replace(base, seed=0, lr=3e-3), replace(base, seed=1, lr=1e-2),
               replace(base, seed=2, lr=3e-3)]  # two share a rate, one has its own
    results = train_ensemble(configs, [tmp_path / f"ens{i}" for i in range(3)])
    assert [r["status"] for r in results] == ["completed"] * 3
    for i, cfg in enumerate(configs):
        solo = train(cfg, tmp_path / f"solo{i}", progress=False)
        ens = tmp_path / f"ens{i}"
        assert_close_runs(ens, solo)
        # the whole checkpoint: weights, both Adam moments and step, generator states
        ce, cs = weights(ens, "checkpoint.safetensors"), weights(solo, "checkpoint.safetensors")
        assert ce.keys() == cs.keys()
        for k in ce:
            if k.startswith("rng."):
                assert torch.equal(ce[k], cs[k]), k
            else:
                torch.testing.assert_close(ce[k], cs[k], atol=ATOL, rtol=0, msg=k)
        # same run-folder files and metrics (ELBOs up to summation order)
        assert {p.name for p in ens.iterdir()} == {p.name for p in solo.iterdir()}
        me = (ens / "metrics.csv").read_text().splitlines()
        ms = (solo / "metrics.csv").read_text().splitlines()
        assert me[0] == ms[0] and len(me) == len(ms) == 3
        for le, ls in zip(me[1:], ms[1:]):
            fe, fs = [float(v) for v in le.split(",")[:4]], [float(v) for v in ls.split(",")[:4]]
            assert fe == pytest.approx(fs, rel=1e-5)
        assert json.loads((ens / "config.json").read_text()) == cfg.to_dict()
        model, loaded = latentdyn.load_run(ens)
        assert loaded == cfg and model.nz == 3


def test_batched_evaluation_matches_the_model():
    data = load_dataset(DATA)
    cfgs = [TrainConfig(**BASE, nz=4, seed=s) for s in (0, 1)]
    tasks = [VAETask(c, data.dim, torch.device("cpu")) for c in cfgs]
    x = data.test_images
    solo_ll = [t.model.log_likelihood(x[:20], k=30, chunk=10,
                                      generator=torch.Generator().manual_seed(5)) for t in tasks]
    solo_elbo = [t.evaluate(x, None, torch.Generator().manual_seed(9))["elbo"] for t in tasks]
    ens = VAEEnsemble([t.model for t in tasks])
    ll = ens.log_likelihood(x[:20], [torch.Generator().manual_seed(5) for _ in tasks], k=30,
                            chunk=10, batch=20)
    elbo = ens.evaluate_elbo(x, [torch.Generator().manual_seed(9) for _ in tasks])
    for i in range(2):
        torch.testing.assert_close(ll[i], solo_ll[i], atol=1e-4, rtol=1e-5)
        assert elbo[i] == pytest.approx(solo_elbo[i], rel=1e-5)
    # the members' modules see the stacked weights
    assert tasks[1].model.encoder[0].weight.data_ptr() == ens.weights[0][1].data_ptr()


# --- the command ------------------------------------------------------------------------
SWEEP_ARGS = ["--dataset", DATA, "--nz", "2,3", "--hidden", 16, "--epochs", 2, "--batch",
              16, "--lr", "1e-3,1e-2", "--seed", 0, "--device", "cpu", "--ll-k", 10, "--quiet"]


def test_cli_sweep_end_to_end(tmp_path, capsys):
    out = tmp_path / "sw"
    assert cli("sweep", *SWEEP_ARGS, "--out", out) == 0
    printed = capsys.readouterr().out
    assert "test ELBO" in printed and "nz3-lr0.01-bs16-seed0" in printed
    rows = read_summary(out / "summary.csv")
    names = ["nz2-lr0.001-bs16-seed0", "nz2-lr0.01-bs16-seed0", "nz3-lr0.001-bs16-seed0",
             "nz3-lr0.01-bs16-seed0"]
    assert [r["point"] for r in rows] == names
    for r in rows:
        assert r["status"] == "completed" and r["epochs"] == 2 and r["ensemble"] == 2
        assert r["test_elbo"] < 0 and r["train_elbo"] < 0 and r["test_ll"] < 0
        assert r["ll_k"] == 10 and r["ll_images"] == 40
        assert 0 <= r["active_units"] <= r["nz"] and r["wall_s"] > 0
        run = out / r["point"]
        assert {p.name for p in run.iterdir()
                if p.name != ".latentdyn.lock"} == {"config.json", "manifest.json",
                                                  "metrics.csv", "model.safetensors",
                                                  "checkpoint.safetensors"}
        model, config = latentdyn.load_run(run)
        assert (config.nz, config.lr, config.batch_size) == (r["nz"], r["lr"], r["batch_size"])
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["status"] == "completed" and manifest["kind"] == "train"
        assert manifest["final_metrics"]["test_elbo"] == pytest.approx(r["test_elbo"])
        # the summary's metrics come from the run itself
        assert r["test_elbo"] == pytest.approx(
            float((run / "metrics.csv").read_text().splitlines()[-1].split(",")[3]))
    record = json.loads((out / "sweep.json").read_text())
    assert record["status"] == "completed" and record["grid"]["nz"] == [2, 3]
    assert record["points"] == names and record["evaluation"]["ll_k"] == 10
    assert "*" in format_summary(rows)

    # rerunning skips everything; a new --ll-k only re-evaluates
    stamp = {n: (out / n / "model.safetensors").stat().st_mtime_ns for n in names}
    assert cli("sweep", *SWEEP_ARGS, "--out", out) == 0
    assert cli("sweep", *SWEEP_ARGS, "--ll-k", 5, "--out", out) == 0
    assert {n: (out / n / "model.safetensors").stat().st_mtime_ns for n in names} == stamp
    assert {r["ll_k"] for r in read_summary(out)} == {5}

    # a different grid or shared option is refused, untouched; --overwrite replaces it
    capsys.readouterr()
    before = (out / "summary.csv").read_bytes()
    assert cli("sweep", *SWEEP_ARGS, "--nz", "2,4", "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "holds a different sweep" in err
    assert "nz" in err and (out / "summary.csv").read_bytes() == before
    assert cli("sweep", *SWEEP_ARGS, "--hidden", 8, "--out", out) == 2
    assert "hidden" in capsys.readouterr().err
    assert cli("sweep", *SWEEP_ARGS, "--nz", 4, "--epochs", 1, "--out", out, "--overwrite") == 0
    assert [r["point"] for r in read_summary(out)] == ["nz4-lr0.001-bs16-seed0",
                                                       "nz4-lr0.01-bs16-seed0"]
    assert not (out / names[0]).exists()


def test_cli_sweep_config_file_with_lists(tmp_path):
    (tmp_path / "grid.toml").write_text(f'dataset = "{DATA}"\nnz = [2, 3]\nlr = "1e-3"\n'
                                        'batch = 16\nhidden = 8\nepochs = 1\ndevice = "cpu"\n')
    # the command line overrides the file
    assert cli("sweep", "--config", tmp_path / "grid.toml", "--seed", "0,1", "--ll-k", 0,
               "--quiet", "--out", tmp_path / "sw") == 0
    record = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert record["grid"] == {"nz": [2, 3], "lr": [1e-3], "batch_size": [16], "seed": [0, 1]}
    assert record["options"]["hidden"] == 8
    rows = read_summary(tmp_path / "sw")
    assert len(rows) == 4 and all(r["test_ll"] is None for r in rows)


@pytest.mark.parametrize("args, message", [
    (["--nz", "2,,3"], "--nz: empty element"),
    (["--nz", "0"], "nz must be a positive integer"),
    (["--nz", "3,-1"], "nz must be a positive integer"),
    (["--lr", "1e-3,abc"], "--lr: 'abc' is not a number"),
    (["--batch", "16,16"], "--batch-size: 16 is listed twice"),
    (["--seed", "x"], "--seed: 'x' is not an integer"),
    (["--dataset", "imagenet"], "unknown data set 'imagenet'"),
    (["--workers", "0"], "workers must be an integer >= 1"),
    (["--ll-k", "-1"], "ll_k must be an integer >= 0"),
    (["--epochs", "-1"], "epochs must be a non-negative integer"),
])
def test_cli_bad_input_one_line_exit_2(tmp_path, capsys, args, message):
    assert cli("sweep", *SWEEP_ARGS, *args, "--out", tmp_path / "x") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("files, message", [
    ({"manifest.json": '{"kind": "nagano2017"}', "claims.json": "{}"},
     "holds another command's results (claims.json, manifest.json), not a sweep"),
    ({"notes.txt": "mine"}, "holds files (notes.txt), not a sweep"),
    ({"config.json": "{}"}, "holds a training run, not a sweep"),
])
def test_a_folder_of_other_results_is_refused_untouched(tmp_path, capsys, files, message):
    out = tmp_path / "x"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    for extra in ([], ["--overwrite"]):
        assert cli("sweep", *SWEEP_ARGS, *extra, "--out", out) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and message in err, err
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(files)
    assert all((out / n).read_text() == t for n, t in files.items())


# --- resuming ---------------------------------------------------------------------------
GRID = {**BASE, "epochs": 3, "nz": [3], "lr": [1e-3, 1e-2], "batch_size": [16],
        "seed": [0]}


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """The reference: GRID swept without interruption, one process."""
    return run_sweep(GRID, tmp_path_factory.mktemp("ref") / "full", progress=False,
                     ll_k=5).parent


def test_stopped_sweep_resumes_to_the_uninterrupted_result(tmp_path, full):
    part = tmp_path / "part"
    run_sweep(GRID, part, progress=False, ll_k=0, stop_after_epoch=1)
    rows = read_summary(part)
    assert {r["status"] for r in rows} == {"stopped"} and {r["epochs"] for r in rows} == {1}
    assert json.loads((part / "sweep.json").read_text())["status"] == "stopped"
    assert not any((part / r["point"] / "model.safetensors").exists() for r in rows)
    run_sweep(GRID, part, progress=False, ll_k=0)
    for r in read_summary(part):
        assert r["status"] == "completed" and r["epochs"] == 3
        assert_close_runs(part / r["point"], full / r["point"], atol=0)
        assert len(json.loads((part / r["point"] / "manifest.json").read_text())["resumed"]) == 1
    assert json.loads((part / "sweep.json").read_text())["status"] == "completed"


def test_interrupted_mid_checkpointing_resumes_members_separately(tmp_path, monkeypatch, full):
    """Killed between two members' checkpoints: the members stand at different epochs,
    are resumed in separate ensembles, and still end as if never stopped."""
    real_save, calls = loop_mod.save_tensors, []

    def save_then_stop(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # epoch 2, second member
            raise KeyboardInterrupt
        return real_save(*args, **kwargs)

    monkeypatch.setattr(loop_mod, "save_tensors", save_then_stop)
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(GRID, out, progress=False, ll_k=0)
    assert json.loads((out / "sweep.json").read_text())["status"] == "interrupted"
    statuses = {json.loads((p / "manifest.json").read_text())["status"]
                for p in out.iterdir() if p.is_dir()}
    assert statuses == {"interrupted"}
    monkeypatch.setattr(loop_mod, "save_tensors", real_save)
    run_sweep(GRID, out, progress=False, ll_k=0)
    for r in read_summary(out):
        assert r["status"] == "completed"
        assert_close_runs(out / r["point"], full / r["point"], atol=0)


def test_diverging_member_leaves_the_others_untouched(tmp_path):
    grid = {**GRID, "epochs": 2, "lr": [1e-3, 1e9]}
    run_sweep(grid, tmp_path / "sw", progress=False, ll_k=0)
    rows = {r["lr"]: r for r in read_summary(tmp_path / "sw")}
    assert rows[1e9]["status"] == "diverged" and rows[1e-3]["status"] == "completed"
    manifest = json.loads((tmp_path / "sw" / rows[1e9]["point"] / "manifest.json").read_text())
    assert "loss became" in manifest["error"]
    solo = train(TrainConfig(**{**BASE, "epochs": 2, "nz": 3, "batch_size": 16, "lr": 1e-3}),
                 tmp_path / "solo", progress=False)
    assert_close_runs(tmp_path / "sw" / rows[1e-3]["point"], solo)
    # a rerun leaves the diverged point alone
    run_sweep(grid, tmp_path / "sw", progress=False, ll_k=0)
    assert read_summary(tmp_path / "sw")[1]["status"] == "diverged"


def test_workers_give_the_same_runs(tmp_path, full):
    two = run_sweep(GRID, tmp_path / "two", progress=False, ll_k=5, workers=2).parent
    for r1, r2 in zip(read_summary(full), read_summary(two)):
        assert r1["point"] == r2["point"] and r2["status"] == "completed"
        assert r2["ensemble"] == 1  # the one group was split between the workers
        assert r1["test_ll"] == pytest.approx(r2["test_ll"], rel=1e-5)
        assert_close_runs(full / r1["point"], two / r2["point"], atol=0)


def test_sigkilled_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    grid = {**BASE, "epochs": 3, "nz": [3], "lr": [1e-3, 1e-2], "batch_size": [4],
            "seed": [0]}
    ref = run_sweep(grid, tmp_path / "ref", progress=False, ll_k=0).parent
    out = tmp_path / "killed"
    # a child that sweeps slowly (5 ms a step), so that the kill lands mid-sweep
    script = (
        "import time, torch; torch.set_num_threads(1)\n"
        "from latentdyn.sweep import run_sweep\nfrom latentdyn.train import VAEEnsemble\n"
        "step = VAEEnsemble.train_step\n"
        "def slow(self, x, eps):\n"
        "    time.sleep(0.005)\n"
        "    return step(self, x, eps)\n"
        "VAEEnsemble.train_step = slow\n"
        f"run_sweep({grid!r}, {str(out)!r}, progress=False, ll_k=0)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    first = out / point_name(3, 1e-3, 4, 0) / "checkpoint.safetensors"
    deadline = time.time() + 120
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.05)  # inside the next epoch
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / point_name(3, 1e-3, 4, 0) / "model.safetensors").exists()
    assert json.loads((out / "sweep.json").read_text())["status"] == "running"
    run_sweep(grid, out, progress=False, ll_k=0)  # the same command again
    for r in read_summary(out):
        assert r["status"] == "completed" and r["epochs"] == 3
        assert_close_runs(out / r["point"], ref / r["point"], atol=0)
