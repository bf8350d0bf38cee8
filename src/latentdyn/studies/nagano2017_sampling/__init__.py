"""``latentdyn reproduce nagano2017-sampling``: Nagano, Karakida & Okada (JSAI 2017),
concept formation realised by the *sampling* dynamics of a VAE (paper 002, SPEC §1).

The sampling form of repeated inference, x(t+1) ~ p(x | z(t)), z(t+1) ~ q(z | x(t+1))
(eqs. 2-3), from corrupted training images, measured against the hierarchy of memories,
concepts and the abstract concept, with every distance read three ways
(:mod:`latentdyn.analysis.sampling`): ``raw`` ‖z(t) − ξ‖ (the paper's quantity),
``mean`` ‖μ(x(t)) − ξ‖, and ``corrected`` ‖z(t) − ξ‖² − Σσ²(x(t)). Claims, each scored
on each reading:

* S1: the activity approaches the concept of its digit, then leaves it, for every digit
  (Fig. 2b);
* S2: the approach is fast and the escape slow (Fig. 2b);
* S3: after the concept, the activity escapes into a memory (Fig. 2a, abstract);
* S4: own memory, concept and abstract concept are closest in turn as noise grows
  (Fig. 3).

The study in the one shape (:mod:`latentdyn.studies.driver`): its options
(:class:`Params`: nagano2017's shared options,
:class:`~latentdyn.studies.nagano2017.HierarchyParams`; profiles: :mod:`.profiles`),
``prepare`` and the stages (:mod:`.pipeline`): the VAE (nagano2017's training stage,
or ``--model``), its hierarchy, the sequence of Fig. 2a, the chains of Fig. 2b for
every digit, the noise sweep of Fig. 3 (:mod:`.stages`). The claims (:mod:`.claims`,
rules fixed in code) and the report (:mod:`.report`; figures: :mod:`.outputs`) are
functions of those results. ``run(profile, out, ...)`` is the Python API (``model=`` a
run folder or a model object); the command is built from :class:`Params`.
"""

from latentdyn.studies.driver import Study
from latentdyn.studies.nagano2017_sampling.claims import study_claims
from latentdyn.studies.nagano2017_sampling.pipeline import (
    DEFAULT_OUT,
    Params,
    prepare,
    run_stages,
)
from latentdyn.studies.nagano2017_sampling.profiles import PROFILES, Profile
from latentdyn.studies.nagano2017_sampling.report import report

from latentdyn.studies.driver import TOY10  # noqa: E402  (the toy data of examples)

STUDY = Study(
    example=("--profile", "smoke", "--dataset", TOY10, "--trials", "4", "--steps", "3",
             "--quiet", "--device", "cpu"),
    name="reproduce nagano2017-sampling", params=Params, prepare=prepare, stages=run_stages,
    claims=study_claims, report=report, kind="reproduce nagano2017-sampling",
    default_out=DEFAULT_OUT,
    help="""Figures 2a, 2b and 3 of Nagano, Karakida & Okada (JSAI 2017, paper 002): the
    sampling dynamics x(t+1) ~ p(x|z(t)), z(t+1) ~ q(z|x(t+1)), every distance read
    three ways (the sample, the posterior mean, the sample minus its noise floor),
    claims S1-S4 scored on each reading, and a self-contained report.html.""")
run = STUDY.run

__all__ = ["DEFAULT_OUT", "PROFILES", "Params", "Profile", "STUDY", "run"]
