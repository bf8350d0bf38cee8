"""The settings of the denoising comparison: :class:`Profile` and :data:`PROFILES`.

A profile holds the comparison's settings (the test images, noise kinds and levels,
repeated-inference steps, LSD truncation sizes and the bases' sizes) and the training
settings of the networks it trains when they are not given: the paper's VAE, and the
classifier, the DCGAN and its encoder of paper 004 (as in ``toledo2023``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from latentdyn.analysis.denoising import NOISES
from latentdyn.analysis.lsd import DEFAULT_KS
from latentdyn.train.recipes import (QUICK_CLASSIFIER, QUICK_ENCODER, QUICK_GAN,
                                     SMOKE_CLASSIFIER, SMOKE_ENCODER, SMOKE_GAN,
                                     ClassifierRecipe, EncoderRecipe, GanRecipe, record)

# the comparison's settings, in the order summary.json and the report list them
COMPARISON = ("n_test", "noises", "levels", "steps", "ks", "basis_images", "n_prior",
              "max_per_class", "examples")


@dataclass(frozen=True)
class Profile:
    """Every setting of one profile; the options (:class:`~latentdyn.studies.denoise.Params`)
    override the comparison's."""

    name: str
    # --- the comparison
    n_test: int
    levels: tuple
    steps: tuple
    n_prior: int
    max_per_class: int
    examples: int
    basis_images: int | None  # LSD bases from the first N training images (None: all)
    noises: tuple = NOISES
    ks: tuple = DEFAULT_KS
    dataset: str | None = None  # None: mnist when present, else mnist-embedded
    # --- the VAE (families a and c): the paper's, latentdyn.train.TrainConfig
    vae_epochs: int = 100
    vae_nz: int = 100
    vae_hidden: int = 1024
    # --- the classifier C (accuracy, labels of the LSD bases), the DCGAN G (family b)
    # and its encoder E (G and C frozen): toledo2023's networks, the shared recipes
    classifier: ClassifierRecipe = field(default_factory=ClassifierRecipe)
    gan: GanRecipe = field(default_factory=GanRecipe)
    encoder: EncoderRecipe = field(default_factory=EncoderRecipe)

    def comparison(self) -> dict:
        """The comparison's settings as plain lists and numbers (what ``resolve`` starts
        from)."""
        values = {k: getattr(self, k) for k in COMPARISON}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    def training(self) -> dict:
        """The training settings of the networks trained when not given (those of the
        classifier, the GAN and the encoder under their flat names: ``clf_epochs``, …)."""
        return {"vae_epochs": self.vae_epochs, "vae_nz": self.vae_nz,
                "vae_hidden": self.vae_hidden,
                **record(self.classifier, self.gan, self.encoder)}


PROFILES = {
    # the comparison's settings of before the package; the networks as toledo2023's
    # quick profile and a 30-epoch VAE as nagano2017's (minutes on 2 CPU cores)
    "quick": Profile("quick", dataset="mnist-embedded", n_test=500, levels=(0.1, 0.3, 0.5),
                     steps=(1, 5, 20), basis_images=5000, n_prior=5000, max_per_class=500,
                     examples=6, vae_epochs=30, classifier=QUICK_CLASSIFIER, gan=QUICK_GAN,
                     encoder=QUICK_ENCODER),
    # all test images, six levels, the paper's networks (hours; use a GPU)
    "paper": Profile("paper", n_test=10000, levels=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5),
                     steps=(1, 5, 20, 80), basis_images=None, n_prior=50000,
                     max_per_class=5000, examples=8),
    # toy size for tests: seconds on synthetic 8×8 images of 3 classes, networks of a
    # few hundred weights (toledo2023's smoke networks); not a comparison to read
    "smoke": Profile("smoke", dataset="synthetic:k=3,m=60,side=8,test=20", n_test=20,
                     levels=(0.1, 0.3), steps=(1, 3), ks=(1, 3), basis_images=None,
                     n_prior=200, max_per_class=50, examples=2, vae_epochs=3, vae_nz=12,
                     vae_hidden=32, classifier=SMOKE_CLASSIFIER, gan=SMOKE_GAN,
                     encoder=SMOKE_ENCODER),
}

TITLE = "Denoising across model families"  # the report's title, and the section the claims test
