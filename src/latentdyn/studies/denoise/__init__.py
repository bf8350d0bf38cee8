"""``latentdyn compare denoise``: denoising across model families (issue 6; SPEC §4).

The same corrupted test images are denoised by

(a) the VAE's repeated inference, x(t) after t steps (``vae-inference``),
(b) LSD truncation in the GAN's latent space (``lsd-gan``),
(c) LSD truncation in the VAE's latent space (``lsd-vae``),
(d) nothing: the corrupted input itself (``input``),

optionally (e) repeated inference through the GAN and its encoder (``gan-inference``),
scored by classifier accuracy and PSNR (and SSIM) against the clean image. This
comparison exists in none of the papers; its claims D1-D4 (:mod:`.claims`) state what
it tests -- each denoiser against the corrupted input, image by image, at the moderate
level -- with intervals over images, and with ``--seeds N`` how many of N independently
trained sets of networks reproduce each.

The stages, in order, each returning a dataclass of results:

1. the networks (:mod:`.models`): the given runs (``--vae``, ``--gan``, ``--classifier``),
   and the missing ones trained into ``<out>/runs`` -- the paper's VAE (``vae``), the
   CNN classifier (``classifier``), the DCGAN (``gan``) and its encoder (``encoder``,
   the GAN of the comparison) -- reused when the command is repeated with the same
   settings, resumed when interrupted; with ``--given-only`` nothing is trained and the
   families of a missing network are skipped, which the report says;
2. the denoisers (:func:`.stages.denoisers`): the methods of every family, the LSD
   bases given or built from the training images and prior samples;
3. the comparison (:func:`.stages.comparison`): every method on the same corrupted
   copies (:func:`latentdyn.analysis.denoising.compare_denoising`);
4. the files (:mod:`.outputs`): ``denoise.csv`` / ``denoise.md``, the curves and the
   example grids, ``summary.json``, and the scorecard ``claims.json`` / ``claims.md``;

then the report (:mod:`.report`). Conventions (recorded in every manifest): every
denoiser output is clipped to [0, 1] before it is scored; PSNR = 10 log10(1 / MSE) per
image with the MSE floored at 1e-10 (at most 100 dB), averaged over images (± SEM);
SSIM uses a uniform 7×7 window with K1 = 0.01, K2 = 0.03. Each (noise, level) pair is
corrupted once, from a seed derived from (seed, noise, level) alone, and the same
corrupted images go to every method.

Profiles (:mod:`.profiles`): ``quick`` (500 test images; networks trained in minutes
on a CPU), ``paper`` (all test images, the papers' networks; hours) and ``smoke`` (toy
size for tests: seconds; not a comparison to read).
"""

from latentdyn.studies.denoise.profiles import PROFILES, Profile
from latentdyn.studies.denoise.pipeline import DEFAULT_OUT, run
from latentdyn.studies.denoise.cli import command

__all__ = ["DEFAULT_OUT", "PROFILES", "Profile", "command", "run"]
