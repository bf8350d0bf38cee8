"""Run every registered study's toy example and print a digest of its results, one line
per file, to show that a change moved no number.

    python tools/smoke_digest.py OUT [--only NAME[,NAME]]

The studies and their examples come from the registry (``latentdyn.studies.STUDIES``
and each study's ``example``): a new study is in the digest as soon as it is
registered. The toy runs the examples name (``@vae``, ``@clf``, ``@gan``,
``@encoder``) are trained first, into ``OUT/toy``. Each example runs in its own folder
``OUT/<command>`` with relative paths, so the results do not depend on where OUT is.

A digest is the SHA-256 of a file's bytes (CSV), of its arrays (NPZ, safetensors), or of
its JSON with what differs between two identical runs left out (timings, dates,
versions, the command line, the device). Manifests, reports, pictures and the runs a
study trains are not digested (their numbers show in the results). Run it before and
after a change, on the same machine, and diff the listings (docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

VOLATILE = {"timings", "wall_time_s", "seconds", "started", "finished", "resumed", "command",
            "versions", "device", "wall_time"}
SKIP_SUFFIXES = {".png", ".pdf", ".html", ".lock", ".md"}
RUN_MARKERS = ("config.json", "sweep.json")  # a trained run or a sweep: inputs, not results


def latentdyn(args: list[str], cwd: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(["latentdyn", *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"latentdyn {' '.join(args)} failed ({done.returncode}): "
                 f"{done.stderr.strip().splitlines()[-1:]}")


def toy_runs(root: Path) -> dict[str, Path]:
    """The toy runs the examples name: a VAE, a classifier, a GAN and its encoder."""
    from latentdyn.data import load_dataset
    from latentdyn.studies.driver import TOY
    from latentdyn.train import train
    from latentdyn.train.recipes import EncoderRecipe, GanRecipe, encoder_config, gan_config
    from latentdyn.train.runs import load_run

    root.mkdir(parents=True, exist_ok=True)
    runs = {k: root / k for k in ("vae", "clf", "gan", "encoder")}
    if not (runs["vae"] / "model.safetensors").is_file():
        latentdyn(["train", "--dataset", TOY, "--nz", "3", "--hidden", "8", "--epochs", "1",
                   "--quiet", "--device", "cpu", "--out", "vae"], root)
    if not (runs["clf"] / "model.safetensors").is_file():
        latentdyn(["classifier", "train", "--dataset", TOY, "--epochs", "1", "--batch-size",
                   "8", "--option", "conv1=2", "--option", "conv2=2", "--option", "dense=4",
                   "--option", "num_classes=3", "--quiet", "--device", "cpu", "--out", "clf"],
                  root)
    data = load_dataset(TOY)
    if not (runs["gan"] / "model.safetensors").is_file():
        train(gan_config(GanRecipe(nz=3, epochs=1, batch_size=8, lr=2e-3, g_width=4,
                                   d_width=2), data, seed=0, device="cpu",
                         classifier=str(runs["clf"])), runs["gan"], progress=False,
              dataset=data)
    if not (runs["encoder"] / "model.safetensors").is_file():
        gan = load_run(runs["gan"]).model
        train(encoder_config(EncoderRecipe(epochs=1, batch_size=8, lr=1e-3, e_width=2,
                                           e_hidden=4), data, gan, gan=str(runs["gan"]),
                             classifier=str(runs["clf"]), seed=0, device="cpu"),
              runs["encoder"], progress=False, dataset=data)
    return runs


def _stable(obj):
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in sorted(obj.items()) if k not in VOLATILE}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def file_digest(path: Path) -> str | None:
    h = hashlib.sha256()
    if path.name.endswith("manifest.json") or path.suffix in SKIP_SUFFIXES:
        return None
    if path.suffix == ".json":
        h.update(json.dumps(_stable(json.loads(path.read_text())), sort_keys=True).encode())
    elif path.suffix == ".npz":
        import numpy as np

        with np.load(path) as arrays:
            for k in sorted(arrays.files):
                h.update(k.encode() + np.ascontiguousarray(arrays[k]).tobytes())
    elif path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        arrays = load_file(path)
        for k in sorted(arrays):
            h.update(k.encode() + arrays[k].tobytes())
    elif path.suffix == ".csv":
        h.update(path.read_bytes())
    else:
        return None
    return h.hexdigest()[:16]


def result_files(folder: Path) -> list[Path]:
    """The files of every result under ``folder``: beside each ``manifest.json`` (and in
    its ``data/``) that is not a trained run's or a sweep's, and the siblings ``X.*`` of
    each ``X.manifest.json`` (a result of files)."""
    files: set[Path] = set()
    for manifest in folder.rglob("*manifest.json"):
        if any(part.startswith(".") for part in manifest.relative_to(folder).parts):
            continue
        home = manifest.parent
        if manifest.name == "manifest.json":
            if any((home / m).is_file() for m in RUN_MARKERS):
                continue
            files.update(p for p in home.iterdir() if p.is_file())
            if (home / "data").is_dir():
                files.update(p for p in (home / "data").rglob("*") if p.is_file())
        else:
            stem = manifest.name[:-len(".manifest.json")]
            files.update(p for p in home.glob(stem + ".*") if p.is_file())
    return sorted(files)


def digest(folder: Path, base: Path) -> list[str]:
    out = []
    for path in result_files(folder):
        d = file_digest(path)
        if d is not None:
            out.append(f"{d}  {path.relative_to(base)}")
    return out


def main() -> None:
    from latentdyn.studies import STUDIES
    from latentdyn.studies.driver import load_study

    out = Path(sys.argv[1]).resolve()
    names = list(STUDIES)
    if "--only" in sys.argv:
        names = sys.argv[sys.argv.index("--only") + 1].split(",")
    runs = toy_runs(out / "toy")
    for name in names:
        folder = out / name.replace(" ", "-")
        folder.mkdir(parents=True, exist_ok=True)
        example = load_study(STUDIES[name]).example
        args = [os.path.relpath(runs[w[1:]], folder) if w[1:] in runs and w.startswith("@")
                else w for w in example]
        latentdyn([*name.split(), *args], folder)
        print("\n".join(digest(folder, out)))


if __name__ == "__main__":
    main()
