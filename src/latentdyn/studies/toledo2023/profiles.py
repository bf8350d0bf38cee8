"""The settings of the toledo2023 reproduction: :class:`Profile` and :data:`PROFILES`."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Profile:
    """Every setting of a reproduction; ``quick`` and ``smoke`` reduce ``paper``."""

    name: str
    dataset: str | None = None  # None: mnist when present, else mnist-embedded
    nz: int = 100
    # classifier C and judge J (same architecture, seeds seed and seed + 1)
    clf_epochs: int = 12
    clf_batch: int = 128
    clf_lr: float = 1e-3
    clf_conv1: int = 32
    clf_conv2: int = 64
    clf_dense: int = 128
    # DCGAN (SPEC §3: Adam 2e-4, betas (0.5, 0.99))
    gan_epochs: int = 30
    gan_batch: int = 128
    gan_lr: float = 2e-4
    g_width: int = 256
    d_width: int = 64
    # encoder E (G and C frozen): rec + 100 CE + KL / 25
    enc_epochs: int = 20
    enc_batch: int = 128
    enc_lr: float = 1e-3
    e_width: int = 64
    e_hidden: int = 512
    rec_weight: float = 1.0
    ce_weight: float = 100.0
    kl_weight: float = 1.0 / 25.0
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

    def settings(self) -> dict:
        d = asdict(self)
        d["noises"] = {k: list(v) for k, v in self.noises}
        d["ks"] = list(self.ks)
        return d


PROFILES = {
    # <= 20 minutes on 2 CPU cores with the embedded MNIST subset
    "quick": Profile("quick", dataset="mnist-embedded", clf_epochs=5, clf_batch=64,
                     clf_conv1=16, clf_conv2=32, clf_dense=64, gan_epochs=8, gan_batch=32,
                     g_width=128, d_width=32, enc_epochs=5, enc_batch=64, e_width=32,
                     e_hidden=256, max_per_class=800, n_prior=10000, test_images=10000,
                     den_images=500, examples=6, rot_images=20),
    # the paper's architecture and objective; epochs are not given by the abstract
    "paper": Profile("paper"),
    # toy size for the tests: seconds on synthetic 8×8 images of 3 classes, a 12-d
    # latent and networks of a few hundred weights (not a reproduction)
    "smoke": Profile("smoke", dataset="synthetic:k=3,m=60,side=8,test=20", nz=12,
                     clf_epochs=2, clf_batch=16, clf_lr=1e-2, clf_conv1=4, clf_conv2=8,
                     clf_dense=16, gan_epochs=10, gan_batch=16, gan_lr=2e-3, g_width=16,
                     d_width=8, enc_epochs=2, enc_batch=16, e_width=8, e_hidden=16,
                     max_per_class=50, n_prior=200, den_images=20,
                     noises=(("gaussian", (0.25, 0.5)), ("swap", (0.5,))), examples=3,
                     rot_images=3, rot_steps=4, samples=16, fig_dpi=40),
}
