"""The settings of the toledo2023 reproduction: :class:`Profile` and :data:`PROFILES`.

The networks' settings are the shared recipes of :mod:`latentdyn.train.recipes` (the
classifier C and the judge J share one; the DCGAN; its encoder E).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from latentdyn.train.recipes import (QUICK_CLASSIFIER, QUICK_ENCODER, QUICK_GAN,
                                     SMOKE_CLASSIFIER, SMOKE_ENCODER, SMOKE_GAN,
                                     ClassifierRecipe, EncoderRecipe, GanRecipe, record)

NETWORKS = ("classifier", "gan", "encoder")  # the fields holding the networks' recipes


@dataclass(frozen=True)
class Profile:
    """Every setting of a reproduction; ``quick`` and ``smoke`` reduce ``paper``."""

    name: str
    dataset: str | None = None  # None: mnist when present, else mnist-embedded
    # classifier C and judge J (same architecture, seeds 2·seed and 2·seed + 1)
    classifier: ClassifierRecipe = field(default_factory=ClassifierRecipe)
    # DCGAN (SPEC §3: Adam 2e-4, betas (0.5, 0.99)), its latent size nz
    gan: GanRecipe = field(default_factory=GanRecipe)
    # encoder E (G and C frozen): rec + 100 CE + KL / 25
    encoder: EncoderRecipe = field(default_factory=EncoderRecipe)
    # quasi-eigenvectors
    basis_images: int | None = None  # E over the first N training images (None: all)
    max_per_class: int = 5000
    n_prior: int = 50000
    test_images: int | None = None  # LSD statistics on the first N test images
    # denoising
    den_images: int = 10000
    noises: tuple = (("gaussian", (0.1, 0.25, 0.5, 0.75, 1.0)),
                     ("salt_pepper", (0.05, 0.1, 0.2, 0.3, 0.5)),
                     ("swap", (0.1, 0.3, 0.5, 0.7, 0.9)))
    ks: tuple = (1, 2, 3, 4, 10)
    examples: int = 8
    # rotations
    rot_images: int = 50  # test images per source digit, rotated toward every other digit
    rot_steps: int = 8
    # figures
    samples: int = 64
    fig_dpi: int = 150

    @property
    def nz(self) -> int:
        """The GAN's latent size."""
        return self.gan.nz

    def settings(self) -> dict:
        """Every setting as the manifest records it (the networks' under their flat
        names: ``clf_epochs``, ``gan_lr``, ``e_width``, …)."""
        out = {"name": self.name, "dataset": self.dataset,
               **record(self.classifier, self.gan, self.encoder)}
        out.update({f.name: getattr(self, f.name) for f in fields(self)
                    if f.name not in out and f.name not in NETWORKS})
        out["noises"] = {k: list(v) for k, v in self.noises}
        out["ks"] = list(self.ks)
        return out


PROFILES = {
    # <= 20 minutes on 2 CPU cores with the embedded MNIST subset
    "quick": Profile("quick", dataset="mnist-embedded", classifier=QUICK_CLASSIFIER,
                     gan=QUICK_GAN, encoder=QUICK_ENCODER, max_per_class=800, n_prior=10000,
                     test_images=10000, den_images=500, examples=6, rot_images=20),
    # the paper's architecture and objective; epochs are not given by the abstract
    "paper": Profile("paper"),
    # toy size for the tests: seconds on synthetic 8×8 images of 3 classes, a 12-d
    # latent and networks of a few hundred weights (not a reproduction)
    "smoke": Profile("smoke", dataset="synthetic:k=3,m=60,side=8,test=20",
                     classifier=SMOKE_CLASSIFIER, gan=SMOKE_GAN, encoder=SMOKE_ENCODER,
                     max_per_class=50, n_prior=200, den_images=20,
                     noises=(("gaussian", (0.25, 0.5)), ("swap", (0.5,))), examples=3,
                     rot_images=3, rot_steps=4, samples=16, fig_dpi=40),
}
