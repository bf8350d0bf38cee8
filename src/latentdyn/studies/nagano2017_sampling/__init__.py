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

Stages, in order (:mod:`.stages`): the VAE (nagano2017's training stage, or ``--model``),
its hierarchy, the sequence of Fig. 2a, the chains of Fig. 2b for every digit, the noise
sweep of Fig. 3. The claims (:mod:`.claims`, rules fixed in code) and the report
(:mod:`.report`) are functions of those results; :mod:`.outputs` draws the figures.
Profiles: :mod:`.profiles`; the command: :mod:`.cli`; ``run``: :mod:`.pipeline`.
"""

from latentdyn.studies.nagano2017_sampling.cli import command
from latentdyn.studies.nagano2017_sampling.pipeline import DEFAULT_OUT, run
from latentdyn.studies.nagano2017_sampling.profiles import PROFILES, Profile

__all__ = ["DEFAULT_OUT", "PROFILES", "Profile", "command", "run"]
