"""``latentdyn dynamics``: repeated inference from corrupted inputs for a trained run,
exported as NPZ with its analyses."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
from tqdm.auto import tqdm

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.errors import ConfigError
from latentdyn.io import atomic_path, folder_lock, refuse_existing, write_json, write_text


def _ps(text: str) -> list[float]:
    try:
        ps = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"--p expects comma-separated numbers in [0, 1], got {text!r}") from None
    if not ps or any(not (0.0 <= p <= 1.0) for p in ps):
        raise ConfigError(f"--p expects comma-separated numbers in [0, 1], got {text!r}")
    return ps


def _check_options(ps: str, trials: int, steps: int, noise: str, mode: str,
                   report_trials: int) -> list[float]:
    """Every option on its own (before any input is read); the noise levels."""
    from latentdyn.dynamics import MODES

    p_list = _ps(ps)
    from latentdyn.checks import check_count

    if trials < 2:
        raise ConfigError(f"--trials must be at least 2, got {trials}")
    if steps < 0:
        raise ConfigError(f"--steps must be non-negative, got {steps}")
    check_count("--trials", trials, 2)
    check_count("--steps", steps, 0)
    if noise not in NOISE_KINDS:
        raise ConfigError(f"unknown noise {noise!r}; choose from {', '.join(NOISE_KINDS)}")
    if mode not in MODES:
        raise ConfigError(f"unknown --mode {mode!r}; choose from {', '.join(MODES)}")
    if report_trials < 0:
        raise ConfigError(f"--report-trials must be >= 0, got {report_trials}")
    return p_list


def _input_dim(model) -> int | None:
    """The image width a model was built for (its config's ``input_dim``), if it says."""
    config = getattr(model, "config_dict", None)
    dim = (config() or {}).get("input_dim") if callable(config) else None
    return dim if isinstance(dim, int) else None


def output_paths(out: Path) -> tuple[Path, Path, Path, Path]:
    """The NPZ, its JSON summary, its manifest and its report: four distinct files beside
    each other (``X.npz``, ``X.json``, ``X.manifest.json``, ``X.html``)."""
    if out.suffix.lower() != ".npz":
        raise ConfigError(f"--out {out}: the trajectories are an NPZ file; give a name ending "
                          "in .npz (the summary, manifest and report go beside it as .json, "
                          ".manifest.json and .html)")
    return out, out.with_suffix(".json"), out.with_suffix(".manifest.json"), \
        out.with_suffix(".html")


def _check_report_size(report_trials: int, trials: int, steps: int, dim: int) -> None:
    """Refuse, before any work, a report whose viewers would be too large to embed."""
    from latentdyn.reporting.viewer import MAX_BYTES

    size = min(report_trials, trials) * (steps + 1) * dim * 4 / 3  # base64 of uint8 frames
    if size > MAX_BYTES:
        raise ConfigError(f"--report-trials {report_trials}: {steps + 1} frames of {dim} "
                          f"pixels per trajectory would embed {size / 1e6:.1f} MB per noise "
                          f"level (at most {MAX_BYTES / 1e6:.0f} MB); lower --report-trials "
                          "(0 writes no report)")


def _viewer(model, hier, data, result, k: int, settings: dict, n_show: int) -> str:
    """The interactive viewer of the first ``n_show`` trials of noise level ``k``:
    x(0) is the corrupted input (remade from the run's seed and checked against the
    trials' indices), x(t) = E_p[x | z(t-1)] decoded from the saved z."""
    import torch

    from latentdyn.analysis import distance_to
    from latentdyn.analysis.trials import corrupted_trials, level_seed
    from latentdyn.models.inference import decode_all
    from latentdyn.reporting.viewer import trajectory_viewer

    s, p = settings, float(result["ps"][k])
    idx, x0 = corrupted_trials(data.train_images, data.train_labels, s["label"], s["trials"],
                               s["noise"], p, level_seed(s["seed"], k))
    if not np.array_equal(idx.numpy(), result["memory_index"][k]):
        raise RuntimeError("the report's inputs differ from the trials' (seeds out of step)")
    n = min(n_show, s["trials"])
    z = torch.as_tensor(result["z"][k, :n])
    steps, nz = z.shape[1] - 1, z.shape[2]
    frames = x0[:n, None]
    if steps:  # x(t) for t >= 1, decoded from the saved z(t - 1)
        later = decode_all(model, z[:, :-1].reshape(-1, nz)).reshape(n, steps, -1)
        frames = torch.cat([frames, later.to(x0.dtype)], 1)
    distances = {"own memory": distance_to(z, hier.memories[idx[:n]]),
                 "concept": result["d_concept"][k, :n],
                 "abstract concept": distance_to(z, hier.abstract)}
    names = [f"trial {i + 1}: label {int(result['labels'][k, i])}, training image "
             f"{int(idx[i])}" for i in range(n)]
    how = ("x(t) for t >= 1 are the decoded means E_p[x | z(t-1)] of the distributions the "
           "sampled states were drawn from" if s["mode"] == "sampling" else
           "x(t + 1) = E_p[x | z(t)]")
    return trajectory_viewer(frames.numpy(), distances, labels=names,
                             image_shape=data.image_shape, title=f"p = {p:g}",
                             caption=f"x(0) is the corrupted training image; {how}. Distances "
                                     "are ||z(t) - xi|| to the trial's own memory, its concept "
                                     "and the abstract concept.")


def _report(model, hier, data, result, settings: dict, n_show: int, outputs: dict) -> str:
    """The report page: one section per noise level, each with its viewer."""
    from latentdyn.reporting.report import Section, render_report

    sections = []
    for k, p in enumerate(result["ps"]):
        mins = ", ".join(f"{lv} {result[f'min_{lv}_mean'][k]:.3f}"
                         for lv in ("memory", "concept", "abstract"))
        sections.append(Section(
            f"Noise level p = {p:g}", None,
            f"{min(n_show, settings['trials'])} of {settings['trials']} trials shown.",
            "— (no paper: a latentdyn dynamics run)",
            f"closest level: {result['closest'][k]}; mean min_t distance to the {mins}.",
            extra_html=_viewer(model, hier, data, result, k, settings, n_show)))
    return render_report(f"latentdyn dynamics: {settings['model']}",
                 "Repeated inference from corrupted training images: step through x(t) with "
                 "the slider and watch the distances to each trial's own memory, its concept "
                 "and the abstract concept. Trajectories: "
                 + ", ".join(f"{k}: {v}" for k, v in outputs.items()) + ".",
                 settings, sections, [])


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
@click.option("--report-trials", type=int, default=4,
              help="Trials per noise level in the interactive viewer of the report (X.html "
                   "beside X.npz); 0 writes no report.")
@click.option("--overwrite", is_flag=True, help="Replace results already at --out.")
@click.option("--quiet", is_flag=True)
def dynamics(model_run, dataset, data_dir, noise, ps, trials, label, steps, mode, seed, device,
             out, report_trials, overwrite, quiet):
    """Run repeated inference for a trained model from corrupted training images and
    export the trajectories (NPZ) with distances to memories, concepts and the abstract
    concept, a JSON summary beside it, and a self-contained HTML report (X.html) whose
    viewer steps through x(t) and the distance curves of the first trials."""
    from latentdyn.analysis import build_hierarchy
    from latentdyn.analysis.trials import trajectories_by_noise
    from latentdyn.manifest import invocation
    from latentdyn.data import load_dataset
    from latentdyn.manifest import Manifest
    from latentdyn.checks import resolve_device
    from latentdyn.train.runs import load_run

    # every option, then every input, before any output is touched
    p_list = _check_options(ps, trials, steps, noise, mode, report_trials)
    npz, summary_path, manifest_path, report_path = output_paths(
        Path(out) if out else Path(model_run) / f"dynamics-{noise}.npz")
    dev = resolve_device(device)
    model, config = load_run(model_run, device=dev)
    data = load_dataset(dataset or config.dataset, data_dir or config.data_dir)
    data.require_dim(_input_dim(model), f"the model of {model_run}")
    if label is not None and label not in set(data.train_labels.tolist()):
        raise ConfigError(f"--label {label} does not occur in {data.name}")
    _check_report_size(report_trials, trials, steps, data.dim)
    from latentdyn.checks import check_memory

    nz = int(getattr(model, "nz", 0) or model.config_dict().get("nz", 1) or 1)
    check_memory(4 * len(p_list) * trials * (steps + 1) * (2 * nz + 4) + 8 * trials * data.dim,
                 f"{trials} trials of {steps} steps at {len(p_list)} noise levels")
    outputs = (npz, summary_path, manifest_path) + ((report_path,) if report_trials else ())
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
    names = {"trajectories": npz.name, "summary": summary_path.name}
    page = _report(model, hier, data, result, settings, report_trials, names) \
        if report_trials else None
    with folder_lock(npz.parent):  # only now, with everything computed, write them all
        refuse_existing(outputs, overwrite)  # none written meanwhile by another process
        with atomic_path(npz) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **result)
        write_json(summary_path, summary)
        if page is not None:
            write_text(report_path, page)
            names["report"] = report_path.name
        manifest.update(outputs=names,
                        results={k: v for k, v in summary.items() if k not in settings})
        manifest.write("completed")
    click.echo("p      closest   min_t ||z-memory||  ||z-concept||  ||z-abstract||")
    for k, p in enumerate(p_list):
        click.echo(f"{p:<6g} {result['closest'][k]:<9} {result['min_memory_mean'][k]:>18.3f}"
                   f" {result['min_concept_mean'][k]:>14.3f} {result['min_abstract_mean'][k]:>15.3f}")
    click.echo(f"trajectories written to {npz} (summary {summary_path.name}"
               + (f", report {report_path.name})" if report_trials else ")"))
