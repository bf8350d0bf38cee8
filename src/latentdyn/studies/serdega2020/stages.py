"""The stages of serdega2020, for each data set and model family in turn: train and
measure every model and run repeated inference on the first seed's (stages 1-2,
:func:`~.family.run_family`), then the statistics of the family (stage 3,
:func:`~.measures.measure`). The manifest records each family's numbers as soon as it
is done."""

from __future__ import annotations

from dataclasses import dataclass

from latentdyn.studies.serdega2020.family import FamilyResult, run_family
from latentdyn.studies.serdega2020.measures import Measures, manifest_summary, measure
from latentdyn.studies.serdega2020.params import Setup
from latentdyn.studies.serdega2020.profiles import ds_tag


@dataclass
class Family:
    """One data set and model family: what the stages measured and its statistics."""

    result: FamilyResult
    measures: Measures


@dataclass
class Results:
    """Every family, in the order data sets × families."""

    families: list[Family]

    def summaries(self) -> dict:
        """What the manifest records: per family tag, its statistics and runs."""
        return {f.result.tag: manifest_summary(f.result, f.measures) for f in self.families}


def stages(run, setup: Setup) -> Results:
    """Every data set × family (joint, gauss): stages 1-3 (module docstring)."""
    prof = setup.profile
    run.record(seed=prof.seeds[0])  # the manifest's seed: the first training seed
    results = Results([])
    for data in setup.datasets:
        for family in prof.families:
            tag = family if len(setup.datasets) == 1 else f"{ds_tag(data.name)}-{family}"
            fr = run_family(run, prof, data, family, tag, setup.device)
            results.families.append(Family(fr, measure(fr)))
            run.checkpoint(results=results.summaries())
    return results


__all__ = ["Family", "Results", "stages"]
