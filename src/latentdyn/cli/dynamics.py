"""``latentdyn dynamics``: repeated inference from corrupted inputs for a trained run,
exported as NPZ with its analyses."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np
from tqdm.auto import tqdm

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.errors import ConfigError
from latentdyn.io import atomic_path, write_json


def _ps(text: str) -> list[float]:
    try:
        ps = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"--p expects comma-separated numbers in [0, 1], got {text!r}") from None
    if not ps or any(not (0.0 <= p <= 1.0) for p in ps):
        raise ConfigError(f"--p expects comma-separated numbers in [0, 1], got {text!r}")
    return ps


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
              help="Output NPZ [default: <run>/dynamics-<noise>.npz].")
@click.option("--quiet", is_flag=True)
def dynamics(model_run, dataset, data_dir, noise, ps, trials, label, steps, mode, seed, device,
             out, quiet):
    """Run repeated inference for a trained model from corrupted training images and
    export the trajectories (NPZ) with distances to memories, concepts and the abstract
    concept, and a JSON summary beside it."""
    from latentdyn.analysis import build_hierarchy
    from latentdyn.data import load_dataset
    from latentdyn.analysis.trials import trajectories_by_noise
    from latentdyn.reporting.manifest import Manifest, resolve_device
    from latentdyn.train.runs import load_run

    p_list = _ps(ps)
    if trials < 2:
        raise ConfigError(f"--trials must be at least 2, got {trials}")
    if steps < 0:
        raise ConfigError(f"--steps must be non-negative, got {steps}")
    if noise not in NOISE_KINDS:
        raise ConfigError(f"unknown noise {noise!r}; choose from {', '.join(NOISE_KINDS)}")
    dev = resolve_device(device)
    model, config = load_run(model_run, device=dev)
    data = load_dataset(dataset or config.dataset, data_dir or config.data_dir)
    if data.dim != model.config_dict().get("input_dim", data.dim):
        raise ConfigError(f"data set {data.name} has {data.dim} values per image but the model "
                          f"takes {model.config_dict()['input_dim']}")
    if label is not None and label not in set(data.train_labels.tolist()):
        raise ConfigError(f"--label {label} does not occur in {data.name}")
    out = Path(out) if out else Path(model_run) / f"dynamics-{noise}.npz"
    hier = build_hierarchy(model, data.train_images, data.train_labels)
    bar = tqdm(total=len(p_list), desc="noise levels", disable=quiet)
    result = trajectories_by_noise(model, hier, data.train_images, data.train_labels, p_list,
                                   trials, noise, steps, mode, seed, label,
                                   progress=lambda k, n: bar.update())
    bar.close()
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **result)
    summary = {
        "model": str(model_run), "dataset": data.name, "noise": noise, "ps": p_list,
        "trials": trials, "label": label, "steps": steps, "mode": mode, "seed": seed,
        "closest": result["closest"].tolist(),
        **{f"min_{lv}_mean": result[f"min_{lv}_mean"].tolist()
           for lv in ("memory", "concept", "abstract")},
    }
    write_json(out.with_suffix(".json"), summary)
    manifest = Manifest(out.with_suffix(".manifest.json"), kind="dynamics", config=summary,
                        seed=seed, device=dev,
                        data={"dataset": data.name, "checksums": data.checksums()},
                        argv=["latentdyn", *sys.argv[1:]])
    manifest.write("completed")
    click.echo("p      closest   min_t ||z-memory||  ||z-concept||  ||z-abstract||")
    for k, p in enumerate(p_list):
        click.echo(f"{p:<6g} {result['closest'][k]:<9} {result['min_memory_mean'][k]:>18.3f}"
                   f" {result['min_concept_mean'][k]:>14.3f} {result['min_abstract_mean'][k]:>15.3f}")
    click.echo(f"trajectories written to {out} (summary {out.with_suffix('.json').name})")
