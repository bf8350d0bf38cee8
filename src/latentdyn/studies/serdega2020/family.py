"""Stages 1 and 2 of serdega2020 on one data set and model family, in order: for each
λ (0, then λ > 0) train and measure every seed (:mod:`.models`), then run repeated
inference and traversals on the first seed's model (:mod:`.dynamics`). Their results
are gathered in one :class:`FamilyResult`."""

from __future__ import annotations

from dataclasses import dataclass

from latentdyn.studies.serdega2020.dynamics import DynResult, Traversal, dynamics, traversals
from latentdyn.studies.serdega2020.models import ModelResult, train_and_measure
from latentdyn.studies.serdega2020.profiles import Profile, ds_tag, lam_label, lam_tag


@dataclass
class FamilyResult:
    """Everything measured on one data set and family, for λ = 0 and λ > 0."""

    dataset: str
    family: str
    tag: str  # names this family's outputs: the family, prefixed by the data set if several
    lams: tuple[float, float]  # (0, λ > 0)
    seeds: tuple[int, ...]
    models: dict[float, list[ModelResult]]  # per λ, one per seed
    dyn: dict[float, DynResult]  # per λ, first seed
    traversals: dict[float, dict[str, Traversal]]  # per λ, first seed: code -> grid
    chosen: tuple[str, ...]  # the codes the MI term was put on (λ > 0 model's declaration)

    @property
    def codes(self) -> list[str]:
        """Every latent code measured, in the models' order."""
        return self.models[self.lams[1]][0].mi.names()


def run_family(run, profile: Profile, data, family: str, tag: str, device) -> FamilyResult:
    """Train, measure, and run repeated inference on the models of ``family``: for each
    λ every seed is trained and measured (its run kept in ``<out>/runs/<data set>``),
    then the first seed's model is analysed."""
    from latentdyn.models.codes import code_spec

    lams = profile.lams(family)
    seeds = list(profile.seeds)
    runs_dir = run.folder / "runs" / ds_tag(data.name)
    models, dyn, grids, first = {}, {}, {}, {}
    for lam in lams:
        models[lam], first[lam] = train_and_measure(
            run, profile, data, family, lam, seeds, runs_dir=runs_dir, tag=tag, device=device)
        with run.stage(f"dynamics {tag} {lam_tag(lam)}",
                       f"[{tag}] repeated inference and traversals, {lam_label(lam)}"):
            dyn[lam] = dynamics(first[lam], data, profile, seeds[0], device)
            grids[lam] = traversals(first[lam], data, profile, seeds[0], device)
    spec = code_spec(first[lams[1]])
    return FamilyResult(dataset=data.name, family=family, tag=tag, lams=tuple(lams),
                        seeds=tuple(seeds), models=models, dyn=dyn, traversals=grids,
                        chosen=tuple(spec.chosen or ()))
