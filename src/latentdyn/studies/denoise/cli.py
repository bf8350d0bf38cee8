"""``latentdyn compare denoise``: the click command over :func:`~.pipeline.run`."""

from __future__ import annotations

import click

from latentdyn.errors import ConfigError
from latentdyn.studies.denoise.pipeline import DEFAULT_OUT, run
from latentdyn.studies.study import profile_option, seeds_option

PROFILE_HELP = ("quick: 500 test images, 3 levels, networks trained in minutes on a CPU; "
                "paper: all test images, 6 levels, the papers' networks (hours; use a GPU); "
                "smoke: toy size in seconds, for tests (not a comparison to read).")
RUN = click.Path(file_okay=False)


def _list(text: str | None, cast, name: str):
    """A comma-separated option as a list (``None`` when not given)."""
    if text is None:
        return None
    try:
        values = [cast(t.strip()) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"{name}: expected a comma-separated list, got {text!r}") from None
    if not values:
        raise ConfigError(f"{name}: the list is empty")
    return values


# --device keeps its default (cpu), so the study's own options stand in for
# common_options; --progress/--no-progress is kept and --quiet is its short form
@click.command("denoise", context_settings={"show_default": True})
@profile_option(help=PROFILE_HELP)
@click.option("--out", default=DEFAULT_OUT, type=RUN, help="Output folder.")
@click.option("--vae", default=None, type=RUN,
              help="VAE run folder (families a and c) [trained into OUT/runs/vae].")
@click.option("--gan", default=None, type=RUN,
              help="GAN + encoder run folder (families b and e) [trained into OUT/runs/gan "
                   "and OUT/runs/encoder].")
@click.option("--classifier", default=None, type=RUN,
              help="Classifier run folder (accuracy, LSD bases) [trained into "
                   "OUT/runs/classifier].")
@click.option("--given-only", is_flag=True,
              help="Train nothing: score only what is given, skipping the other families.")
@click.option("--basis-vae", default=None, type=click.Path(exists=True),
              help="LSD basis of the VAE from `latentdyn lsd` (else built here).")
@click.option("--basis-gan", default=None, type=click.Path(exists=True),
              help="LSD basis of the GAN from `latentdyn lsd` (else built here).")
@click.option("--noise", default=None,
              help="Comma-separated noise kinds [profile: swap,flip,salt_pepper,gaussian].")
@click.option("--levels", default=None,
              help="Comma-separated levels p (gaussian: the std) [profile].")
@click.option("--steps", default=None, help="Repeated-inference steps t, e.g. 1,5,20 [profile].")
@click.option("--ks", default=None, help="LSD truncation sizes k, e.g. 1,2,3,4,10 [profile].")
@click.option("--n-test", type=int, default=None, help="Test images used [profile].")
@click.option("--examples", type=int, default=None,
              help="Example images per noise kind in the report, 0 for none [profile].")
@click.option("--gan-inference/--no-gan-inference", default=False,
              help="Also score repeated inference through the GAN and its encoder.")
@click.option("--dataset", default=None,
              help="Data set [quick: mnist-embedded; paper: mnist when present; smoke: "
                   "synthetic].")
@click.option("--data-dir", default=None, help="Folder with downloaded data sets.")
@click.option("--seed", type=int, default=0)
@seeds_option()
@click.option("--device", default="cpu", help="cpu, cuda, cuda:N or auto.")
@click.option("--batch-size", type=int, default=500)
@click.option("--overwrite", is_flag=True, help="Replace results of another setting in --out.")
@click.option("--progress/--no-progress", default=True)
@click.option("--quiet", is_flag=True, help="No progress output (as --no-progress).")
def command(profile, out, vae, gan, classifier, given_only, basis_vae, basis_gan, noise, levels,
            steps, ks, n_test, examples, gan_inference, dataset, data_dir, seed, n_seeds,
            device, batch_size, overwrite, progress, quiet) -> None:
    """Denoise the same corrupted test images by (a) the VAE's repeated inference,
    (b) LSD truncation in the GAN, (c) LSD truncation in the VAE and (d) nothing;
    write a table (CSV + Markdown), figures, the scorecard D1-D4 (claims.json,
    claims.md), report.html and manifest.json. Networks not given are trained into
    OUT/runs and reused (--given-only: none); --seeds N trains N independent sets."""
    run(profile, out, vae=vae, gan=gan, classifier=classifier, basis_vae=basis_vae,
        basis_gan=basis_gan, given_only=given_only, dataset=dataset, data_dir=data_dir,
        noises=_list(noise, str, "--noise"), levels=_list(levels, float, "--levels"),
        steps=_list(steps, int, "--steps"), ks=_list(ks, int, "--ks"), n_test=n_test,
        examples=examples, gan_inference=gan_inference, batch_size=batch_size, seed=seed,
        n_seeds=n_seeds, device=device, progress=progress and not quiet, overwrite=overwrite)
