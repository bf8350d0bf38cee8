"""The README's promises under abuse: one `error:` line and exit status 2 for bad input,
nothing existing damaged or replaced without `--overwrite`, one writer per output
folder, and outputs that survive failures (issue 10)."""

import errno
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from cli_helpers import cli, one_error_line

from latentdyn.io import LOCK_NAME, folder_lock, write_text

DATA = "synthetic:k=3,m=12,side=6,test=6"
TRAIN = ["train", "--dataset", DATA, "--nz", "3", "--hidden", "8", "--batch-size", "12",
         "--device", "cpu", "--quiet"]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK_NAME}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rel") / "run"
    assert cli(*TRAIN, "--epochs", 2, "--out", out) == 0
    return out


# ------------------------------------------------------------------- one writer
def test_a_folder_in_use_is_refused(tmp_path, capsys):
    out = tmp_path / "conc"
    with folder_lock(out):
        assert cli(*TRAIN, "--epochs", 1, "--out", out) == 2
    assert "is in use by another latentdyn process" in one_error_line(capsys)
    assert not (out / "config.json").exists()
    assert cli(*TRAIN, "--epochs", 1, "--out", out) == 0  # free again


def test_a_lock_held_by_a_killed_process_does_not_block(tmp_path):
    out = tmp_path / "stale"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom latentdyn.io import folder_lock\n"
        f"with folder_lock({str(out)!r}):\n    print('locked', flush=True)\n"
        "    time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait()
    assert cli(*TRAIN, "--epochs", 1, "--out", out) == 0


def test_two_trainings_started_together(tmp_path):
    """nz 2 for 3 epochs and nz 3 for 1 epoch into one folder: one of them is refused,
    and the folder holds one consistent run."""
    out = tmp_path / "conc"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = lambda nz, ep: [sys.executable, "-m", "latentdyn.cli", *TRAIN[:4], str(nz),  # noqa
                           *TRAIN[5:], "--epochs", str(ep), "--out", str(out)]
    code = "import sys; from latentdyn.cli import main; sys.exit(main(sys.argv[1:]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, *args(nz, ep)[3:]], env=env,
                              stderr=subprocess.PIPE, text=True) for nz, ep in ((2, 3), (3, 1))]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _ in results) == [0, 2], results
    for rc, err in results:
        if rc == 2:
            assert "in use by another latentdyn process" in err or "already holds" in err
    config = json.loads((out / "config.json").read_text())
    with safe_open(str(out / "model.safetensors"), "pt") as fh:
        nz = fh.get_tensor("decoder.0.weight").shape[1]
    assert config["nz"] == nz


# ------------------------------------------------------------------- no take-over
def test_a_folder_that_is_not_this_run_is_refused(tmp_path, capsys):
    half = tmp_path / "half"
    half.mkdir()
    write_text(half / "manifest.json", "{}")
    write_text(half / "metrics.csv", "epoch\n1\n")
    assert cli(*TRAIN, "--epochs", 1, "--out", half) == 2
    assert "without its config.json" in one_error_line(capsys)
    assert sorted(p.name for p in half.iterdir() if p.name != LOCK_NAME) == [
        "manifest.json", "metrics.csv"]
    mine = tmp_path / "mine"
    mine.mkdir()
    write_text(mine / "thesis.tex", "precious")
    for extra in ((), ("--overwrite",)):
        assert cli(*TRAIN, "--epochs", 1, "--out", mine, *extra) == 2
        assert "not a latentdyn run" in one_error_line(capsys)
    assert (mine / "thesis.tex").read_text() == "precious"


def test_overwrite_clears_what_the_replaced_run_derived(tmp_path):
    out = tmp_path / "r"
    assert cli(*TRAIN, "--epochs", 1, "--out", out) == 0
    for name in ("dynamics-swap.npz", "dynamics-swap.json", "inputs.json"):
        write_text(out / name, "old")
    for folder in ("lsd", "samples"):
        (out / folder).mkdir()
        write_text(out / folder / "x", "old")
    assert cli(*TRAIN, "--epochs", 1, "--nz", 2, "--out", out, "--overwrite") == 0
    left = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)
    assert left == ["checkpoint.safetensors", "config.json", "manifest.json", "metrics.csv",
                    "model.safetensors"]


def test_resume_with_overwrite_replaces_a_different_run(tmp_path, capsys):
    out = tmp_path / "r"
    assert cli(*TRAIN, "--epochs", 1, "--out", out) == 0
    assert cli(*TRAIN, "--epochs", 1, "--nz", 2, "--out", out, "--resume") == 2
    assert "pass --overwrite" in one_error_line(capsys)
    assert cli(*TRAIN, "--epochs", 1, "--nz", 2, "--out", out, "--resume", "--overwrite") == 0
    assert json.loads((out / "config.json").read_text())["nz"] == 2


# ------------------------------------------------------------------- bad checkpoints
def _damage(out: Path, edit) -> None:
    path = out / "checkpoint.safetensors"
    with safe_open(str(path), "pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        meta = json.loads(fh.metadata()["latentdyn"])
    meta, tensors = edit(meta, tensors)
    save_file(tensors, str(path), metadata={"latentdyn": json.dumps(meta)})


@pytest.mark.parametrize("edit, message", [
    (lambda m, t: ([1, 2], t), "metadata is not a JSON object"),
    (lambda m, t: ({k: v for k, v in m.items() if k != "optimizers"}, t), "damaged"),
    (lambda m, t: ({**m, "epoch": "one"}, t), "not an epoch"),
    (lambda m, t: ({**m, "epoch": 99}, t), "not an epoch"),
    (lambda m, t: (m, {**t, "rng.data": torch.zeros(3, dtype=torch.uint8)}), "does not fit"),
    (lambda m, t: ({**m, "metrics": "x"}, t), "damaged"),
])
def test_damaged_checkpoint_metadata_on_resume(tmp_path, capsys, edit, message):
    out = tmp_path / "r"
    assert cli(*TRAIN, "--epochs", 3, "--out", out) == 0
    (out / "model.safetensors").unlink()  # an unfinished run: resumable
    _damage(out, edit)
    before = digest(out)
    assert cli(*TRAIN, "--epochs", 3, "--out", out, "--resume") == 2
    assert message in one_error_line(capsys)
    assert digest(out) == before  # the manifest (and all else) as it was


# ------------------------------------------------------------------- bad options
@pytest.mark.parametrize("args, message", [
    (("--nz", 1_000_000_000), "GiB"),
    (("--hidden", 1_000_000_000), "GiB"),
    (("--seed", 18446744073709551615), "seed must be"),
    (("--option", "nz=5"), "set by --nz"),
    (("--option", "input_dim=5"), "set by the data"),
])
def test_train_options_that_used_to_crash(tmp_path, capsys, args, message):
    out = tmp_path / "r"
    assert cli(*TRAIN, "--epochs", 1, "--out", out, *args) == 2
    assert message in one_error_line(capsys)
    assert not (out / "config.json").exists()


@pytest.mark.parametrize("text, message", [
    ("data_dir: 5\n", "data_dir must be a folder path"),
    ("lr: true\n", "lr must be a positive number"),
    ("lr_milestones: [true]\nlr_factors: [1, 1]\n", "lr_milestones must be a list of numbers"),
])
def test_config_files_with_wrong_types(tmp_path, capsys, text, message):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"dataset: '{DATA}'\nepochs: 1\n" + text)
    assert cli("train", "--config", cfg, "--out", tmp_path / "r", "--quiet") == 2
    assert message in one_error_line(capsys)


def test_a_config_whose_dataset_is_not_a_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: 123\nepochs: 1\n")
    assert cli("train", "--config", cfg, "--quiet") == 2  # no --out: the name is derived
    assert "dataset must be a non-empty string" in one_error_line(capsys)
    assert not (tmp_path / "runs").exists()


def test_a_classifier_refused_by_its_data_leaves_nothing(tmp_path, capsys):
    out = tmp_path / "clf"
    assert cli("train", "--model", "classifier", "--dataset", DATA, "--epochs", 1,
               "--option", "num_classes=2", "--device", "cpu", "--quiet", "--out", out) == 2
    assert "num_classes" in one_error_line(capsys)
    assert not out.exists() or not (out / "config.json").exists()
    assert cli("train", "--model", "classifier", "--dataset", DATA, "--epochs", 1,
               "--device", "cpu", "--quiet", "--out", out) == 0  # the corrected command


def test_usage_errors_start_with_error(capsys):
    assert cli("train", "--no-such-option") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("error:") and "Traceback" not in "".join(lines)


# ------------------------------------------------------------------- failing disks
def test_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    import latentdyn.io as io

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(io.os, "replace", full)
    out = tmp_path / "r"
    assert cli(*TRAIN, "--epochs", 1, "--out", out) == 2
    err = one_error_line(capsys)
    assert "No space left on device" in err and str(out) in err


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    import latentdyn.io as io

    target = tmp_path / "result.json"
    io.write_json(target, {"old": True})

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(io.os, "replace", full)
    with pytest.raises(OSError):
        io.write_json(target, {"new": True})
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary left


def test_a_read_only_folder_is_one_line(tmp_path, capsys, monkeypatch):
    import latentdyn.io as io

    real = io.tempfile.mkstemp

    def read_only(*args, dir=None, **kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(dir))

    monkeypatch.setattr(io.tempfile, "mkstemp", read_only)
    assert cli(*TRAIN, "--epochs", 1, "--out", tmp_path / "ro") == 2
    assert "Permission denied" in one_error_line(capsys)
    monkeypatch.setattr(io.tempfile, "mkstemp", real)


def test_a_long_output_name_fits_its_temporary_file(tmp_path):
    from latentdyn.io import write_json

    name = "x" * 250 + ".json"
    write_json(tmp_path / name, {"a": 1})
    assert json.loads((tmp_path / name).read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_atomic_writes_flush_the_folder(tmp_path, monkeypatch):
    import latentdyn.io as io

    flushed = []
    monkeypatch.setattr(io, "fsync_dir", lambda folder: flushed.append(Path(folder)))
    io.write_text(tmp_path / "a.txt", "x")
    assert flushed == [tmp_path]


# ------------------------------------------------------------------- reproductions
NAGANO = ["reproduce", "nagano2017", "--profile", "smoke", "--dataset",
          "synthetic:m=8,side=6,test=4", "--nz", "4", "--no-latent-size", "--quiet",
          "--device", "cpu"]


def test_a_failed_reproduction_leaves_the_completed_one(tmp_path, capsys, monkeypatch):
    out = tmp_path / "n17"
    assert cli(*NAGANO, "--out", out) == 0
    before = digest(out)
    from latentdyn.studies.nagano2017 import stages

    def broken(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "figures"))

    monkeypatch.setattr(stages, "stages_stage", broken)  # fig. 4, after figures 1-3
    capsys.readouterr()
    rc = cli(*NAGANO, "--out", out)
    assert rc == 2, capsys.readouterr()
    assert "No space left on device" in one_error_line(capsys)
    after = digest(out)
    runs = {k for k in before if k.startswith("model/")}  # the reused run is untouched
    assert {k: v for k, v in after.items() if k not in runs} == \
        {k: v for k, v in before.items() if k not in runs}
    assert json.loads((out / "manifest.json").read_text())["status"] == "completed"
    assert not (out / ".staging").exists()


def test_a_failed_first_reproduction_says_failed(tmp_path, monkeypatch):
    out = tmp_path / "n17"
    from latentdyn.studies.nagano2017 import stages

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(stages, "courses_stage", broken)
    assert cli(*NAGANO, "--out", out) == 1  # a bug inside a stage: internal error
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"


def test_an_unreadable_manifest_in_the_output_folder(tmp_path, capsys):
    out = tmp_path / "n17"
    out.mkdir()
    write_text(out / "manifest.json", "{not json")
    assert cli(*NAGANO, "--out", out) == 2
    assert "unreadable manifest" in one_error_line(capsys)
    assert (out / "manifest.json").read_text() == "{not json"


def test_a_reproduction_folder_in_use(tmp_path, capsys):
    out = tmp_path / "n17"
    with folder_lock(out):
        assert cli(*NAGANO, "--out", out) == 2
    assert "in use by another latentdyn process" in one_error_line(capsys)


# ------------------------------------------------------------------- the Python API
def test_int_seeds_and_generators_alike():
    from latentdyn.data import corrupt, load_dataset

    x = load_dataset(DATA).train_images[:6]
    a = corrupt(x, kind="swap", p=0.3, generator=0)
    b = corrupt(x, kind="swap", p=0.3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and not torch.equal(a, x)
    from latentdyn.data.corruption import flip

    assert torch.equal(flip(x, 0.5, 3), flip(x, 0.5, torch.Generator().manual_seed(3)))


def test_time_is_not_spent_before_refusing(tmp_path, capsys):
    t = time.perf_counter()
    assert cli(*TRAIN, "--epochs", 1, "--hidden", 10**9, "--out", tmp_path / "r") == 2
    assert time.perf_counter() - t < 20
    one_error_line(capsys)


def test_a_reproduction_of_other_settings_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "n17"
    assert cli(*NAGANO, "--out", out) == 0
    before = digest(out)
    assert cli(*NAGANO, "--out", out, "--trials", 3) == 2
    assert "another setting" in one_error_line(capsys) and digest(out) == before
    assert cli(*NAGANO, "--out", out) == 0  # the same settings: repeated, nothing asked
    assert cli(*NAGANO, "--out", out, "--trials", 3, "--overwrite") == 0
    assert json.loads((out / "manifest.json").read_text())["config"]["trials_fig2"] == 3


def test_compare_denoise_of_other_settings_needs_overwrite(tmp_path, capsys):
    args = ["compare", "denoise", "--profile", "smoke", "--given-only", "--quiet",
            "--out", tmp_path / "den"]
    assert cli(*args) == 0
    before = digest(tmp_path / "den")
    capsys.readouterr()
    assert cli(*args, "--levels", "0.2") == 2
    err = capsys.readouterr().err.strip().splitlines()  # notes on what is skipped, then:
    assert err[-1].startswith("error:") and "another setting" in err[-1]
    assert digest(tmp_path / "den") == before
    assert cli(*args, "--levels", "0.2", "--overwrite") == 0


# ------------------------------------------------------------------- issue 21: results
ATTX = ["attractors", "--p", "0,0.3", "--trials", 3, "--steps", 4, "--memories", 4,
        "--starts", 4, "--max-steps", 20, "--device", "cpu", "--quiet"]


def test_a_symlinked_entry_is_replaced_itself_and_its_target_kept(run, tmp_path):
    """attx/figures a symlink to a folder elsewhere: --overwrite replaces the symlink by
    the new figures, all at once, and leaves the folder it pointed to as it was."""
    out, elsewhere = tmp_path / "attx", tmp_path / "elsewhere"
    assert cli(*ATTX, "--model", run, "--out", out) == 0
    os.replace(out / "figures", elsewhere)
    os.symlink(elsewhere, out / "figures")
    kept = digest(elsewhere)
    assert cli(*ATTX, "--model", run, "--out", out, "--overwrite", "--seed", 3) == 0
    assert (out / "figures").is_dir() and not (out / "figures").is_symlink()
    assert digest(elsewhere) == kept
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(kept)
    assert not (out / ".staging").exists() and not (out / ".previous").exists()


def test_a_commit_failing_at_any_move_leaves_the_old_result(run, tmp_path, capsys,
                                                            monkeypatch):
    """Every move of the commit made to fail in turn: each time one error line, and
    the folder byte for byte as it was (the new result all or nothing)."""
    from latentdyn.studies import lifecycle

    out = tmp_path / "attx"
    assert cli(*ATTX, "--model", run, "--out", out) == 0
    before = digest(out)
    real, real_commit, fail_at, calls = os.replace, lifecycle.commit, [0], [0]
    committing = []

    def flaky(src, dest):
        if committing:  # a move of the commit, not an atomic write of the run
            calls[0] += 1
            if calls[0] == fail_at[0]:
                raise OSError(errno.ENOSPC, "No space left on device", str(dest))
        return real(src, dest)

    def commit(staging, folder):
        committing.append(1)
        try:
            return real_commit(staging, folder)
        finally:
            committing.clear()

    monkeypatch.setattr(lifecycle.os, "replace", flaky)
    monkeypatch.setattr(lifecycle, "commit", commit)
    for n in (1, 2, 4, 7, 9):
        fail_at[0], calls[0] = n, 0
        assert cli(*ATTX, "--model", run, "--out", out, "--overwrite", "--seed", 3) == 2
        assert "No space left on device" in one_error_line(capsys)
        assert digest(out) == before, n
        assert not (out / ".staging").exists() and not (out / ".previous").exists()
    assert calls[0] >= 9


_KILL_AT_MOVE = """
import os, signal, sys
from latentdyn.studies import lifecycle
real, real_commit, calls = os.replace, lifecycle.commit, []
def replace(src, dest):
    if calls:  # a move of the commit
        calls.append(src)
        if len(calls) == {n} + 1:
            os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dest)
def commit(staging, folder):
    calls.append("commit")
    return real_commit(staging, folder)
lifecycle.os.replace, lifecycle.commit = replace, commit
from latentdyn.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_commit_killed_half_way_is_undone(run, tmp_path, capsys, monkeypatch):
    """SIGKILL between two moves of a commit (old entries already aside, new ones
    already in): the next run puts the old result back before anything else, so a
    run that then fails leaves the old result exactly as it was."""
    out = tmp_path / "attx"
    assert cli(*ATTX, "--model", run, "--out", out) == 0
    before = digest(out)
    args = [str(a) for a in (*ATTX, "--model", run, "--out", out, "--overwrite", "--seed", 3)]
    killed = subprocess.run([sys.executable, "-c", _KILL_AT_MOVE.format(n=5), *args],
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert killed.returncode == -9
    assert (out / ".previous").is_dir() and digest(out) != before  # half committed
    from latentdyn.studies.attractors import section

    def broken(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(out))

    monkeypatch.setattr(section, "analyse", broken)
    assert cli(*args) == 2
    one_error_line(capsys)
    assert digest(out) == before
    assert not (out / ".previous").exists() and not (out / ".staging").exists()


def _killed_training(out: Path) -> None:
    """A train run killed with SIGKILL after its first checkpoint (status running)."""
    code = "import sys; from latentdyn.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, TRAIN),
                             "--epochs", "100000", "--out", str(out)],
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    while not (out / "checkpoint.safetensors").is_file() and proc.poll() is None:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"


@pytest.mark.parametrize("overwrite", [(), ("--overwrite",)])
def test_a_killed_training_run_is_not_taken_over(run, tmp_path, capsys, overwrite):
    """attractors --out runs/killed, a train run killed with -9: refused in one line,
    with or without --overwrite, and the run folder untouched."""
    killed = tmp_path / "runs" / "killed"
    _killed_training(killed)
    before = digest(killed)
    assert cli(*ATTX, "--model", run, "--out", killed, *overwrite) == 2
    assert "training run" in one_error_line(capsys)
    assert digest(killed) == before
    left = {p.name for p in killed.iterdir()}
    assert {"checkpoint.safetensors", "config.json", "manifest.json"} <= left
    assert not left & {"report.html", "figures", "data", ".staging", "attractors.json"}


def test_folders_of_other_kinds_are_not_taken_over(run, tmp_path, capsys):
    """A finished run, a sweep, a folder of someone's files, and the result of another
    study killed while it ran: refused, nothing changed."""
    assert cli(*ATTX, "--model", run, "--out", run) == 2
    assert "training run" in one_error_line(capsys)
    sweep = tmp_path / "sweep"
    assert cli("sweep", "--dataset", DATA, "--nz", "2", "--hidden", 8, "--epochs", 1,
               "--ll-k", 0, "--device", "cpu", "--quiet", "--out", sweep) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    write_text(mine / "thesis.tex", "precious")
    killed = tmp_path / "n17"
    (killed / ".staging").mkdir(parents=True)  # a reproduction killed while it ran
    write_text(killed / ".staging" / "manifest.json", json.dumps(
        {"kind": "reproduce nagano2017", "status": "running", "config": {}}))
    write_text(killed / "model.txt", "its model")
    for folder, message in ((sweep, "a sweep"), (mine, "not a latentdyn result"),
                            (killed, "'reproduce nagano2017'")):
        before = digest(folder)
        assert cli(*ATTX, "--model", run, "--out", folder) == 2
        assert message in one_error_line(capsys)
        assert digest(folder) == before


def test_a_training_run_never_goes_into_another_commands_result(run, tmp_path, capsys):
    """train (and classifier train) told --out an attractors result or a sweep: refused
    in one line with or without --overwrite, nothing changed (it used to replace the
    attractors result with --overwrite)."""
    attx, sweep = tmp_path / "attx", tmp_path / "sweep"
    assert cli(*ATTX, "--model", run, "--out", attx) == 0
    assert cli("sweep", "--dataset", DATA, "--nz", "2", "--hidden", 8, "--epochs", 1,
               "--ll-k", 0, "--device", "cpu", "--quiet", "--out", sweep) == 0
    classifier = ["classifier", "train", "--dataset", DATA, "--epochs", 1, "--batch-size", 12,
                  "--device", "cpu", "--quiet"]
    for folder, message in ((attx, "the result of 'attractors'"), (sweep, "a sweep")):
        before = digest(folder)
        for command in (TRAIN, classifier):
            for extra in (("--overwrite",), ("--overwrite", "--resume")):
                capsys.readouterr()
                assert cli(*command, "--epochs", 1, "--out", folder, *extra) == 2
                assert message in one_error_line(capsys)
                assert digest(folder) == before
