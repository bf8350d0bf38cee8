"""``run``: the whole serdega2020 reproduction into one output folder."""

from __future__ import annotations

from pathlib import Path

from latentdyn.studies.serdega2020.profiles import default_datasets, resolve_profile
from latentdyn.studies.serdega2020.stages import ds_tag

DEFAULT_OUT = "results/serdega2020"
KIND = "reproduce serdega2020"
OUTPUTS = ["report.html", "claims.json", "claims.md", "figures/", "data/", "runs/"]


def run(profile: str = "quick", out: str | Path = DEFAULT_OUT, *,
        datasets: list[str] | None = None, seed: int = 0,
        seeds: int | list[int] | None = None, lam: float | None = None, data_dir=None,
        device: str = "auto", overwrite: bool = False, progress: bool = True) -> Path:
    """Run the whole reproduction into ``out`` and return it (see the package doc).

    ``datasets``: data set names [the profile's that are present]; ``seeds``: a count N
    of training seeds from ``seed``, or an explicit list [the profile's count from
    ``seed``]; ``lam``: λ > 0 of every family [the profile's]; ``overwrite``:
    replace results of other settings in ``out`` (runs in ``out/runs`` are reused when
    their settings match, resumed when interrupted, trained again otherwise). Every option is checked and every data set
    loaded before anything is written to ``out``."""
    from latentdyn.data import load_dataset
    from latentdyn.reporting.claims import summarise, write_scorecard
    from latentdyn.checks import resolve_device
    from latentdyn.reporting.report import write_report
    from latentdyn.studies.serdega2020 import report
    from latentdyn.studies.serdega2020.claims import family_claims
    from latentdyn.studies.serdega2020.measures import manifest_summary, measure
    from latentdyn.studies.serdega2020.outputs import write_family_files
    from latentdyn.studies.serdega2020.stages import run_family
    from latentdyn.studies.study import StudyRun, finish

    prof = resolve_profile(profile, lam=lam, seeds=seeds, seed=seed)
    names = list(datasets) if datasets else default_datasets(prof, data_dir)
    dev = resolve_device(device)
    out = Path(out)
    loaded = [load_dataset(n, data_dir) for n in names]
    data_info = {d.name: {"checksums": d.checksums(), "train": len(d.train_labels),
                          "test": len(d.test_labels)} for d in loaded}
    sections, claims, summaries = [], [], {}
    with StudyRun(out, KIND, {**prof.settings(), "datasets": names}, seed=prof.seeds[0],
                  device=dev, data=data_info, progress=progress, overwrite=overwrite) as r:
        for data in loaded:
            for family in prof.families:
                tag = family if len(loaded) == 1 else f"{ds_tag(data.name)}-{family}"
                fr = run_family(r, prof, data, family, tag, out, dev)
                m = measure(fr)
                files = write_family_files(fr, m, prof, r.out)
                sections += report.family_sections(fr, m, files)
                claims += with_seed_counts(fr, family_claims(m, prof.seeds[0]))
                summaries[tag] = manifest_summary(fr, m)
                r.checkpoint(results=summaries)
        write_scorecard(claims, r.out)
        write_report(r.out / "report.html", report.PAPER_TITLE + " — reproduction",
                     report.intro(prof), report.settings(prof, names, dev, r.wall_time, r.timings),
                     sections, claims, report.notes(prof))
        r.record(results=summaries, claims=summarise(claims), outputs=OUTPUTS)
    finish(out, claims, progress)
    return out


def with_seed_counts(fr, claims: list) -> list:
    """The pooled claims of one family, each with how many training seeds reproduce it
    on their own (the claim evaluated on that seed's models alone)."""
    from latentdyn.studies.serdega2020.claims import family_claims
    from latentdyn.studies.serdega2020.measures import measure
    from latentdyn.studies.study import combine_seeds

    if len(fr.seeds) < 2:
        return claims
    per_seed = [family_claims(measure(fr, [s]), s) for s in fr.seeds]
    counts = {c.id: c.seeds for c in combine_seeds(per_seed, list(fr.seeds))}
    for c in claims:
        c.seeds = counts.get(c.id)
    return claims
