"""A real full disk (issue 21, item 4): the commands write to a real small filesystem
and end with one `error:` line naming the file, exit status 2, and nothing damaged.

The small filesystem is a tmpfs where this process may mount one (root, as on the
development machine), else the command runs with ``RLIMIT_FSIZE`` (no file may grow
past the limit; SIGXFSZ ignored, so a write fails with EFBIG, "File too large", as a
full disk fails with ENOSPC). ``LATENTDYN_TEST_NO_MOUNT=1`` forces the second way.
"""

import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

CODE = "import sys; from latentdyn.cli import main; sys.exit(main(sys.argv[1:]))"
DISK_ERRORS = ("No space left on device", "File too large")
SIZE = 4 << 20  # the tmpfs


class SmallDisk:
    """A folder on a small filesystem, and a way to run ``latentdyn`` writing there."""

    def __init__(self, root: Path):
        self.root, self.limit = root, None
        root.mkdir(parents=True, exist_ok=True)
        self.mounted = os.environ.get("LATENTDYN_TEST_NO_MOUNT") != "1" and \
            hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") and \
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(root)],
                           capture_output=True).returncode == 0

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.root)], capture_output=True)

    def fill(self, leave: int) -> None:
        """Leave about ``leave`` bytes that can be written: the tmpfs filled up to that,
        else no file may grow past ``leave`` bytes."""
        if not self.mounted:
            self.limit = leave
            return
        filler = self.root / f"filler-{uuid.uuid4().hex}"
        st = os.statvfs(self.root)
        with open(filler, "wb") as fh:
            fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))

    def run(self, *args) -> subprocess.CompletedProcess:
        limit = self.limit

        def limited():
            if limit is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return subprocess.run([sys.executable, "-c", CODE, *map(str, args)], text=True,
                              capture_output=True, preexec_fn=limited,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))


@pytest.fixture
def disk(tmp_path):
    d = SmallDisk(tmp_path / "small")
    yield d
    d.close()


def one_disk_error(proc, path: Path) -> str:
    """The command failed with one `error:` line naming a file under ``path``."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, err[-2000:]
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err, err
    assert any(e in err for e in DISK_ERRORS) and str(path) in err, err
    assert "internal error" not in err and "Stream" not in err
    return err


def digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(
                ("filler-", ".latentdyn.lock"))}


def no_temporaries(root: Path) -> None:
    left = [p for p in root.rglob("*.tmp")]
    assert not left, left


def test_train_on_a_full_disk(disk):
    keep = disk.root / "keep.txt"
    keep.write_text("precious")
    disk.fill(20_000)  # the checkpoint (about 40 kB) cannot be written
    out = disk.root / "run"
    proc = disk.run("train", "--dataset", "digits", "--nz", 2, "--hidden", 16, "--epochs", 1,
                    "--device", "cpu", "--quiet", "--out", out)
    one_disk_error(proc, out)
    assert keep.read_text() == "precious"
    assert not (out / "model.safetensors").exists()
    no_temporaries(disk.root)


def test_the_sampling_study_on_a_full_disk(disk):
    disk.fill(20_000)
    out = disk.root / "samp"
    proc = disk.run("reproduce", "nagano2017-sampling", "--profile", "smoke", "--device",
                    "cpu", "--quiet", "--out", out)
    one_disk_error(proc, out)
    assert not (out / "report.html").exists() and not (out / ".staging").exists()
    no_temporaries(disk.root)


def test_a_result_replaced_on_a_full_disk_stays_whole(disk, tmp_path):
    """attractors into a folder that holds a completed result: the disk fills while the
    new one is written; the old result is left byte for byte."""
    run = tmp_path / "run"
    ok = SmallDisk.run(disk, "train", "--dataset", "synthetic:k=3,m=12,side=6,test=6",
                       "--nz", 3, "--hidden", 8, "--epochs", 2, "--device", "cpu", "--quiet",
                       "--out", run)
    assert ok.returncode == 0, ok.stderr
    out = disk.root / "attx"
    args = ["attractors", "--model", run, "--p", "0,0.3", "--trials", 3, "--steps", 4,
            "--memories", 4, "--starts", 4, "--max-steps", 20, "--device", "cpu", "--quiet",
            "--out", out]
    first = disk.run(*args)
    assert first.returncode == 0, first.stderr
    before = digest(out)
    disk.fill(60_000)  # figures fit, the report (about 250 kB) does not
    proc = disk.run(*args, "--overwrite", "--seed", 3)
    one_disk_error(proc, out)
    assert digest(out) == before
    assert not (out / ".staging").exists() and not (out / ".previous").exists()
    no_temporaries(disk.root)


_PDF = """
import io, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from latentdyn.figures.save import save_figure
fig, ax = plt.subplots()
rng = np.random.default_rng(0)
ax.scatter(rng.random(20000), rng.random(20000), s=1)
try:
    save_figure(fig, sys.argv[1], "f", csv_columns={})
except OSError as exc:
    print(f"OSError {exc.filename}: {exc.strerror}")
"""


def test_a_pdf_that_does_not_fit_is_an_os_error_naming_it(disk, tmp_path):
    """matplotlib's PDF writer, failing half way, used to hide the disk's error behind
    AttributeError: 'Stream' object has no attribute 'pos'."""
    free = subprocess.run([sys.executable, "-c", _PDF, str(tmp_path / "free")], text=True,
                          capture_output=True)
    assert free.returncode == 0 and not free.stdout.strip(), free.stderr[-2000:]
    png, pdf = ((tmp_path / "free" / f"f.{x}").stat().st_size for x in ("png", "pdf"))
    assert pdf > png + 100_000
    disk.fill(png + 50_000)  # the PNG fits, the PDF does not
    out = disk.root / "figures"
    limit = disk.limit

    def limited():
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([sys.executable, "-c", _PDF, str(out)], text=True,
                          capture_output=True, preexec_fn=limited)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = proc.stdout.strip()
    assert line.startswith(f"OSError {out / 'f.pdf'}: ") and \
        any(e in line for e in DISK_ERRORS), line
    assert (out / "f.png").is_file() and not (out / "f.pdf").exists()
    assert not list(out.glob(".*.tmp"))
