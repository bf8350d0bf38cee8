"""Reading a family's own options (``--option KEY=VALUE``, a run's ``model_options``)
and its optimiser defaults, the same way for every family."""

from __future__ import annotations

from latentdyn.errors import ConfigError


def apply_kind_defaults(config, lr: float, lr_factors=(1.0,), lr_milestones=()):
    """Give ``config`` a kind's optimiser defaults where it still holds the generic ones.

    The learning rate is replaced when it equals the generic default (5e-4); the
    schedule (``lr_factors``/``lr_milestones``) when both equal theirs (the VAE paper's
    steps). In place and idempotent, so ``config.json`` records what was used.
    """
    generic = type(config)()  # the run config's own defaults (TrainConfig's)
    if config.lr == generic.lr:
        config.lr = lr
    if (list(config.lr_factors) == list(generic.lr_factors)
            and list(config.lr_milestones) == list(generic.lr_milestones)):
        config.lr_factors = list(lr_factors)
        config.lr_milestones = list(lr_milestones)
    return config


def split_options(options: dict, allowed: set[str], kind: str) -> None:
    """Raise a one-line error naming any option ``kind`` does not know."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(
            f"model {kind!r} has no option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(allowed))}"
        )


def check_range(opts: dict, name: str, lo: float, hi: float, kind: str,
                integer: bool = False) -> None:
    """One line when ``opts[name]`` is not a number (an integer) in ``[lo, hi]``."""
    v = opts[name]
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi
    if integer:
        ok = ok and isinstance(v, int)
    if not ok:
        what = "an integer" if integer else "a number"
        raise ConfigError(f"{kind}: option {name} must be {what} in [{lo:g}, {hi:g}], got {v!r}")


__all__ = ["apply_kind_defaults", "check_range", "split_options"]
