"""The report page of ``latentdyn dynamics`` (``X.html``): one section per noise level,
each with an interactive viewer that opens on the average over all its trials (mean ±
SEM of the distances of z(t) to each trial's own memory, its concept and the abstract
concept, and the mean image x̄(t)) and offers its first trials one by one."""

from __future__ import annotations

import numpy as np

from latentdyn.errors import ConfigError


def check_report_size(report_trials: int, trials: int, steps: int, dim: int) -> None:
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
                               s["noise"], p, level_seed(s["seed"], k), data.channels)
    if not np.array_equal(idx.numpy(), result["memory_index"][k]):
        raise RuntimeError("the report's inputs differ from the trials' (seeds out of step)")
    n = min(n_show, s["trials"])
    z = torch.as_tensor(result["z"][k])  # every trial
    steps, nz = z.shape[1] - 1, z.shape[2]
    frames = x0[:, None]
    if steps:  # x(t) for t >= 1, decoded from the saved z(t - 1)
        later = decode_all(model, z[:, :-1].reshape(-1, nz)).reshape(len(z), steps, -1)
        frames = torch.cat([frames, later.to(x0.dtype)], 1)
    every = {"own memory": distance_to(z, hier.memories[idx]),
             "concept": torch.as_tensor(result["d_concept"][k]),
             "abstract concept": distance_to(z, hier.abstract)}
    distances = {name: d[:n] for name, d in every.items()}
    average = None
    if len(z) >= 2:
        average = {"label": f"mean of all {len(z)} trials", "n": len(z),
                   "frames": frames.mean(0).numpy(),
                   "distances": {c: d.mean(0).numpy() for c, d in every.items()},
                   "sem": {c: (d.std(0) / len(d) ** 0.5).numpy() for c, d in every.items()}}
    frames = frames[:n]
    names = [f"trial {i + 1}: label {int(result['labels'][k, i])}, training image "
             f"{int(idx[i])}" for i in range(n)]
    how = ("x(t) for t >= 1 are the decoded means E_p[x | z(t-1)] of the distributions the "
           "sampled states were drawn from" if s["mode"] == "sampling" else
           "x(t + 1) = E_p[x | z(t)]")
    return trajectory_viewer(frames.numpy(), distances, labels=names,
                             image_shape=data.image_shape, title=f"p = {p:g}", average=average,
                             caption=f"x(0) is the corrupted training image; {how}. Distances "
                                     "are ||z(t) - xi|| to the trial's own memory, its concept "
                                     "and the abstract concept.")


def report_page(model, hier, data, result, settings: dict, n_show: int, outputs: dict) -> str:
    """The report page: one section per noise level, each with its viewer."""
    from latentdyn.reporting.report import Section, render_report

    sections = []
    trials = settings["trials"]
    for k, p in enumerate(result["ps"]):
        mins = ", ".join(f"{lv} {result[f'min_{lv}_mean'][k]:.3f}"
                         for lv in ("memory", "concept", "abstract"))
        shown = min(n_show, trials)
        sections.append(Section(
            f"Noise level p = {p:g}", None,
            f"The viewer opens on the mean of all {trials} trials; its menu also shows the "
            f"first {shown} one by one." if trials >= 2 else "One trial.", "",
            f"averaged over the {trials} trials, z(t) comes closest to the "
            f"{result['closest'][k]} (mean of each trial's minimum distance over t: {mins}).",
            extra_html=_viewer(model, hier, data, result, k, settings, n_show)))
    files = [f"{v} ({k})" for k, v in outputs.items()]
    return render_report(
        f"latentdyn dynamics: {settings['model']}",
        "Repeated inference from corrupted training images: step through x(t) with the "
        "slider and watch the distances to each trial's own memory, its concept and the "
        "abstract concept. The numbers are in " + " and ".join(files) + ", beside this page.",
        settings, sections, [])


__all__ = ["check_report_size", "report_page"]
