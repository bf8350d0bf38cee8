"""Every stage of a quick ``reproduce nagano2017`` against its arithmetic limit.

The training stages are taken apart in ``bench/train_limits.py`` and
``bench/quick_stages.py``; this one measures the rest (the experiments, Fig. 7's
per-image ELBO, Fig. B.2, the bootstraps, the attractors) on a finished run: it copies
the run's folder, runs the same command there again with ``--overwrite`` (the trained
models are reused, everything else is computed again) twice in this process, once
timed and once with torch's FLOP counter (``torch.utils.flop_counter.FlopCounterMode``)
around every stage, and prints per stage its seconds, its matrix-product and
convolution GFLOP, the seconds those would take at the machine's square-matmul peak
(measured in the same run, ``bench/common.py``) and the share of the peak the stage
reaches. A stage with almost no FLOPs (the bootstraps: NumPy resampling) is bound by
something else, which the table says.

    python bench/stage_limits.py --folder results/nagano2017 [--threads 2]

The folder is only read; the copy is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, square_peak  # noqa: E402


def rerun(folder: Path, argv: list[str], count: bool) -> tuple[dict, dict, float]:
    """(seconds per stage, FLOPs per stage or {}, wall seconds) of the run's command run
    again in ``folder`` with ``--overwrite``."""
    from latentdyn.cli import main
    from latentdyn.studies.lifecycle import Run

    flops: dict = {}
    plain = Run.stage

    @contextlib.contextmanager
    def counted(self, name, message=None):
        with plain(self, name, message), FlopCounterMode(display=False) as counter:
            yield
        flops[name] = flops.get(name, 0) + counter.get_total_flops()

    if count:
        Run.stage = counted
    try:
        t = time.perf_counter()
        code = main([*argv, "--out", str(folder), "--overwrite", "--quiet"])
        wall = time.perf_counter() - t
    finally:
        Run.stage = plain
    if code != 0:
        raise SystemExit(f"error: the rerun in {folder} exited with {code}")
    timings = json.loads((folder / "manifest.json").read_text())["timings"]
    return timings, flops, wall


def command_of(recorded: list[str]) -> list[str]:
    """A manifest's ``command`` from ``reproduce`` on, without ``--out``, ``--overwrite``
    and ``--quiet`` (the rerun sets them)."""
    cmd = list(recorded)
    cmd = cmd[cmd.index("reproduce"):] if "reproduce" in cmd else cmd
    out, skip = [], False
    for a in cmd:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not (a.startswith("--out=") or a in ("--overwrite", "--quiet")):
            out.append(a)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", required=True, help="a finished quick reproduce nagano2017")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    src = Path(args.folder)
    argv = command_of(json.loads((src / "manifest.json").read_text())["command"])
    print(f"machine: {machine()}, {args.threads} thread(s); command: latentdyn {' '.join(argv)}")
    peak = square_peak()
    with tempfile.TemporaryDirectory(prefix="stage-limits-") as tmp:
        folder = Path(tmp) / "run"
        shutil.copytree(src, folder)
        timings, _, wall = rerun(folder, argv, count=False)
        _, flops, _ = rerun(folder, argv, count=True)
    peak = max(peak, square_peak())  # before and after: the machine's best
    print(f"square-matmul peak {peak:.1f} GFLOP/s; the rerun took {wall:.1f} s "
          "(models reused)\n")
    print(f"{'stage':<12}{'s':>8}{'GFLOP':>10}{'limit s':>9}{'% of peak':>11}")
    for name, seconds in timings.items():
        gflop = flops.get(name, 0) / 1e9
        limit = gflop / peak
        share = f"{100 * limit / seconds:.1f}" if seconds > 0 and gflop > 0 else "—"
        print(f"{name:<12}{seconds:>8.2f}{gflop:>10.1f}{limit:>9.2f}{share:>11}")
    print(json.dumps({"peak_gflops": peak, "timings": timings,
                      "gflop": {k: v / 1e9 for k, v in flops.items()}}))


if __name__ == "__main__":
    main()
