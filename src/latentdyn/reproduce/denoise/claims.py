"""The claims of the denoising comparison, as functions of its results.

No paper makes this comparison, so it has no claims yet: :func:`claims` returns none,
no scorecard is written and the command ends with the report's path only. A later
issue adds them here, each rule and threshold a constant fixed in code before any run.
"""

from __future__ import annotations

from latentdyn.reporting.claims import Claim
from latentdyn.reproduce.denoise.stages import Comparison


def claims(comparison: Comparison) -> list[Claim]:
    """The claims measured on ``comparison``: none yet."""
    return []
