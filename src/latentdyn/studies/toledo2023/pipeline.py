"""The toledo2023 study end to end: :func:`run` checks every option and loads every
input, then runs the stages inside a :class:`~latentdyn.studies.study.StudyRun` and
writes the scorecard, the data and the report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from latentdyn.errors import ConfigError
from latentdyn.studies.study import (StudyRun, check_seed, default_dataset, finish,
                                       get_profile, guard_output, seed_list)
from latentdyn.studies.toledo2023 import claims as claims_of
from latentdyn.studies.toledo2023 import report
from latentdyn.studies.toledo2023.denoising import denoising
from latentdyn.studies.toledo2023.lsd import (Images, Save, amplitude_figure, decoded_figure,
                                                gan_samples, gram_figure, quasi_eigenvectors)
from latentdyn.studies.toledo2023.models import GivenRuns, load_given, networks
from latentdyn.studies.toledo2023.profiles import PROFILES, Profile
from latentdyn.studies.toledo2023.rotations import rotations

DEFAULT_OUT = "results/toledo2023"
KIND = "reproduce toledo2023"
OUTPUTS = ["report.html", "claims.json", "claims.md", "basis.safetensors", "figures/", "data/",
           "runs/"]


def run(profile: str = "quick", out: str | Path = DEFAULT_OUT, *, dataset: str | None = None,
        data_dir: str | None = None, classifier_run: str | None = None,
        judge_run: str | None = None, gan_run: str | None = None,
        encoder_run: str | None = None, seed: int = 0, n_seeds: int = 1,
        gan_epochs: int | None = None, device: str = "auto", progress: bool = True,
        overwrite: bool = False, argv: list[str] | None = None) -> Path:
    """Reproduce the abstract's claims T1-T5 into ``out`` and return ``out`` (see the
    package doc). ``*_run``: finished runs to use instead of training them (an encoder
    run holds its generator, so ``gan_run`` is then only recorded). ``n_seeds``: train
    that many independent sets of networks (seeds ``seed, seed + 1, …``) and report per
    claim how many reproduce it; the report shows the first. Every option is checked
    and every input loaded before anything is written to ``out``."""
    from latentdyn.checks import resolve_device

    prof = _profile(profile, gan_epochs)
    seeds = seed_list(check_seed(seed), n_seeds)
    data = _dataset(prof, dataset, data_dir)
    out = Path(out)
    given_paths = {"classifier": classifier_run, "judge": judge_run, "gan": gan_run,
                   "encoder": encoder_run}
    if len(seeds) > 1 and any(given_paths.values()):
        raise ConfigError("--seeds N > 1 trains N independent sets of networks; it cannot be "
                          "combined with --classifier, --judge, --gan or --encoder")
    identity = {"name": prof.name, "seed": seed, "dataset": data.name}
    if len(seeds) > 1:
        identity["seeds"] = seeds
    guard_output(out, identity, overwrite)
    dev = resolve_device(device)
    given = load_given(given_paths, dev)
    nz = given.nz(prof.nz)
    if nz < data.num_classes:
        raise ConfigError(f"nz = {nz} is smaller than the {data.num_classes} classes; "
                          "LSD needs nz >= the number of labels")
    settings = {**prof.settings(), "dataset": data.name, "seed": seed, "device": str(dev),
                "given_runs": {k: v for k, v in given_paths.items() if v}}
    if len(seeds) > 1:
        settings["seeds"] = seeds
    facts = {"dataset": data.name, "checksums": data.checksums(),
             "train": len(data.train_labels), "test": len(data.test_labels)}
    with StudyRun(out, KIND, settings, seed=seed, device=dev, data=facts, argv=argv,
                  progress=progress, overwrite=overwrite) as r:
        claims = _all_seeds(r, prof, data, seeds, dev, given)
    finish(out, claims, progress)
    return out


def _all_seeds(r: StudyRun, prof: Profile, data, seeds: list, device, given: GivenRuns):
    """Every seed's stages (the first into ``r.out``, the others into
    ``seeds/seed<s>/`` with their runs in ``runs/seed<s>/``), then the scorecard (with
    the seed counts), the report of the first seed and the manifest's results."""
    from latentdyn.reporting.claims import summarise, write_scorecard
    from latentdyn.studies.study import combine_seeds

    per_seed, first = [], None
    for i, s in enumerate(seeds):
        main = i == 0
        sub = r.out if main else r.out / "seeds" / f"seed{s}"
        runs = r.folder / "runs" if main else r.folder / "runs" / f"seed{s}"
        found, res = _stages(r, prof, data, s, device, given if main else GivenRuns(), sub,
                             runs, "" if main else f"seed {s}: ")
        per_seed.append(found)
        if main:
            first = res
        else:
            write_scorecard(found, sub)
    claims = combine_seeds(per_seed, seeds) if len(seeds) > 1 else per_seed[0]
    write_scorecard(claims, r.out)
    settings = report.settings(prof, data, seeds[0], device, first, r.timings, r.wall_time)
    if len(seeds) > 1:
        settings["training seeds (--seeds; the figures show the first)"] = seeds
    report.write(r.out / "report.html", prof, data, first, claims, settings, r.timings)
    r.record(claims=summarise(claims), runs=first.nets.paths, results=_headline(first),
             outputs=OUTPUTS + (["seeds/"] if len(seeds) > 1 else []))
    return claims


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


def _stages(r: StudyRun, prof: Profile, data, seed: int, device, given: GivenRuns, out: Path,
            runs: Path, prefix: str = "") -> tuple[list, report.Results]:
    """The stages of one seed in order, writing into ``out`` (figures, data, basis);
    returns its claims and results. ``prefix`` names the stages of a further seed."""
    datadir = out / "data"
    save = _saver(out / "figures", datadir, prof.fig_dpi)
    nets = networks(prof, data, runs, seed, device, given, r, prefix)
    images = Images.of(prof, data)
    with r.stage(f"{prefix}gan samples",
                 f"{prefix}lsd: GAN samples, quasi-eigenvectors, LSD statistics"):
        samples = gan_samples(nets, images, prof, data.num_classes, seed, save)
    with r.stage(f"{prefix}quasi-eigenvectors and LSD"):
        lsd = quasi_eigenvectors(nets, images, prof, data.num_classes, seed, out, r.progress)
    with r.stage(f"{prefix}lsd figures"):
        gram = gram_figure(lsd, images, prof, save)
        decoded = decoded_figure(nets, lsd, images, save, seed)
        amplitudes = amplitude_figure(lsd, images, save)
    with r.stage(f"{prefix}denoising",
                 f"{prefix}denoising: LSD truncation against the corrupted input"):
        den = denoising(nets, lsd, data, prof, seed, save, datadir)
    with r.stage(f"{prefix}rotations", f"{prefix}rotations: every ordered pair of digits"):
        rot = rotations(nets, lsd, images, prof, save, datadir)
    with r.stage(f"{prefix}claims"):
        claims = claims_of.claims(lsd, decoded, den, rot.reading, data.num_classes, seed)
    res = report.Results(nets, images, samples, lsd, gram, decoded, amplitudes, den, rot)
    _write_data(datadir, res)
    return claims, res


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
        **lsd.summary, "accuracies": lsd.accuracies,
        "label_subspace_tests": {r: t.summary() for r, t in lsd.subspace.items()}, "gan_quality": res.samples.quality.summary(),
        "decoded_vectors": res.decoded.vectors.to_json(),
        "amplitude_means": res.amplitudes.histograms.mean_abs,
        "span": {"gram": lsd.gram_deviation, "reconstruction": lsd.reconstruction_error},
        "gan_last_epoch": res.nets.gan_metrics, "encoder_last_epoch": res.nets.encoder_metrics})
    write_json(datadir / "denoise_rows.json", res.denoising.rows)


def _headline(res: report.Results) -> dict:
    """The manifest's ``results``: the numbers behind the claims."""
    lsd = res.lsd
    return {"label_subspace_fraction": lsd.label_fraction,
            "label_subspace_tests": {r: t.summary() for r, t in lsd.subspace.items()},
            "lsd_accuracy": lsd.test["lsd_accuracy"], "mean_rank": lsd.test["mean_rank"],
            "accuracies": lsd.accuracies,
            "denoise_moderate": [p.to_json() for p in res.denoising.paired],
            "rotation_end_j": res.rotations.reading.frac_end_j,
            "one_to_one": res.decoded.n_one, "gan_score": res.samples.quality.score_generated}
