"""The toledo2023 study end to end: :func:`run` checks every option and loads every
input, then runs the stages inside a :class:`~latentdyn.reproduce.study.StudyRun` and
writes the scorecard, the data and the report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from latentdyn.errors import ConfigError
from latentdyn.reproduce.study import (StudyRun, check_seed, default_dataset, finish,
                                       get_profile, guard_output)
from latentdyn.reproduce.toledo2023 import claims as claims_of
from latentdyn.reproduce.toledo2023 import report
from latentdyn.reproduce.toledo2023.denoising import denoising
from latentdyn.reproduce.toledo2023.lsd import (Images, Save, amplitude_figure, decoded_figure,
                                                gan_samples, gram_figure, quasi_eigenvectors)
from latentdyn.reproduce.toledo2023.models import GivenRuns, load_given, networks
from latentdyn.reproduce.toledo2023.profiles import PROFILES, Profile
from latentdyn.reproduce.toledo2023.rotations import rotations

DEFAULT_OUT = "results/toledo2023"
KIND = "reproduce toledo2023"
OUTPUTS = ["report.html", "claims.json", "claims.md", "basis.safetensors", "figures/", "data/",
           "runs/"]


def run(profile: str = "quick", out: str | Path = DEFAULT_OUT, *, dataset: str | None = None,
        data_dir: str | None = None, classifier_run: str | None = None,
        judge_run: str | None = None, gan_run: str | None = None,
        encoder_run: str | None = None, seed: int = 0, gan_epochs: int | None = None,
        device: str = "auto", progress: bool = True, overwrite: bool = False,
        argv: list[str] | None = None) -> Path:
    """Reproduce the abstract's claims T1-T5 into ``out`` and return ``out`` (see the
    package doc). ``*_run``: finished runs to use instead of training them (an encoder
    run holds its generator, so ``gan_run`` is then only recorded). Every option is
    checked and every input loaded before anything is written to ``out``."""
    from latentdyn.reporting.manifest import resolve_device

    prof = _profile(profile, gan_epochs)
    seed = check_seed(seed)
    data = _dataset(prof, dataset, data_dir)
    out = Path(out)
    guard_output(out, {"name": prof.name, "seed": seed, "dataset": data.name}, overwrite)
    given_paths = {"classifier": classifier_run, "judge": judge_run, "gan": gan_run,
                   "encoder": encoder_run}
    dev = resolve_device(device)
    given = load_given(given_paths, dev)
    nz = given.nz(prof.nz)
    if nz < data.num_classes:
        raise ConfigError(f"nz = {nz} is smaller than the {data.num_classes} classes; "
                          "LSD needs nz >= the number of labels")
    settings = {**prof.settings(), "dataset": data.name, "seed": seed, "device": str(dev),
                "given_runs": {k: v for k, v in given_paths.items() if v}}
    facts = {"dataset": data.name, "checksums": data.checksums(),
             "train": len(data.train_labels), "test": len(data.test_labels)}
    with StudyRun(out, KIND, settings, seed=seed, device=dev, data=facts, argv=argv,
                  progress=progress, overwrite=overwrite) as r:
        claims = _stages(r, prof, data, seed, dev, given)
    finish(out, claims, progress)
    return out


def _profile(name: str, gan_epochs: int | None) -> Profile:
    prof = get_profile(PROFILES, name)
    if gan_epochs is not None:
        if not isinstance(gan_epochs, int) or isinstance(gan_epochs, bool) or gan_epochs < 1:
            raise ConfigError(f"--gan-epochs must be a positive integer, got {gan_epochs!r}")
        prof = replace(prof, gan_epochs=gan_epochs)
    return prof


def _dataset(prof: Profile, dataset: str | None, data_dir):
    from latentdyn.data import load_dataset

    data = load_dataset(dataset or prof.dataset or default_dataset(prof.name, data_dir),
                        data_dir)
    if data.num_classes < 2:
        raise ConfigError(f"{data.name}: LSD needs labelled data with at least two classes")
    return data


def _stages(r: StudyRun, prof: Profile, data, seed: int, device, given: GivenRuns) -> list:
    """The stages in order; returns the claims (the scorecard, the data files, the
    report and the manifest's results are written here)."""
    from latentdyn.reporting.claims import summarise, write_scorecard

    out = r.out
    datadir = out / "data"
    save = _saver(out / "figures", datadir, prof.fig_dpi)
    nets = networks(prof, data, r.folder, seed, device, given, r)
    images = Images.of(prof, data)
    with r.stage("gan samples", "lsd: GAN samples, quasi-eigenvectors, LSD statistics"):
        samples = gan_samples(nets, images, prof, data.num_classes, seed, save)
    with r.stage("quasi-eigenvectors and LSD"):
        lsd = quasi_eigenvectors(nets, images, prof, data.num_classes, seed, out, r.progress)
    with r.stage("lsd figures"):
        gram = gram_figure(lsd, images, prof, save)
        decoded = decoded_figure(nets, lsd, images, save)
        amplitudes = amplitude_figure(lsd, images, save)
    with r.stage("denoising", "denoising: LSD truncation against the corrupted input"):
        den = denoising(nets, lsd, data, prof, seed, save, datadir)
    with r.stage("rotations", "rotations: every ordered pair of digits"):
        rot = rotations(nets, lsd, images, prof, save, datadir)
    with r.stage("claims"):
        claims = claims_of.claims(lsd, decoded, den, rot.reading, data.num_classes)
        write_scorecard(claims, out)
    res = report.Results(nets, images, samples, lsd, gram, decoded, amplitudes, den, rot)
    _write_data(datadir, res)
    report.write(out / "report.html", prof, data, res, claims,
                 report.settings(prof, data, seed, device, res, r.timings, r.wall_time),
                 r.timings)
    r.record(claims=summarise(claims), runs=nets.paths, results=_headline(res),
             outputs=OUTPUTS)
    return claims


def _saver(figdir: Path, datadir: Path, dpi: int) -> Save:
    """Save a figure as ``figdir/<stem>.png|pdf`` with its data in ``datadir``."""
    from latentdyn.figures import save_figure

    def save(fig, stem: str, **kw):
        return save_figure(fig, figdir, stem, data_dir=datadir, dpi=dpi, **kw)

    return save


def _write_data(datadir: Path, res: report.Results) -> None:
    """``lsd.json`` (the LSD summary with the stages' statistics) and
    ``denoise_rows.json``."""
    from latentdyn.io import write_json

    lsd = res.lsd
    write_json(datadir / "lsd.json", {
        **lsd.summary, "accuracies": lsd.accuracies, "gan_quality": res.samples.quality.summary(),
        "decoded_vectors": res.decoded.vectors.to_json(),
        "amplitude_means": res.amplitudes.histograms.mean_abs,
        "span": {"gram": lsd.gram_deviation, "reconstruction": lsd.reconstruction_error},
        "gan_last_epoch": res.nets.gan_metrics, "encoder_last_epoch": res.nets.encoder_metrics})
    write_json(datadir / "denoise_rows.json", res.denoising.rows)


def _headline(res: report.Results) -> dict:
    """The manifest's ``results``: the numbers behind the claims."""
    lsd = res.lsd
    return {"label_subspace_fraction": lsd.label_fraction,
            "lsd_accuracy": lsd.test["lsd_accuracy"], "mean_rank": lsd.test["mean_rank"],
            "accuracies": lsd.accuracies,
            "denoise_moderate": [p.to_json() for p in res.denoising.paired],
            "rotation_end_j": res.rotations.reading.frac_end_j,
            "one_to_one": res.decoded.n_one, "gan_score": res.samples.quality.score_generated}
