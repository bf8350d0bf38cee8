"""The stages of the toledo2023 study, in order, for every training seed of ``--seeds``:

1. the networks (:func:`.models.networks`): C, J, G and E, given or trained;
2. the GAN's samples and their quality as the judge sees it (:func:`.lsd.gan_samples`);
3. the quasi-eigenvectors and the LSD of the test images
   (:func:`.lsd.quasi_eigenvectors`);
4. the LSD statistics the figures show: Gram matrices, decoded quasi-eigenvectors,
   amplitude histograms (:mod:`.lsd`);
5. denoising by LSD truncation (:func:`.denoising.denoising`);
6. rotations i → j in the planes of the quasi-eigenvectors (:func:`.rotations.rotations`).

Each returns a dataclass; one seed's are a :class:`SeedResults`, the study's a
:class:`Results`. Nothing is written to the output (the runs trained go to
``<out>/runs``, and ``runs/seed<s>`` for a further seed); the files come from
:func:`.report.report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from latentdyn.studies.common import PerSeed
from latentdyn.studies.toledo2023.denoising import Denoising, denoising
from latentdyn.studies.toledo2023.lsd import (Amplitudes, Decoded, GramMatrices, Images,
                                                LSDResults, amplitudes, decoded, gan_samples,
                                                gram_matrices, quasi_eigenvectors)
from latentdyn.studies.toledo2023.measures import GanQuality
from latentdyn.studies.toledo2023.models import GivenRuns, Networks, networks
from latentdyn.studies.toledo2023.rotations import RotationReadings, rotations

if TYPE_CHECKING:
    from latentdyn.studies.lifecycle import Run
    from latentdyn.studies.toledo2023 import Setup


@dataclass
class SeedResults:
    """What every stage returned for one set of networks (training seed ``seed``)."""

    seed: int
    num_classes: int
    nets: Networks
    images: Images
    samples: GanQuality
    lsd: LSDResults
    gram: GramMatrices
    decoded: Decoded
    amplitudes: Amplitudes
    denoising: Denoising
    rotations: RotationReadings


class Results(PerSeed[SeedResults]):
    """The results of every training seed; the first is the one the report shows."""


def stages(run: "Run", setup: "Setup") -> Results:
    """Every seed's stages: the first with the given runs and its runs in
    ``<out>/runs``, each further seed ``s`` training its own in ``runs/seed<s>`` (its
    stages named ``seed <s>: …``)."""
    out = []
    for i, seed in enumerate(setup.seeds):
        main = i == 0
        runs = run.folder / "runs" if main else run.folder / "runs" / f"seed{seed}"
        out.append(one_seed(run, setup, seed, setup.given if main else GivenRuns(), runs,
                            "" if main else f"seed {seed}: "))
    return Results(out)


def one_seed(run: "Run", setup: "Setup", seed: int, given: GivenRuns, runs: Path,
             prefix: str = "") -> SeedResults:
    """The stages of one set of networks, in order; ``prefix`` names the stages of a
    further seed."""
    prof, data = setup.profile, setup.data
    nets = networks(prof, data, runs, seed, setup.device, given, run, prefix)
    images = Images.of(prof, data)
    with run.stage(f"{prefix}gan samples",
                   f"{prefix}lsd: GAN samples, quasi-eigenvectors, LSD statistics"):
        samples = gan_samples(nets, images, prof, seed)
    with run.stage(f"{prefix}quasi-eigenvectors and LSD"):
        lsd = quasi_eigenvectors(nets, images, prof, data.num_classes, seed, run.progress)
    with run.stage(f"{prefix}lsd statistics"):
        gram, dec, amp = gram_matrices(lsd), decoded(nets, lsd, seed), amplitudes(lsd, images)
    with run.stage(f"{prefix}denoising",
                   f"{prefix}denoising: LSD truncation against the corrupted input"):
        den = denoising(nets, lsd, data, prof, seed)
    with run.stage(f"{prefix}rotations", f"{prefix}rotations: every ordered pair of digits"):
        rot = rotations(nets, lsd, images, prof)
    return SeedResults(seed, data.num_classes, nets, images, samples, lsd, gram, dec, amp, den,
                       rot)


__all__ = ["Results", "SeedResults", "one_seed", "stages"]
