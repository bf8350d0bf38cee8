"""One module per reproduced study; each offers a plain ``run(...)`` and a click ``command``."""


def profile_callback(profiles, public):
    """A click callback accepting any name in ``profiles`` (hidden test profiles too)
    while the error message lists only the ``public`` ones."""

    def check(ctx, param, value):
        import click

        if value not in profiles:
            raise click.BadParameter(f"choose from {', '.join(public)}")
        return value

    return check
