"""``latentdyn reproduce nagano2017``: Nagano, Karakida & Okada (2017), figures 1-4 and
A.1 with the claims scorecard C1-C5 (SPEC §1).

``run(...)`` is the plain-function core; ``command`` is its click wrapper. The claim
thresholds below are fixed in code before any run and never tuned to an outcome.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import click
import numpy as np
import torch
from tqdm.auto import tqdm

from latentdyn.analysis import (
    active_units,
    build_hierarchy,
    cosine_matrix,
    dims_for,
    mean_abs_offdiagonal,
    pca_2d,
    pca_cumulative,
)
from latentdyn.reporting.claims import Claim, format_scorecard, write_scorecard
from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.data import load_dataset, list_datasets
from latentdyn.dynamics import MODES, run_dynamics
from latentdyn.errors import ConfigError
from latentdyn.analysis.trials import concept_time_course, corrupted_trials, noise_sweep
from latentdyn.io import write_json
from latentdyn.reporting.manifest import Manifest, resolve_device
from latentdyn.models.protocol import data_mean
from latentdyn.reporting.report import Section, write_report
from latentdyn.train.runs import load_run
from latentdyn.train import TrainConfig, ensure_trained

# --- claim thresholds, fixed before any run (SPEC §1, "Claims") ---------------------
PAPER_ACTIVE_UNITS = 14
PAPER_DIMS_70, PAPER_DIMS_99 = 9, 14
FACTOR = 2.0  # C2/C3: "a few" = within a factor of two of the paper's count
# C4: the mean |cosine| of two random directions in the paper's 14-dimensional active
# space is sqrt(2 / (pi * 14)) ~ 0.21; concepts count as near-orthogonal below 0.2.
ORTHOGONAL_BELOW = 0.2
FIG4_PS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # 12 levels
FIG4_LABEL = 6
FIGA1_SUBSET = (0, 1, 6)


@dataclass(frozen=True)
class Profile:
    name: str
    epochs: int
    trials_fig2: int
    trials_fig4: int
    steps: int
    ps: tuple = FIG4_PS
    p_fig2: float = 0.2
    pca_points: int = 10000  # memories drawn in Fig. A.1


PROFILES = {
    # the whole command in <= 10 minutes on 2 CPU cores with the embedded data
    "quick": Profile("quick", epochs=30, trials_fig2=300, trials_fig4=300, steps=80),
    # the paper's trial counts, T and training length
    "paper": Profile("paper", epochs=100, trials_fig2=300, trials_fig4=500, steps=80,
                     pca_points=60000),
    # toy size for tests and smoke runs (not documented as a reproduction)
    "smoke": Profile("smoke", epochs=2, trials_fig2=12, trials_fig4=10, steps=12,
                     ps=(0.0, 0.3, 0.6, 1.0), pca_points=500),
}


def _paper_dataset() -> str:
    present = {d["name"]: d.get("available") for d in list_datasets()}
    return "mnist" if present.get("mnist") else "mnist-embedded"


def _model(config: TrainConfig, folder: Path, model_run: str | None, device, progress: bool):
    """Load ``model_run``, or train ``config`` into ``folder`` (reusing a finished run
    with the same config, resuming an interrupted one)."""
    if model_run:
        return load_run(model_run, device=device), str(model_run)
    ensure_trained(config, folder, progress=progress)
    return load_run(folder, device=device), str(folder)


def run(
    out: str | Path = "results/nagano2017",
    profile: str = "quick",
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    model_run: str | None = None,
    noise: str = "swap",
    mode: str = "deterministic",
    nz: int = 100,
    seed: int = 0,
    epochs: int | None = None,
    trials: int | None = None,
    steps: int | None = None,
    device: str = "auto",
    progress: bool = True,
    overwrite: bool = False,
    latent_size: bool = True,
) -> Path:
    """Reproduce figures 1-4, 6, 7, A.1 and B.2 and claims C1-C8 into ``out``; return
    ``out``. ``latent_size=False`` skips the latent-size study (figures 6, 7, B.2)."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose quick or paper")
    if noise not in NOISE_KINDS:
        raise ConfigError(f"unknown noise {noise!r}; choose from {', '.join(NOISE_KINDS)}")
    if mode not in MODES:
        raise ConfigError(f"unknown dynamics mode {mode!r}; choose from {', '.join(MODES)}")
    prof = PROFILES[profile]
    overrides = {k: v for k, v in dict(epochs=epochs, steps=steps).items() if v is not None}
    if trials is not None:
        overrides.update(trials_fig2=trials, trials_fig4=trials)
    for k, v in overrides.items():
        if not isinstance(v, int) or v < (2 if k.startswith("trials") else 0):
            raise ConfigError(f"{k} must be an integer >= {2 if k.startswith('trials') else 0}")
    prof = replace(prof, **overrides)
    dataset = dataset or (_paper_dataset() if profile == "paper" else "mnist-embedded")
    out = Path(out)
    if (out / "manifest.json").is_file() and not overwrite:
        old = json.loads((out / "manifest.json").read_text()).get("config", {})
        if old.get("profile") != profile or old.get("seed") != seed or old.get("dataset") != dataset:
            raise ConfigError(f"{out}: holds results of another setting; pass --overwrite "
                              "or choose another --out")
    dev = resolve_device(device)
    settings = {"profile": profile, **asdict(prof), "dataset": dataset, "noise": noise,
                "mode": mode, "nz": nz, "seed": seed, "model_run": model_run,
                "device": str(dev), "latent_size_study": latent_size}
    if latent_size:
        from latentdyn.reproduce.latent_size import STUDY_PROFILES

        settings["latent_size"] = asdict(STUDY_PROFILES[profile])
    t_start = time.perf_counter()
    data = load_dataset(dataset, data_dir)
    manifest = Manifest(out / "manifest.json", kind="reproduce nagano2017", config=settings,
                        seed=seed, device=dev,
                        data={"dataset": data.name, "checksums": data.checksums()})
    out.mkdir(parents=True, exist_ok=True)
    manifest.write("running")
    figdir, datadir = out / "figures", out / "data"
    timings: dict[str, float] = {}

    def stage(name: str):
        timings[name] = round(time.perf_counter() - t_start - sum(timings.values()), 2)

    # 1. the model
    config = TrainConfig(dataset=dataset, data_dir=data_dir, nz=nz, epochs=prof.epochs,
                         seed=seed, device=str(dev))
    (model, model_config), model_path = _model(config, out / "model", model_run, dev, progress)
    stage("train")
    images, labels = data.train_images, data.train_labels
    hier = build_hierarchy(model, images, labels)
    stage("hierarchy")
    side = data.image_shape

    # 2. Fig. 1: one corrupted '6' through T steps, beside the decoded concept
    _, x0 = corrupted_trials(images, labels, FIG4_LABEL, 1, noise, prof.p_fig2, seed)
    seq = run_dynamics(model, x0, steps=prof.steps, mode=mode, record_x="all", generator=seed)
    frames = seq.x[0].reshape(-1, *side).numpy()
    with torch.no_grad():
        concept_img = data_mean(model, hier.concept(FIG4_LABEL)[None].to(dev)).cpu()
    from latentdyn.figures import (
        fig1_sequence, fig2_distance_curves, fig3a_concepts, fig3b_pca, fig3c_cosine,
        fig4_stages, figA1_pca, save_figure,
    )
    cap = (f"{noise} noise p = {prof.p_fig2}, {mode} dynamics, T = {prof.steps}, Nz = {nz}, "
           f"{dataset}, seed {seed}")
    f1 = save_figure(fig1_sequence(frames, list(seq.x_steps),
                                   concept_img.reshape(side).numpy(), FIG4_LABEL,
                                   caption=f"Fig. 1: x(t) from a corrupted '6'; {cap}"),
                     figdir, "fig1_sequence", data_dir=datadir)

    # 3. Fig. 2: distance to the concept for every label
    classes = [int(c) for c in hier.classes]
    courses = {}
    for c in tqdm(classes, desc="fig 2 (labels)", disable=not progress):
        courses[c] = concept_time_course(model, hier, images, labels, c, prof.trials_fig2,
                                         prof.p_fig2, noise, prof.steps, mode,
                                         seed=seed + 101 * (c + 1))
    stage("fig2 dynamics")
    t_axis = np.arange(prof.steps + 1)
    f2 = save_figure(
        fig2_distance_curves(t_axis, {c: tc.mean.numpy() for c, tc in courses.items()},
                             {c: tc.sem.numpy() for c, tc in courses.items()},
                             caption=f"Fig. 2: ||z(t) - concept||, mean ± SEM over "
                                     f"{prof.trials_fig2} trials per label; {cap}",
                             t_star={c: tc.dip["t_star"] for c, tc in courses.items()}),
        figdir, "fig2_distance", data_dir=datadir)
    dips = {c: tc.dip for c, tc in courses.items()}
    write_json(datadir / "fig2_dips.json", dips)

    # 4. Fig. 3: concepts, PCA, cosine similarity
    mask, n_active = active_units(hier.memories)
    cum = pca_cumulative(hier.memories)
    d70, d99 = dims_for(cum, 0.7), dims_for(cum, 0.99)
    cos = cosine_matrix(hier.concepts)
    off = mean_abs_offdiagonal(cos)
    f3a = save_figure(fig3a_concepts(hier.concepts.numpy(), mask.numpy(),
                                     caption=f"Fig. 3a: concepts (label x latent unit); "
                                             f"{n_active} of {nz} units active "
                                             f"(Var of E_q[z_u|x] > 0.01)"),
                      figdir, "fig3a_concepts", data_dir=datadir)
    f3b = save_figure(fig3b_pca(np.asarray(cum), caption="Fig. 3b: cumulative contribution "
                                "ratio of the principal components of the training memories"),
                      figdir, "fig3b_pca", data_dir=datadir)
    f3c = save_figure(fig3c_cosine(cos.numpy(), classes, caption="Fig. 3c: cosine similarity "
                                   f"between concepts (eq. 11); mean |off-diagonal| = {off:.3f}"),
                      figdir, "fig3c_cosine", data_dir=datadir)
    stage("fig3")

    # 5. Fig. 4: minimum distances vs noise, three stages
    bar = tqdm(total=len(prof.ps), desc="fig 4 (noise levels)", disable=not progress)
    sweep = noise_sweep(model, hier, images, labels, FIG4_LABEL, prof.ps, prof.trials_fig4,
                        noise, prof.steps, mode, seed=seed + 5000,
                        progress=lambda k, n: bar.update())
    bar.close()
    stage("fig4 dynamics")
    f4 = save_figure(fig4_stages(np.asarray(sweep.ps), {k: np.asarray(v) for k, v in
                                                        sweep.mean.items()},
                                 {k: np.asarray(v) for k, v in sweep.sem.items()},
                                 sweep.stages,
                                 caption=f"Fig. 4: min_t distance from trials started at "
                                         f"corrupted '6's ({prof.trials_fig4} per p) to their "
                                         f"own memory, the concept of '6' and the abstract "
                                         f"concept; {noise} noise, {mode}, T = {prof.steps}"),
                     figdir, "fig4_stages", data_dir=datadir)
    write_json(datadir / "fig4_stages.json", {"ps": sweep.ps, "mean": sweep.mean,
                                              "sem": sweep.sem, "closest": sweep.closest,
                                              "stages": sweep.stages, "ordered": sweep.ordered})

    # 6. Fig. A.1: 2-D PCA of the memories
    gen = torch.Generator().manual_seed(seed + 77)
    pick = torch.randperm(len(labels), generator=gen)[:prof.pca_points]
    emb, ratios = pca_2d(hier.memories[pick])
    sub = torch.isin(labels[pick], torch.tensor(FIGA1_SUBSET))
    emb_s, ratios_s = pca_2d(hier.memories[pick][sub])
    fa1 = save_figure(figA1_pca(np.asarray(emb), labels[pick].numpy(),
                                caption=f"Fig. A.1: 2-D PCA of {len(pick)} training memories "
                                        f"(a) all labels, (b) labels {FIGA1_SUBSET}",
                                subset=FIGA1_SUBSET, emb_subset=np.asarray(emb_s),
                                labels_subset=labels[pick][sub].numpy(),
                                explained=list(np.asarray(ratios)),
                                explained_subset=list(np.asarray(ratios_s))),
                      figdir, "figA1_pca", data_dir=datadir)
    stage("figures")

    # 7. figures 6, 7, B.2: the latent-size study and digit attribution
    extra_sections, extra_claims = [], []
    if latent_size:
        from latentdyn.reproduce.latent_size import latent_size_study

        extra_sections, extra_claims, study_timings, study_info = latent_size_study(
            out, profile, data, data_dir=data_dir, noise=noise, mode=mode, p=prof.p_fig2,
            seed=seed, device=dev, progress=progress, main_model=model, main_hierarchy=hier)
        timings.update(study_timings)
        manifest.update(latent_size=study_info)

    # 8. the scorecard
    n_dip = sum(bool(d["has_dip"]) for d in dips.values())
    claims = [
        Claim("C1", "Trajectories dip toward their concept, then leave it (Fig. 2), for every "
              "label", "labels whose mean distance has a dip: 0 < t* < T and d(0)-d(t*), "
              "d(T)-d(t*) both > 2 SEM (paired over trials)", "10 of 10",
              f"all {len(classes)} labels", f"{n_dip} of {len(classes)}",
              n_dip == len(classes),
              "t* per label: " + ", ".join(f"{c}: {d['t_star']}" for c, d in dips.items())),
        Claim("C2", "Only a few latent units are active (Fig. 3a)",
              "active units (Var over the training set of E_q[z_u|x] > 0.01)",
              PAPER_ACTIVE_UNITS,
              f"within x{FACTOR:g} of {PAPER_ACTIVE_UNITS} "
              f"([{PAPER_ACTIVE_UNITS / FACTOR:g}, {PAPER_ACTIVE_UNITS * FACTOR:g}])",
              n_active, PAPER_ACTIVE_UNITS / FACTOR <= n_active <= PAPER_ACTIVE_UNITS * FACTOR,
              f"Nz = {nz}"),
        Claim("C3", "Few principal components carry the latent variance (Fig. 3b)",
              "components for 70 % and 99 % of the variance of the memories",
              f"{PAPER_DIMS_70} and {PAPER_DIMS_99}", f"each within x{FACTOR:g} of the paper's",
              f"{d70} and {d99}",
              all(p / FACTOR <= v <= p * FACTOR for p, v in
                  ((PAPER_DIMS_70, d70), (PAPER_DIMS_99, d99)))),
        Claim("C4", "Concepts are near-orthogonal (Fig. 3c)",
              "mean |cosine| between different concepts", "≈ 0",
              f"< {ORTHOGONAL_BELOW}", round(off, 4), off < ORTHOGONAL_BELOW),
        Claim("C5", "Three stages ordered by noise (Fig. 4)",
              "closest level of min_t distance as p grows", "memory → concept → abstract",
              "runs are exactly memory, concept, abstract, each over >= 1 noise level",
              " → ".join(f"{lv} [{a:g}, {b:g}]" for lv, a, b in sweep.stages), sweep.ordered),
    ] + extra_claims
    write_scorecard(claims, out)

    # 9. the report
    dip_txt = ", ".join(f"'{c}': t*={d['t_star']}" for c, d in dips.items())
    sections = [
        Section("Fig. 1: repeated inference from a corrupted '6'", f1.png, f1.caption,
                "the VAE removes the noise in the first few steps, then drifts toward a "
                "specific '6'.", "see the sequence: x(0) is the corrupted input.",
                data=f1.csv),
        Section("Fig. 2: distance to the concept", f2.png, f2.caption,
                "for all labels the distance falls fast, then rises slowly (a dip).",
                f"{n_dip} of {len(classes)} labels show a significant dip ({dip_txt}).",
                data=f2.csv),
        Section("Fig. 3a: concepts", f3a.png, f3a.caption, "14 of 100 units active.",
                f"{n_active} of {nz} units active.", data=f3a.csv),
        Section("Fig. 3b: PCA of the memories", f3b.png, f3b.caption,
                "14 dimensions explain all the variance, 9 explain 70 %.",
                f"{d99} components reach 99 %, {d70} reach 70 %.", data=f3b.csv),
        Section("Fig. 3c: cosine similarity of concepts", f3c.png, f3c.caption,
                "off-diagonal cosines near zero (orthogonal concepts).",
                f"mean |off-diagonal cosine| = {off:.3f}.", data=f3c.csv),
        Section("Fig. 4: stages of the hierarchy", f4.png, f4.caption,
                "stage I (low noise) closest to the own memory, stage II to the concept, "
                "stage III (high noise) to the abstract concept.",
                "closest level per p: " + ", ".join(f"{p:g}: {c}" for p, c in
                                                    zip(sweep.ps, sweep.closest)) + ".",
                data=f4.csv),
        Section("Fig. A.1: PCA embedding of the memories", fa1.png, fa1.caption,
                "ten visible clusters.", "see the embedding.", data=fa1.csv),
    ] + extra_sections
    notes = [f"Model: {model_path}.", f"Stage timings (s): {timings}."]
    if profile == "quick":
        notes.append(f"Quick profile: the model is trained for {prof.epochs} epochs (paper "
                     f"profile: {PROFILES['paper'].epochs}) and Fig. 4 uses "
                     f"{prof.trials_fig4} trials per noise level (paper: 500).")
    if data.name == "mnist-embedded":
        notes.append("Data: the embedded MNIST subset (first 10 000 training images, full "
                     "test set), not the paper's 60 000 training images.")
    write_report(out / "report.html", "Nagano, Karakida & Okada (2017): concept formation "
                 "in repeated inference — reproduction",
                 "Repeated inference z(t) = E_q[z|x(t)], x(t+1) = E_p[x|z(t)] from corrupted "
                 "training images of a VAE, measured against the hierarchy of memories, "
                 "concepts and the abstract concept (figures 1-4, 6, 7, A.1 and B.2, claims "
                 "C1-C8).",
                 settings, sections, claims, notes)
    manifest.update(timings=timings, claims={c.id: c.verdict for c in claims},
                    model_run=model_path)
    manifest.write("completed")
    if progress:
        click.echo(format_scorecard(claims))
    return out


@click.command(context_settings={"show_default": True})
@click.option("--profile", type=click.Choice(["quick", "paper", "smoke"]), default="quick",
              help="quick: <= 10 min on 2 CPU cores; paper: the paper's settings.")
@click.option("--out", default="results/nagano2017", type=click.Path(file_okay=False))
@click.option("--dataset", default=None,
              help="Data set [default: mnist-embedded; paper profile: mnist when present].")
@click.option("--data-dir", default=None)
@click.option("--model", "model_run", default=None, type=click.Path(file_okay=False),
              help="Use this trained run instead of training one.")
@click.option("--noise", default="swap", help=f"Corruption: {', '.join(NOISE_KINDS)}.")
@click.option("--mode", default="deterministic", help="Dynamics: deterministic or sampling.")
@click.option("--nz", type=int, default=100)
@click.option("--seed", type=int, default=0)
@click.option("--epochs", type=int, default=None, help="Override the profile's epochs.")
@click.option("--trials", type=int, default=None, help="Override the trials per condition.")
@click.option("--steps", type=int, default=None, help="Override T.")
@click.option("--device", default="auto")
@click.option("--overwrite", is_flag=True, help="Replace results of another setting in --out.")
@click.option("--latent-size/--no-latent-size", default=True,
              help="Run the latent-size study (figures 6, 7, B.2; claims C6-C8).")
@click.option("--quiet", is_flag=True)
def command(profile, out, dataset, data_dir, model_run, noise, mode, nz, seed, epochs, trials,
            steps, device, overwrite, latent_size, quiet):
    """Figures 1-4, 6, 7, A.1 and B.2 of Nagano et al. (2017) with the claims scorecard
    C1-C8 and a self-contained report.html."""
    path = run(out, profile, dataset=dataset, data_dir=data_dir, model_run=model_run,
               noise=noise, mode=mode, nz=nz, seed=seed, epochs=epochs, trials=trials,
               steps=steps, device=device, progress=not quiet, overwrite=overwrite,
               latent_size=latent_size)
    click.echo(f"report: {path / 'report.html'}")
