"""``latentdyn explore``: the interactive trajectory explorer in the browser."""

from __future__ import annotations

import click

from latentdyn.errors import ConfigError

MAX_MODELS = 2


@click.command(context_settings={"show_default": True})
@click.option("--model", "models", multiple=True, required=True,
              help="A run folder (latentdyn train: vae, vmi or gan-encoder), RUN@STEP, a "
                   "factory FILE.py:FUNCTION or package.module:FUNCTION, a pythae model folder "
                   "or a diffusers AutoencoderKL folder. Give it twice to compare two models "
                   "side by side on the same corrupted input.")
@click.option("--weights", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A state dict for a factory --model (.safetensors, or a PyTorch file read "
                   "with weights_only=True); once per --model, in the same order.")
@click.option("--model-kind", "model_kinds", multiple=True,
              type=click.Choice(("run", "factory", "pythae", "diffusers")),
              help="What each --model is, when its files do not say; once per --model.")
@click.option("--trust-pickles", is_flag=True,
              help="Load pythae model folders whose networks are pickled (loading a pickle "
                   "runs the code in it).")
@click.option("--classifier", default=None, type=click.Path(file_okay=False),
              help="A classifier run (latentdyn train --model classifier): the digit it "
                   "reads at every step.")
@click.option("--attractors", multiple=True, type=click.Path(exists=True),
              help="Fixed points to mark on the map: a JSON file (or a folder holding "
                   "attractors.json), once per --model in the same order.")
@click.option("--dataset", default=None, help="Images to pick from [default: the first run's].")
@click.option("--data-dir", default=None)
@click.option("--port", type=int, default=8000, help="Port to listen on (0: any free one).")
@click.option("--host", default="127.0.0.1",
              help="Address to listen on; anything but 127.0.0.1/localhost exposes the page "
                   "to the network.")
@click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
@click.option("--device", default="cpu", help="cpu, cuda or auto.")
def explore(models, weights, model_kinds, trust_pickles, classifier, attractors, dataset,
            data_dir, port, host, no_browser, device):
    """Serve a local page on which to watch repeated inference: pick an image (or draw
    one), choose the noise, p, the mode, T and a seed, and see x(t) with a time slider,
    the distances to the image's own memory, its concept and the abstract concept, the
    trajectory on a PCA map of the memories and, with --classifier, the digit read at
    every step. Nothing is written; Ctrl-C stops the server."""
    from latentdyn.checks import resolve_device

    if len(models) > MAX_MODELS:
        raise ConfigError(f"--model given {len(models)} times; the explorer compares at most "
                          f"{MAX_MODELS} models")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {port}")
    try:
        from latentdyn.explore.app import LOCAL_HOSTS, create_app
        from latentdyn.explore.server import WILDCARDS, bind, serve
    except ImportError as exc:
        raise ConfigError(f"latentdyn explore needs the explore extra ({exc.name} is missing): "
                          "pip install 'latentdyn[explore]'") from None
    from latentdyn.explore.loading import load_explorer

    dev = resolve_device(device)
    explorer = load_explorer(models, classifier, attractors, dataset, data_dir, dev,
                             weights=weights, model_kinds=model_kinds,
                             trust_pickles=trust_pickles)
    hosts = ["*"] if host in WILDCARDS else sorted({*LOCAL_HOSTS, host})
    app = create_app(explorer, allowed_hosts=hosts)
    sock = bind(host, port)  # a port in use is one line, before anything is served
    names = " vs ".join(e.name for e in explorer.models)

    def ready(url: str) -> None:
        click.echo(f"latentdyn explore: {names} on {explorer.data.name} at {url} "
                   "(Ctrl-C to stop)")

    serve(app, sock, host, open_browser=not no_browser, on_ready=ready)
    click.echo("latentdyn explore: stopped")
