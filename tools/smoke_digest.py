"""Run every study and the denoising comparison at toy size and print a digest of its
outputs (claims.json and every CSV under data/), one line per file.

Used to show that a refactoring changed no result: run it before and after, with the
same seed on the same machine, and diff the two listings (docs/architecture.md).

    python tools/smoke_digest.py OUT_DIR [--only STUDY[,STUDY]]

The toy profile of serdega2020 and toledo2023 was called ``tiny`` before the
architecture change and ``smoke`` after it; the tool uses whichever the code accepts.
``--only``: print the digests of these studies only (what they need still runs:
``denoise`` uses the runs of ``toledo2023``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

TOLEDO_DATA = "synthetic:k=3,m=60,side=8,test=20"
NAGANO_DATA = "synthetic:m=20,side=6,test=5"


def sh(*args: str, check: bool = True) -> int:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run(["latentdyn", *args], check=check, env=env,
                          stdout=subprocess.DEVNULL).returncode


def small_profile(study: str) -> str:
    """``smoke`` where the study has it, else its older name ``tiny``."""
    import importlib

    return "smoke" if "smoke" in importlib.import_module(f"latentdyn.studies.{study}").PROFILES \
        else "tiny"


def digest(folder: Path) -> list[str]:
    files = [folder / "claims.json"] if (folder / "claims.json").is_file() else []
    files += sorted((folder / "data").glob("*.csv")) if (folder / "data").is_dir() else []
    files += sorted(folder.glob("*.csv"))
    out = []
    for f in files:
        digest = hashlib.sha256(f.read_bytes()).hexdigest()[:16]
        out.append(f"{digest}  {f.relative_to(folder.parent)}")
    return out


def main() -> None:
    out = Path(sys.argv[1])
    studies = ["nagano2017", "serdega2020", "toledo2023", "denoise"]
    if "--only" in sys.argv:
        studies = sys.argv[sys.argv.index("--only") + 1].split(",")
    out.mkdir(parents=True, exist_ok=True)
    q = ["--quiet", "--device", "cpu"]
    if "nagano2017" in studies:
        sh("reproduce", "nagano2017", "--profile", "smoke", "--dataset", NAGANO_DATA, "--nz",
           "6", "--out", str(out / "nagano2017"), *q)
    if "serdega2020" in studies:
        sh("reproduce", "serdega2020", "--profile", small_profile("serdega2020"), "--out",
           str(out / "serdega2020"), *q)
    if "toledo2023" in studies or "denoise" in studies:
        sh("reproduce", "toledo2023", "--profile", small_profile("toledo2023"), "--out",
           str(out / "toledo2023"), *q)
    if "denoise" in studies:
        denoise(out)
    for study in studies:
        print("\n".join(digest(out / study)))


def denoise(out: Path) -> None:
    runs = out / "toledo2023" / "runs"
    sh("train", "--dataset", TOLEDO_DATA, "--nz", "12", "--hidden", "32", "--epochs", "3",
       "--out", str(out / "vae"), "--quiet", "--device", "cpu")
    sh("compare", "denoise", "--vae", str(out / "vae"), "--gan", str(runs / "encoder"),
       "--classifier", str(runs / "classifier"), "--dataset", TOLEDO_DATA, "--n-test", "20",
       "--levels", "0.1,0.3", "--steps", "1,3", "--ks", "1,3", "--examples", "2",
       "--out", str(out / "denoise"), "--no-progress", "--device", "cpu")


if __name__ == "__main__":
    main()
