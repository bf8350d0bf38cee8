"""Sweeps on Ray (``--backend ray``), on a local Ray instance started once for this
module: the same folders and numbers as the local backend, a killed worker resumed
from its checkpoints (by a rerun, and by Ray's own restart), a different grid refused,
the storage check, the missing extra, and the option checks."""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import ray
import torch
from safetensors.torch import load_file

from latentdyn.cli import main
from latentdyn.errors import ConfigError
from latentdyn.sweep import read_summary, run_sweep
from latentdyn.sweep import ray_backend
from latentdyn.sweep.backends import SweepIncomplete, check_backend
from latentdyn.sweep.ray_backend import KILL_HOOK, STORAGE_FILE, probe_folder
from latentdyn.sweep.ray_local import init_local
from latentdyn.sweep.summary import COLUMNS

DATA = "synthetic:k=4,m=30,side=6,test=10"
# 2 x 2: two groups (Nz 2 and 3) of two learning rates; 120 images in batches of 16 are
# 8 steps an epoch, so a job reports its progress once an epoch and the kill hook (one
# and a half epochs) fires after the first checkpoint, before the second
GRID = {"dataset": DATA, "hidden": 16, "epochs": 3, "device": "cpu", "nz": [2, 3],
        "lr": [1e-3, 1e-2], "batch_size": [16], "seed": [0]}
ARGS = ["--dataset", DATA, "--nz", "2,3", "--hidden", 16, "--epochs", 3, "--batch", 16,
        "--lr", "1e-3,1e-2", "--seed", 0, "--device", "cpu", "--ll-k", 5, "--quiet"]
NAMES = ["nz2-lr0.001-bs16-seed0", "nz2-lr0.01-bs16-seed0", "nz3-lr0.001-bs16-seed0",
         "nz3-lr0.01-bs16-seed0"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One local Ray instance for the module (2 CPUs); its workers inherit the kill
    hook's variable, naming a file that a test creates to arm the hook."""
    armed = tmp_path_factory.mktemp("hook") / "kill-armed"
    before_env, before_threads = os.environ.get(KILL_HOOK), torch.get_num_threads()
    os.environ[KILL_HOOK] = str(armed)
    torch.set_num_threads(1)  # as each Ray task (1 CPU): the same numbers
    init_local(ray, num_cpus=2, log_to_driver=False)  # 127.0.0.1 only, no dashboard
    yield armed
    ray.shutdown()
    torch.set_num_threads(before_threads)
    if before_env is None:
        os.environ.pop(KILL_HOOK, None)
    else:
        os.environ[KILL_HOOK] = before_env


def cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def local(cluster, tmp_path_factory):
    """The reference: GRID on the local backend, in this process."""
    return run_sweep(GRID, tmp_path_factory.mktemp("local") / "sw", progress=False,
                     ll_k=5).parent


@pytest.fixture(scope="module")
def on_ray(cluster, tmp_path_factory):
    """GRID through `latentdyn sweep --backend ray`, end to end."""
    out = tmp_path_factory.mktemp("ray") / "sw"
    assert cli("sweep", *ARGS, "--backend", "ray", "--cpus-per-task", 1, "--out", out) == 0
    return out


def same_weights(a: Path, b: Path, name="model.safetensors") -> None:
    wa, wb = load_file(str(a / name)), load_file(str(b / name))
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def assert_same_sweep(ray_out: Path, local_out: Path) -> None:
    """Same summary (all but the wall time), same files, weights and metrics."""
    rows, ref = read_summary(ray_out), read_summary(local_out)
    assert [r["point"] for r in rows] == NAMES
    for r, q in zip(rows, ref):
        assert r["status"] == "completed"
        assert {c: r[c] for c in COLUMNS if c != "wall_s"} == \
            {c: q[c] for c in COLUMNS if c != "wall_s"}
    for name in NAMES:
        a, b = ray_out / name, local_out / name
        assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
        same_weights(a, b)
        same_weights(a, b, "checkpoint.safetensors")
        ma = [ln.split(",")[:-1] for ln in (a / "metrics.csv").read_text().splitlines()]
        mb = [ln.split(",")[:-1] for ln in (b / "metrics.csv").read_text().splitlines()]
        assert ma == mb  # every column but the seconds
        assert (a / "config.json").read_text() == (b / "config.json").read_text()


# --- the same sweep as the local backend --------------------------------------------------
def test_ray_sweep_equals_the_local_backend(on_ray, local):
    assert_same_sweep(on_ray, local)
    record = json.loads((on_ray / "sweep.json").read_text())
    assert record["status"] == "completed" and record["backend"]["name"] == "ray"
    assert record["backend"]["slots"] == 2 and record["backend"]["cpus_per_task"] == 1
    assert record["backend"]["gpus_per_task"] == 0 and record["device"] == "cpu"
    local_backend = json.loads((local / "sweep.json").read_text())["backend"]
    assert local_backend["name"] == "local" and local_backend["workers"] == 1
    assert local_backend["threads"] >= 1
    for key in ("grid", "options", "points", "evaluation", "data"):
        assert record[key] == json.loads((local / "sweep.json").read_text())[key]
    assert not (on_ray / STORAGE_FILE).exists()
    assert not [p for p in on_ray.iterdir() if p.name.startswith(".latentdyn-probe")]
    manifest = json.loads((on_ray / NAMES[0] / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["ensemble"]["size"] == 2
    # a rerun finds everything done: nothing trained again
    stamp = {n: (on_ray / n / "model.safetensors").stat().st_mtime_ns for n in NAMES}
    run_sweep(GRID, on_ray, progress=False, ll_k=5, backend="ray")
    assert {n: (on_ray / n / "model.safetensors").stat().st_mtime_ns for n in NAMES} == stamp


# --- a worker killed mid-task ----------------------------------------------------------------
def killed_points(out: Path) -> list[str]:
    """The points whose run was resumed from a checkpoint (those of the killed task)."""
    return [n for n in NAMES
            if json.loads((out / n / "manifest.json").read_text()).get("resumed")]


def test_killed_worker_then_rerun_resumes_from_the_checkpoints(cluster, local, tmp_path):
    out = tmp_path / "sw"
    cluster.touch()  # arm: the first task past 1.5 epochs kills its worker
    with pytest.raises(SweepIncomplete) as err:
        run_sweep(GRID, out, progress=False, ll_k=5, backend="ray", retries=0)
    assert not cluster.exists()  # the hook fired
    message = str(err.value)
    assert "\n" not in message and "1 of 2 Ray task(s) did not finish" in message
    assert "WorkerCrashedError" in message and "rerun the same command" in message
    assert json.loads((out / "sweep.json").read_text())["status"] == "failed"
    rows = {r["point"]: r for r in read_summary(out)}
    stopped = [n for n in NAMES if rows[n]["status"] == "stopped"]
    assert len(stopped) == 2 and stopped[0][:3] == stopped[1][:3]  # one group of one Nz
    for n in stopped:  # killed after its first checkpoint, before its second
        assert rows[n]["epochs"] == 1 and not (out / n / "model.safetensors").exists()
        assert json.loads((out / n / "manifest.json").read_text())["status"] == "running"
    assert all(rows[n]["status"] == "completed" for n in NAMES if n not in stopped)

    run_sweep(GRID, out, progress=False, ll_k=5, backend="ray")  # the same command again
    assert json.loads((out / "sweep.json").read_text())["status"] == "completed"
    assert killed_points(out) == stopped
    assert_same_sweep(out, local)


def test_killed_worker_is_restarted_from_its_checkpoints(cluster, local, tmp_path):
    out = tmp_path / "sw"
    cluster.touch()
    run_sweep(GRID, out, progress=False, ll_k=5, backend="ray")  # retries: 2
    assert not cluster.exists()
    assert json.loads((out / "sweep.json").read_text())["status"] == "completed"
    resumed = killed_points(out)
    assert len(resumed) == 2 and resumed[0][:3] == resumed[1][:3]
    assert_same_sweep(out, local)


# --- refusals --------------------------------------------------------------------------------
def snapshot(out: Path) -> dict:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


def test_a_different_grid_in_the_folder_is_refused(on_ray, tmp_path, capsys):
    out = tmp_path / "sw"
    shutil.copytree(on_ray, out)
    before = snapshot(out)
    capsys.readouterr()
    assert cli("sweep", *ARGS, "--nz", "2,4", "--backend", "ray", "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "holds a different sweep" in err
    assert snapshot(out) == before


@pytest.mark.parametrize("token, problem", [
    (None, "does not see it"),                     # a node without the folder
    ("stale", "sees another folder of that name"),  # a node-local folder of that name
])
def test_a_node_that_cannot_use_the_folder_fails_the_command(on_ray, tmp_path, monkeypatch,
                                                             capsys, token, problem):
    """The driver's token is what the nodes look for: writing none (or another one)
    makes the one node of the instance see what a node without the shared folder sees."""
    out = tmp_path / "sw"
    shutil.copytree(on_ray, out)
    before = snapshot(out)
    real = ray_backend.write_text

    def write_token(path, text):
        if token is not None:
            real(path, token + "\n")

    monkeypatch.setattr(ray_backend, "write_text", write_token)
    capsys.readouterr()
    assert cli("sweep", *ARGS, "--backend", "ray", "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {out.resolve()}: Ray node ") and "\n" not in err
    assert problem in err and "storage every node sees" in err
    (out / STORAGE_FILE).unlink(missing_ok=True)
    assert snapshot(out) == before  # nothing else written, nothing replaced


def test_probe_folder(tmp_path):
    assert "does not see it" in probe_folder(str(tmp_path / "absent"), "t")
    (tmp_path / STORAGE_FILE).write_text("t\n")
    assert probe_folder(str(tmp_path), "t") is None
    assert [p.name for p in tmp_path.iterdir()] == [STORAGE_FILE]  # the probe is removed
    assert "another folder" in probe_folder(str(tmp_path), "u")
    # every task checks the folder before it trains
    job = {"out": str(tmp_path / "absent"), "points": []}
    with pytest.raises(ConfigError, match="storage every node sees"):
        ray_backend._task(job, None, "t", 1, None, None)


# --- the extra, the options -------------------------------------------------------------------
def test_without_ray_the_backend_names_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails
    assert cli("sweep", *ARGS, "--backend", "ray", "--out", tmp_path / "x") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and 'pip install -e ".[ray]"' in err
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match=r"\[ray\]"):
        check_backend("ray")
    assert cli("sweep", *ARGS, "--out", tmp_path / "local") == 0  # local needs no Ray


@pytest.mark.parametrize("args, message", [
    (["--address", "auto"], "--address is an option of --backend ray"),
    (["--gpus-per-task", 1], "--gpus-per-task is an option of --backend ray"),
    (["--backend", "ray", "--address", "no port"], "--address must be auto, HOST:PORT"),
    (["--backend", "ray", "--cpus-per-task", 0], "--cpus-per-task must be a number > 0"),
    (["--backend", "ray", "--gpus-per-task", -1], "--gpus-per-task must be a number >= 0"),
    (["--backend", "ray", "--retries", -1], "--retries must be an integer >= 0"),
    (["--backend", "ray", "--device", "cuda:0"], "use --device cuda and --gpus-per-task"),
    (["--backend", "ray", "--gpus-per-task", 1], "reserves GPUs that --device cpu never uses"),
    (["--backend", "ray", "--device", "cuda", "--gpus-per-task", 0], "hide every GPU"),
    (["--backend", "ray", "--cpus-per-task", 64], "no node of the Ray cluster offers 64 CPU"),
    (["--backend", "ray", "--gpus-per-task", 1, "--device", "auto"], "offers 1 CPU(s) and 1 GPU"),
    (["--backend", "ray", "--workers", 0], "workers must be an integer >= 1"),
])
def test_bad_backend_options_one_line_exit_2(cluster, tmp_path, capsys, args, message):
    assert cli("sweep", *ARGS, *args, "--out", tmp_path / "x") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and message in err, err
    assert not (tmp_path / "x").exists()


def test_no_cluster_at_the_address_is_one_line(monkeypatch):
    class NoCluster:  # what ray.init says when nothing listens there
        @staticmethod
        def is_initialized():
            return False

        @staticmethod
        def init(**kwargs):
            raise ConnectionError("Could not find any running Ray instance.\nPlease specify")

    with pytest.raises(ConfigError) as err:
        ray_backend._connect(NoCluster, "10.0.0.1:6379")
    assert str(err.value) == ("cannot connect to Ray at 10.0.0.1:6379: Could not find any "
                              "running Ray instance.")


def test_nothing_listening_at_the_address_is_one_line_at_once():
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # the message names the address as given first (Ray may reach it by this host's IP)
    with pytest.raises(ConfigError, match=rf"^cannot connect to Ray at 127\.0\.0\.1:{port}"
                                          r"( \(Ray connects to it as .*\))?: nothing answers"):
        ray_backend.check_reachable(f"127.0.0.1:{port}")
    with pytest.raises(ConfigError, match=rf"^cannot connect to Ray at ray://127\.0\.0\.1:{port}"
                                          ": nothing answers there"):
        ray_backend.check_reachable(f"ray://127.0.0.1:{port}")


# --- a Ray instance of its own listens on 127.0.0.1 only ------------------------------------
_LISTENING = """
import json, os, sys
import ray
from latentdyn.cli import main
from latentdyn.sweep import ray_backend
seen = {}
real = ray_backend.RayBackend.run
def run(self, jobs, bar):  # while the instance is up: who listens where
    import psutil
    kids = {p.pid for p in psutil.Process().children(recursive=True)}
    seen["listen"] = sorted({c.laddr.ip for c in psutil.net_connections(kind="inet")
                             if c.status == psutil.CONN_LISTEN and c.pid in kids})
    seen["processes"] = len(kids)
    seen["gcs"] = ray.get_runtime_context().gcs_address
    seen["nodes"] = [n["NodeManagerAddress"] for n in ray.nodes()]
    seen["api"] = [a for p in psutil.Process().children(recursive=True)
                   for a in p.cmdline() if a.startswith("--host=")]
    return real(self, jobs, bar)
ray_backend.RayBackend.run = run
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, **seen}))
"""


def test_sweep_on_a_ray_instance_of_its_own_listens_on_127_0_0_1_only(tmp_path):
    """`latentdyn sweep --backend ray` without --address starts Ray here: its GCS
    server, raylet, object manager, workers and Ray's API server listen on 127.0.0.1
    only (a fresh process: the module's instance is not used)."""
    import subprocess

    out = tmp_path / "sw"
    args = ["sweep", "--dataset", DATA, "--nz", "2", "--hidden", "8", "--epochs", "1",
            "--ll-k", "0", "--device", "cpu", "--quiet", "--backend", "ray", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.run([sys.executable, "-c", _LISTENING, *args], capture_output=True,
                          text=True, env={**env, "OMP_NUM_THREADS": "1"}, timeout=600)
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["rc"] == 0, proc.stderr[-2000:]
    assert found["processes"] >= 2 and found["listen"]  # GCS and raylet at least
    assert set(found["listen"]) <= {"127.0.0.1", "::ffff:127.0.0.1"}, found
    assert found["gcs"].startswith("127.0.0.1:") and set(found["nodes"]) == {"127.0.0.1"}
    assert set(found["api"]) <= {"--host=127.0.0.1"}  # Ray's API server (no web UI)
    record = json.loads((out / "sweep.json").read_text())["backend"]
    assert [n["address"] for n in record["nodes"]] == ["127.0.0.1"]
    assert os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") is None  # as it was


# --- the latent-size study of reproduce nagano2017 ----------------------------------------
def test_nagano2017_latent_size_sweep_on_ray_equals_the_local_backend(cluster, tmp_path):
    """`reproduce nagano2017 --backend ray` trains its sweep as Ray tasks: the same
    points and numbers as the same grid on the local backend, and the study completes."""
    out = tmp_path / "n17"
    assert cli("reproduce", "nagano2017", "--profile", "smoke", "--device", "cpu",
               "--backend", "ray", "--cpus-per-task", 1, "--quiet", "--out", out) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    record = json.loads((out / "sweep" / "sweep.json").read_text())
    assert record["backend"]["name"] == "ray"
    grid = manifest["latent_size"]["sweep_grid"]
    ref = run_sweep(grid, tmp_path / "local", progress=False, ll_k=record["evaluation"]["ll_k"],
                    ll_images=record["evaluation"]["ll_images"]).parent
    rows, expected = read_summary(out / "sweep"), read_summary(ref)
    assert [r["point"] for r in rows] == [r["point"] for r in expected] and rows
    for r, q in zip(rows, expected):
        assert {c: r[c] for c in COLUMNS if c != "wall_s"} == \
            {c: q[c] for c in COLUMNS if c != "wall_s"}


def test_nagano2017_bad_backend_option_fails_before_training(cluster, tmp_path, capsys):
    out = tmp_path / "n17"
    assert cli("reproduce", "nagano2017", "--profile", "smoke", "--cpus-per-task", 1,
               "--quiet", "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --cpus-per-task is an option of --backend ray", err
    assert not out.exists()
