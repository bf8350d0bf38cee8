"""The settings of the nagano2017-sampling study (paper 002) and its three profiles.

The model and its training recipe are those of the nagano2017 study (paper 001's VAE,
trained by its training stage), so a model trained by ``reproduce nagano2017`` can be
reused with ``--model``. The number of epochs is this study's own: 30 for the quick
profile (what fits the 10-minute budget with the 500-trial chains; nagano2017's quick
profile sets its length for its own budget), paper 001's 100 for the paper profile.
Paper 002 runs 500 trials for Fig. 2b and gives no count for Fig. 3; 500 is used for
both (paper 001 uses 500 for the same figure). The quick profile keeps those counts and
T = 80; its one reduction is the training (30 epochs on the embedded subset instead of
the paper profile's 100, full MNIST when present).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from latentdyn.studies.nagano2017 import FIG4_PS, LABEL

__all__ = ["FIG2A_FRAMES", "FIG3_PS", "LABEL", "PROFILES", "Profile"]

FIG3_PS = FIG4_PS  # 12 noise fractions, 0 .. 1 (paper 001's Fig. 4 grid)
FIG2A_FRAMES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40, 60, 80)  # the t drawn in Fig. 2a
QUICK_EPOCHS, PAPER_EPOCHS, SMOKE_EPOCHS = 30, 100, 2


@dataclass(frozen=True)
class Profile:
    """Training length, trials per label (Fig. 2b) and per noise level (Fig. 3), T, the
    noise levels of Fig. 3, the noise of figures 2a-b, the bootstrap resamples and the
    steps drawn in Fig. 2a."""

    name: str
    epochs: int
    trials_fig2b: int
    trials_fig3: int
    steps: int
    ps: tuple = FIG3_PS
    p_fig2: float = 0.2
    resamples: int = 1000
    frames: tuple = FIG2A_FRAMES

    def settings(self) -> dict:
        return asdict(self)

    def frame_steps(self) -> tuple:
        """The steps of Fig. 2a that exist for this T (always 0 and T)."""
        return tuple(sorted({t for t in self.frames if t <= self.steps} | {0, self.steps}))


PROFILES = {
    # <= 10 minutes on 2 CPU cores: the paper's trials and T, 30 training epochs
    "quick": Profile("quick", epochs=QUICK_EPOCHS, trials_fig2b=500,
                     trials_fig3=500, steps=80),
    # paper 002's 500 trials, T = 80, paper 001's 100 training epochs
    "paper": Profile("paper", epochs=PAPER_EPOCHS, trials_fig2b=500,
                     trials_fig3=500, steps=80),
    # toy size for tests: seconds, not a reproduction
    "smoke": Profile("smoke", epochs=SMOKE_EPOCHS, trials_fig2b=12,
                     trials_fig3=10, steps=12, ps=(0.0, 0.3, 0.6, 1.0), resamples=50,
                     frames=(0, 1, 2, 4, 8, 12)),
}
