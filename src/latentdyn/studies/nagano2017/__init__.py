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

Stages, in order (each returns a results object): the VAE (:mod:`.stages`), its
hierarchy, the sequence of Fig. 1, the time courses of Fig. 2, the geometry of Fig. 3,
the noise sweep of Fig. 4, the embedding of Fig. A.1; then the latent-size study
(:mod:`.latent_size`): the sweep over Nz, the scan of Fig. 6, the ELBO curve of Fig. 7,
the classifier and the attribution of Fig. B.2. The claims (:mod:`.claims`, thresholds
fixed in code) and the report (:mod:`.report`) are functions of those results;
:mod:`.outputs` draws the figures. Profiles: :mod:`.profiles`; the command: :mod:`.cli`.

``run(profile, out, ...)`` is the plain-function core; ``command`` is its click wrapper.
"""

from latentdyn.studies.nagano2017.cli import command
from latentdyn.studies.nagano2017.pipeline import DEFAULT_OUT, run
from latentdyn.studies.nagano2017.profiles import PROFILES, LatentSizeProfile, Profile

__all__ = ["DEFAULT_OUT", "PROFILES", "LatentSizeProfile", "Profile", "command", "run"]
