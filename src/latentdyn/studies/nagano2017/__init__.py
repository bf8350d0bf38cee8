"""``latentdyn reproduce nagano2017``: Nagano, Karakida & Okada (2017), concept formation
in repeated inference (paper 001, SPEC §1).

Repeated inference z(t) = E_q[z|x(t)], x(t+1) = E_p[x|z(t)] in a VAE, started from
corrupted training images, measured against the hierarchy of memories ξ⁽ⁱ⁾, concepts
ξ̄_label and the abstract concept ξ̄_all: figures 1-4, 6, 7, A.1 and B.2 and the claims

* C1: trajectories dip toward their concept, then leave it, for every label (Fig. 2);
* C2: only a few latent units are active (Fig. 3a);
* C3: few principal components carry the latent variance (Fig. 3b);
* C4: concepts are near-orthogonal (Fig. 3c);
* C5: memory, concept and abstract concept are closest in turn as noise grows (Fig. 4);
* C6: the dip needs enough latent units, and orthogonality grows with Nz (Fig. 6);
* C7: the test ELBO is best near the number of active units, flat beyond (Fig. 7);
* C8: the dip survives when trials that switched digit are removed (Fig. B.2).

The study in the one shape (:mod:`latentdyn.studies.driver`): its options
(:class:`Params`, :mod:`.params`; profiles: :mod:`.profiles`), ``prepare`` and the
stages (:mod:`.pipeline`: the VAEs of :mod:`.models`; the hierarchy, figures 1-4 and A.1
of :mod:`.stages`; the latent-size study of :mod:`.latent_size`: the sweep over Nz, the
scan of Fig. 6, the ELBO curve of Fig. 7, the classifier and the attribution of Fig.
B.2; the bootstraps of :mod:`.resampling`), the claims (:mod:`.claims`, thresholds
fixed in code) and the report (:mod:`.report`; figures: :mod:`.outputs`). The pilot
that set the quick profile's training length is a study of its own shape in
:mod:`.pilot` (``python -m latentdyn.studies.nagano2017.pilot --out DIR``).

``run(profile, out, ...)`` is the Python API (``model=`` a run folder or a model
object); the command is built from :class:`Params`.

What ``reproduce nagano2017-sampling`` shares with this study is public here: the
options (:class:`HierarchyParams`, :func:`check_shared`, :func:`vae_config`), the VAEs
(:func:`vaes_stage`), the experiments' settings and hierarchy (:class:`Experiment`,
:func:`hierarchy_stage`), the digit, the noise levels and the trials' seed offsets.
"""

from latentdyn.studies.driver import Study
from latentdyn.studies.nagano2017.claims import study_claims
from latentdyn.studies.nagano2017.models import vaes_stage
from latentdyn.studies.nagano2017.params import (
    DEFAULT_OUT,
    HierarchyParams,
    Params,
    check_shared,
    vae_config,
)
from latentdyn.studies.nagano2017.pipeline import prepare, run_stages
from latentdyn.studies.nagano2017.profiles import (
    FIG4_PS,
    LABEL,
    PROFILES,
    LatentSizeProfile,
    Profile,
)
from latentdyn.studies.nagano2017.report import report
from latentdyn.studies.nagano2017.stages import (
    FIG2_SEED_STRIDE,
    FIG4_SEED,
    Experiment,
    hierarchy_stage,
)

from latentdyn.studies.driver import TOY10  # noqa: E402  (the toy data of examples)

STUDY = Study(
    example=("--profile", "smoke", "--dataset", TOY10, "--no-latent-size", "--trials", "4",
             "--steps", "3", "--quiet", "--device", "cpu"),
    name="reproduce nagano2017", params=Params, prepare=prepare, stages=run_stages,
    claims=study_claims, report=report, kind="reproduce nagano2017",
    default_out=DEFAULT_OUT,
    help="""Figures 1-4, 6, 7, A.1 and B.2 of Nagano et al. (2017) with the claims
    scorecard C1-C8 and a self-contained report.html. --backend ray trains the
    latent-size sweep on a Ray cluster (docs/scaling.md); the numbers do not depend on
    the backend.""")
run = STUDY.run

__all__ = ["DEFAULT_OUT", "FIG2_SEED_STRIDE", "FIG4_PS", "FIG4_SEED", "LABEL", "PROFILES",
           "STUDY", "Experiment", "HierarchyParams", "LatentSizeProfile", "Params", "Profile",
           "check_shared", "hierarchy_stage", "run", "vae_config", "vaes_stage"]
