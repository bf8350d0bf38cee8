"""``latentdyn dynamics``: repeated inference from corrupted inputs for a trained run,
exported as NPZ with its analyses."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
from tqdm.auto import tqdm

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.errors import ConfigError
from latentdyn.io import atomic_path, folder_lock, refuse_existing, write_json


def _ps(text: str) -> list[float]:
    try:
        ps = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"--p expects comma-separated numbers in [0, 1], got {text!r}") from None
    if not ps or any(not (0.0 <= p <= 1.0) for p in ps):
        raise ConfigError(f"--p expects comma-separated numbers in [0, 1], got {text!r}")
    return ps


def _input_dim(model) -> int | None:
    """The image width a model was built for (its config's ``input_dim``), if it says."""
    config = getattr(model, "config_dict", None)
    dim = (config() or {}).get("input_dim") if callable(config) else None
    return dim if isinstance(dim, int) else None


def output_paths(out: Path) -> tuple[Path, Path, Path]:
    """The NPZ, its JSON summary and its manifest: three distinct files beside each other
    (``X.npz``, ``X.json``, ``X.manifest.json``)."""
    if out.suffix.lower() != ".npz":
        raise ConfigError(f"--out {out}: the trajectories are an NPZ file; give a name ending "
                          "in .npz (the summary and manifest go beside it as .json and "
                          ".manifest.json)")
    return out, out.with_suffix(".json"), out.with_suffix(".manifest.json")


@click.command(context_settings={"show_default": True})
@click.option("--model", "model_run", required=True, type=click.Path(file_okay=False),
              help="A run folder (from latentdyn train).")
@click.option("--dataset", default=None, help="Training images [default: the run's dataset].")
@click.option("--data-dir", default=None)
@click.option("--noise", default="swap", help=f"Corruption: {', '.join(NOISE_KINDS)}.")
@click.option("--p", "ps", default="0.1,0.2,0.4", help="Noise levels, comma-separated.")
@click.option("--trials", type=int, default=100, help="Trials per noise level.")
@click.option("--label", type=int, default=None,
              help="Start only from training images of this label [default: all labels].")
@click.option("--steps", type=int, default=80, help="T, the number of inference steps.")
@click.option("--mode", default="deterministic", help="deterministic or sampling.")
@click.option("--seed", type=int, default=0)
@click.option("--device", default="auto")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Output NPZ [default: <run>/dynamics-<noise>.npz]; the summary (.json) "
                   "and manifest (.manifest.json) go beside it.")
@click.option("--overwrite", is_flag=True, help="Replace results already at --out.")
@click.option("--quiet", is_flag=True)
def dynamics(model_run, dataset, data_dir, noise, ps, trials, label, steps, mode, seed, device,
             out, overwrite, quiet):
    """Run repeated inference for a trained model from corrupted training images and
    export the trajectories (NPZ) with distances to memories, concepts and the abstract
    concept, and a JSON summary beside it."""
    from latentdyn.analysis import build_hierarchy
    from latentdyn.analysis.trials import trajectories_by_noise
    from latentdyn.cli import invocation
    from latentdyn.data import load_dataset
    from latentdyn.dynamics import MODES
    from latentdyn.reporting.manifest import Manifest, resolve_device
    from latentdyn.train.runs import load_run

    # every option, then every input, before any output is touched
    p_list = _ps(ps)
    if trials < 2:
        raise ConfigError(f"--trials must be at least 2, got {trials}")
    if steps < 0:
        raise ConfigError(f"--steps must be non-negative, got {steps}")
    if noise not in NOISE_KINDS:
        raise ConfigError(f"unknown noise {noise!r}; choose from {', '.join(NOISE_KINDS)}")
    if mode not in MODES:
        raise ConfigError(f"unknown --mode {mode!r}; choose from {', '.join(MODES)}")
    npz, summary_path, manifest_path = output_paths(
        Path(out) if out else Path(model_run) / f"dynamics-{noise}.npz")
    dev = resolve_device(device)
    model, config = load_run(model_run, device=dev)
    data = load_dataset(dataset or config.dataset, data_dir or config.data_dir)
    data.require_dim(_input_dim(model), f"the model of {model_run}")
    if label is not None and label not in set(data.train_labels.tolist()):
        raise ConfigError(f"--label {label} does not occur in {data.name}")
    outputs = (npz, summary_path, manifest_path)
    refuse_existing(outputs, overwrite)
    settings = {"model": str(model_run), "dataset": data.name, "noise": noise, "ps": p_list,
                "trials": trials, "label": label, "steps": steps, "mode": mode, "seed": seed}
    manifest = Manifest(manifest_path, kind="dynamics", config=settings, seed=seed, device=dev,
                        data={"dataset": data.name, "checksums": data.checksums()},
                        argv=invocation())
    hier = build_hierarchy(model, data.train_images, data.train_labels)
    bar = tqdm(total=len(p_list), desc="noise levels", disable=quiet)
    result = trajectories_by_noise(model, hier, data.train_images, data.train_labels, p_list,
                                   trials, noise, steps, mode, seed, label,
                                   progress=lambda k, n: bar.update())
    bar.close()
    summary = {
        **settings,
        "closest": result["closest"].tolist(),
        **{f"min_{lv}_mean": result[f"min_{lv}_mean"].tolist()
           for lv in ("memory", "concept", "abstract")},
    }
    with folder_lock(npz.parent):  # only now, with everything computed, write them all
        refuse_existing(outputs, overwrite)  # none written meanwhile by another process
        with atomic_path(npz) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **result)
        write_json(summary_path, summary)
        manifest.update(outputs={"trajectories": npz.name, "summary": summary_path.name},
                        results={k: v for k, v in summary.items() if k not in settings})
        manifest.write("completed")
    click.echo("p      closest   min_t ||z-memory||  ||z-concept||  ||z-abstract||")
    for k, p in enumerate(p_list):
        click.echo(f"{p:<6g} {result['closest'][k]:<9} {result['min_memory_mean'][k]:>18.3f}"
                   f" {result['min_concept_mean'][k]:>14.3f} {result['min_abstract_mean'][k]:>15.3f}")
    click.echo(f"trajectories written to {npz} (summary {summary_path.name})")
