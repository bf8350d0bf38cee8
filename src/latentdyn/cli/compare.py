"""``latentdyn compare``: comparisons across model families (no paper has them)."""

from __future__ import annotations


import click

from latentdyn.errors import ConfigError


def _list(text: str | None, cast, name: str):
    if text is None:
        return None
    try:
        values = [cast(t.strip()) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"{name}: expected a comma-separated list, got {text!r}") from None
    if not values:
        raise ConfigError(f"{name}: the list is empty")
    return values


@click.group()
def compare() -> None:
    """Compare model families on the same inputs."""


@compare.command(context_settings={"show_default": True})
@click.option("--profile", type=click.Choice(["quick", "paper"]), default="quick",
              help="quick: 500 test images, 3 levels; paper: all test images, 6 levels.")
@click.option("--out", default="results/compare-denoise", type=click.Path(file_okay=False))
@click.option("--vae", default=None, type=click.Path(file_okay=False),
              help="VAE run folder (families a and c); skipped if not given.")
@click.option("--gan", default=None, type=click.Path(file_okay=False),
              help="GAN + encoder run folder (family b); skipped if not given.")
@click.option("--classifier", default=None, type=click.Path(file_okay=False),
              help="Classifier run folder (accuracy, LSD bases); skipped if not given.")
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
@click.option("--dataset", default="mnist-embedded")
@click.option("--data-dir", default=None)
@click.option("--seed", type=int, default=0)
@click.option("--device", default="cpu", help="cpu, cuda, cuda:N or auto.")
@click.option("--batch-size", type=int, default=500)
@click.option("--progress/--no-progress", default=True)
def denoise(profile, out, vae, gan, classifier, basis_vae, basis_gan, noise, levels, steps, ks,
            n_test, examples, gan_inference, dataset, data_dir, seed, device, batch_size,
            progress) -> None:
    """Denoise the same corrupted test images by (a) the VAE's repeated inference,
    (b) LSD truncation in the GAN, (c) LSD truncation in the VAE and (d) nothing;
    write a table (CSV + Markdown), figures, report.html and manifest.json."""
    from latentdyn.reproduce.denoise import run_comparison

    if n_test is not None and n_test < 1:
        raise ConfigError(f"--n-test must be >= 1, got {n_test}")
    if examples is not None and examples < 0:
        raise ConfigError(f"--examples must be >= 0, got {examples}")
    if vae is None and gan is None:
        click.echo("note: neither --vae nor --gan given; only the corrupted input is scored",
                   err=True)
    result = run_comparison(
        out, profile, vae=vae, gan=gan, classifier=classifier, basis_vae=basis_vae,
        basis_gan=basis_gan, dataset=dataset, data_dir=data_dir, seed=seed, device=device,
        batch_size=batch_size, gan_inference=gan_inference, progress=progress,
        noises=_list(noise, str, "--noise"), levels=_list(levels, float, "--levels"),
        steps=_list(steps, int, "--steps"), ks=_list(ks, int, "--ks"), n_test=n_test,
        examples=examples)
    for family, why in result.skipped.items():
        click.echo(f"skipped {family}: {why}", err=True)
    click.echo(f"wrote {result.files['report']} ({len(result.rows)} rows in "
               f"{result.files['csv'].name})")
