"""The settings of the denoising comparison: :class:`Profile` and :data:`PROFILES`.

A profile holds the comparison's settings (the test images, noise kinds and levels,
repeated-inference steps, LSD truncation sizes and the bases' sizes) and the training
settings of the networks it trains when they are not given: the paper's VAE, and the
classifier, the DCGAN and its encoder of paper 004 (as in ``toledo2023``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from latentdyn.analysis.denoising import NOISES
from latentdyn.analysis.lsd import DEFAULT_KS

# the comparison's settings, in the order summary.json and the report list them
COMPARISON = ("n_test", "noises", "levels", "steps", "ks", "basis_images", "n_prior",
              "max_per_class", "examples")


@dataclass(frozen=True)
class Profile:
    """Every setting of one profile; the overrides of :func:`~.pipeline.run` replace
    the comparison's."""

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
    # --- the classifier C (accuracy, labels of the LSD bases; toledo2023's)
    nz: int = 100  # the GAN's latent
    clf_epochs: int = 12
    clf_batch: int = 128
    clf_lr: float = 1e-3
    clf_conv1: int = 32
    clf_conv2: int = 64
    clf_dense: int = 128
    # --- the DCGAN G (family b) and its encoder E (G and C frozen)
    gan_epochs: int = 30
    gan_batch: int = 128
    gan_lr: float = 2e-4
    g_width: int = 256
    d_width: int = 64
    enc_epochs: int = 20
    enc_batch: int = 128
    enc_lr: float = 1e-3
    e_width: int = 64
    e_hidden: int = 512
    rec_weight: float = 1.0
    ce_weight: float = 100.0
    kl_weight: float = 1.0 / 25.0

    def comparison(self) -> dict:
        """The comparison's settings as plain lists and numbers (what ``resolve`` starts
        from)."""
        d = asdict(self)
        return {k: list(d[k]) if isinstance(d[k], tuple) else d[k] for k in COMPARISON}

    def training(self) -> dict:
        """The training settings of the networks trained when not given."""
        skip = {"name", "dataset", *COMPARISON}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


PROFILES = {
    # the comparison's settings of before the package; the networks as toledo2023's
    # quick profile and a 30-epoch VAE as nagano2017's (minutes on 2 CPU cores)
    "quick": Profile("quick", dataset="mnist-embedded", n_test=500, levels=(0.1, 0.3, 0.5),
                     steps=(1, 5, 20), basis_images=5000, n_prior=5000, max_per_class=500,
                     examples=6, vae_epochs=30, clf_epochs=5, clf_batch=64, clf_conv1=16,
                     clf_conv2=32, clf_dense=64, gan_epochs=8, gan_batch=32, g_width=128,
                     d_width=32, enc_epochs=5, enc_batch=64, e_width=32, e_hidden=256),
    # all test images, six levels, the paper's networks (hours; use a GPU)
    "paper": Profile("paper", n_test=10000, levels=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5),
                     steps=(1, 5, 20, 80), basis_images=None, n_prior=50000,
                     max_per_class=5000, examples=8),
    # toy size for tests: seconds on synthetic 8×8 images of 3 classes, networks of a
    # few hundred weights (toledo2023's smoke networks); not a comparison to read
    "smoke": Profile("smoke", dataset="synthetic:k=3,m=60,side=8,test=20", n_test=20,
                     levels=(0.1, 0.3), steps=(1, 3), ks=(1, 3), basis_images=None,
                     n_prior=200, max_per_class=50, examples=2, vae_epochs=3, vae_nz=12,
                     vae_hidden=32, nz=12, clf_epochs=2, clf_batch=16, clf_lr=1e-2,
                     clf_conv1=4, clf_conv2=8, clf_dense=16, gan_epochs=10, gan_batch=16,
                     gan_lr=2e-3, g_width=16, d_width=8, enc_epochs=2, enc_batch=16,
                     e_width=8, e_hidden=16),
}
