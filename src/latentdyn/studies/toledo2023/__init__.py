"""``latentdyn reproduce toledo2023``: latent spectral decomposition (LSD) in a GAN.

Toledo-Marín & Glazier, "Using deep LSD to build operators in GANs latent space with
meaning in real space" (PLoS ONE 2023; paper 004, abstract only; SPEC §3 gives the
method from the authors' public code).

The claims (thresholds fixed in code before any run, :mod:`.claims`):

* T1 -- 98 % of the data map to the label sub-space: the largest |c_i| of at least
  95 % of the test images falls on one of the K label quasi-eigenvectors, and that
  fraction lies at least 0.05 above what shuffled labels give (the centred reading, LSD
  accuracy and the true label's rank are reported beside it);
* T2 -- LSD denoises: keeping the 10 largest coefficients raises the judge's accuracy
  above that on the corrupted input by more than 2 paired standard errors, at the
  moderate level of every noise kind;
* T3 -- a rotation by π/2 in the plane of (ξ_i, ξ_j) turns digit i into digit j in at
  least half of all paths (every ordered pair i ≠ j);
* T4 -- the label quasi-eigenvectors map to the labels one-to-one: the judge reads
  G(s_k ξ_k) as k for every class k;
* T5 -- the quasi-eigenvectors span the latent space (orthonormal, reconstruct z).

Every claim carries a seeded bootstrap interval, the share of resamples in which its
rule holds and a null or reference value; with ``--seeds N`` the study trains N
independent sets of networks and each claim says how many of them reproduce it.

The stages, in order, each returning a dataclass of results:

1. the networks (:mod:`.models`): a CNN classifier C (real labels), which labels latent
   vectors by C(G(z)) and trains the encoder, as in the paper; the DCGAN G (100-d
   Gaussian latent); the encoder E, trained with G and C frozen (reconstruction +
   100·CE + KL/25); and a second CNN J of the same architecture and another seed, the
   *judge*, which never takes part in training the GAN or the encoder and reads every
   image the claims are measured on (the encoder is trained to please C, so C's own
   readings of G(E(x)) are biased toward success);
2. the GAN's samples and their quality as the judge sees it (:mod:`.lsd`);
3. the quasi-eigenvectors (:func:`latentdyn.analysis.lsd.analyse`) and the LSD of the
   test images: the label-sub-space fraction (the abstract's 98 %), the LSD accuracy,
   the rank of the true label and the span check;
4. the LSD figures: Gram matrices, the decoded quasi-eigenvectors (at a stated scale)
   and amplitude histograms of |c_i|;
5. denoising by keeping the k largest coefficients, k ∈ {1, 2, 3, 4, 10} and all nz
   (the plain reconstruction G(E(x))), against the corrupted input: the judge's
   accuracy and PSNR/SSIM against the clean image across noise kinds and levels
   (:mod:`.denoising`);
6. rotations i → j by π/2 in the plane of (ξ_i, ξ_j) (true rotations), read by the
   judge along the path, for every ordered pair of digits (:mod:`.rotations`);

then the scorecard (:mod:`.claims`) and the report (:mod:`.report`). Runs go to
``<out>/runs`` and are reused when the command is repeated with the same settings (an
interrupted one is resumed); ``--classifier``, ``--judge``, ``--gan`` and ``--encoder``
take finished runs instead. Profiles (:mod:`.profiles`): ``quick`` (a few CPU minutes),
``paper`` (the paper's architecture; hours) and ``smoke`` (toy size for the tests:
seconds; not a reproduction).
"""

from latentdyn.studies.toledo2023.profiles import PROFILES, Profile
from latentdyn.studies.toledo2023.pipeline import DEFAULT_OUT, run
from latentdyn.studies.toledo2023.cli import command

__all__ = ["DEFAULT_OUT", "PROFILES", "Profile", "command", "run"]
