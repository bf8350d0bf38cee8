"""``latentdyn reproduce serdega2020``: variational MI maximisation for VAE codes.

Serdega & Kim (2020) (paper 003; SPEC §2). The same VAE architecture is trained with
λ = 0 (a plain VAE with the same latent) and with λ > 0 (the MI regulariser on the
chosen codes), for each training seed, and compared.

Claims (:mod:`.claims`, rules fixed in code before any run):

* S1 -- the MI regulariser raises the MI lower bound of every chosen code (by more
  than a floor that includes the spread over training seeds);
* S2 -- it makes the chosen Gaussian codes the informative ones (the chosen-minus-
  unchosen gap rises; only with chosen and unchosen Gaussian units);
* S3 -- the categorical code classifies held-out test images better, above the
  accuracy of shuffled codes (joint family).

Each claim pools the training seeds (``--seeds N``: N seeds from ``--seed``, or an
explicit list) and says how many of them reproduce it on their own.

The study (:data:`STUDY`, run by :mod:`latentdyn.studies.driver`): its options are
:class:`~.params.Params` (``--profile``, ``--dataset``, ``--seeds``, ``--lam`` …), checked
with every data set loaded by :func:`~.params.prepare` before anything is written.

Stages (:func:`.stages.stages`), in order, for each data set and model family (joint:
Gaussian + categorical; gauss: Gaussian only), each returning a dataclass:

1. :mod:`.models` -- per λ and seed, train the model (runs kept in ``<out>/runs`` and
   reused when the command is repeated with the same settings), then measure the MI
   lower bound H(c) − CE of *every* latent code (chosen or not) on the frozen model
   with a fresh auxiliary network Q per fit (codes drawn from the prior, so H(c) is
   exact), over several Q fits; the test ELBO and the categorical code's unsupervised
   accuracy come with the run (:class:`~.models.ModelResult`);
2. :mod:`.dynamics` -- per λ, on the first seed's model: repeated inference (SPEC §1)
   through the full latent (concept attraction of the continuous part, the categorical
   code's own time course; :class:`~.dynamics.DynResult`) and latent traversals of the
   chosen codes (:class:`~.dynamics.Traversal`); stages 1-2 together give a
   :class:`~.family.FamilyResult`;
3. :mod:`.measures` -- bounds pooled over seeds and Q fits, gaps, accuracies and ELBOs
   (:class:`~.measures.Measures`); with stages 1-2, one :class:`~.stages.Family` of the
   :class:`~.stages.Results`.

Then the claims (:func:`.claims.claims`) and the report (:func:`.report.report`: the
data files and figures of :mod:`.outputs` and :mod:`.figures`, and ``report.html``)
are built from those results: ``claims.json``/``claims.md``, the figures and their data
(CSV), ``summary_*.csv``, ``manifest.json`` and a self-contained ``report.html`` go to
``--out``.

Modules import one way: profiles → params → models, dynamics → family → measures →
stages → claims; figures → outputs → report.

Profiles (:mod:`.profiles`): ``quick`` (reduced to a few CPU minutes), ``paper`` (the
paper's settings), ``smoke`` (toy size for tests: seconds; not a reproduction).
"""

from latentdyn.studies.driver import Study
from latentdyn.studies.serdega2020 import claims, report, stages
from latentdyn.studies.serdega2020.params import DEFAULT_OUT, Params, Setup, prepare
from latentdyn.studies.serdega2020.profiles import PROFILES, Profile

STUDY = Study(
    example=("--profile", "smoke", "--quiet", "--device", "cpu"),
    name="reproduce serdega2020", params=Params, prepare=prepare, stages=stages.stages,
    claims=claims.claims, report=report.report, default_out=DEFAULT_OUT,
    help="""Serdega & Kim (2020): MI maximisation for VAE codes, λ = 0 vs λ > 0. The claims
    pool every training seed; each says how many seeds reproduce it on their own.""")
run = STUDY.run

__all__ = ["DEFAULT_OUT", "PROFILES", "Params", "Profile", "STUDY", "Setup", "run"]
