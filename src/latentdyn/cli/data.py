"""``latentdyn data``: list, describe and download data sets."""

from __future__ import annotations

import json

import click

from latentdyn import data as data_api

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of downloaded data sets (default: $LATENTDYN_DATA, else "
    "$XDG_CACHE_HOME/latentdyn or ~/.cache/latentdyn).",
)


@click.group("data")
def data() -> None:
    """List, inspect and download data sets.

    Data sets: mnist-embedded (default, ships with latentdyn), mnist, fashion-mnist,
    digits, synthetic[:k=..,m=..,side=..,seed=..], npz:PATH.
    """


@data.command("list")
@_DATA_DIR
def list_cmd(data_dir: str | None) -> None:
    """Show every data set, whether it is usable now, and where it is or how to get it."""
    rows = data_api.list_datasets(data_dir)
    width = max(len(r["name"]) for r in rows)
    click.echo(f"{'name':<{width}}  present  where / how to get")
    for r in rows:
        present = "yes" if r["available"] else "no"
        click.echo(f"{r['name']:<{width}}  {present:<7}  {r['where']}")
        click.echo(f"{'':<{width}}           {r['description']}")


@data.command("info")
@click.argument("name")
@_DATA_DIR
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def info_cmd(name: str, data_dir: str | None, as_json: bool) -> None:
    """Load data set NAME and show its counts, image shape, label balance, checksums,
    file locations and licence."""
    d = data_api.describe(name, data_dir)
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    click.echo(f"name:        {d['name']}")
    click.echo(f"source:      {d['source']}")
    click.echo(f"licence:     {d['license']}")
    click.echo(f"where:       {d['where']}")
    click.echo(f"train/test:  {d['train']} / {d['test']}")
    shape = "x".join(map(str, d["image_shape"]))
    click.echo(f"image shape: {shape} (dim {d['dim']}), values in "
               f"[{d['value_range'][0]:g}, {d['value_range'][1]:g}]")
    present = d.get("labels_present", d["num_classes"])
    note = f" ({present} distinct labels occur)" if present != d["num_classes"] else ""
    click.echo(f"classes:     {d['num_classes']}{note}")
    for split in ("train", "test"):
        counts = " ".join(f"{c}:{n}" for c, n in d["label_balance"][split].items())
        click.echo(f"  {split + ' labels:':<13} {counts}")
    click.echo("checksums:")
    width = max(map(len, d["checksums"]))
    for fname, digest in d["checksums"].items():
        path = d["files"].get(fname)
        click.echo(f"  {fname:<{width}}  {digest}" + (f"  ({path})" if path else ""))


@data.command("download")
@click.argument("name")
@_DATA_DIR
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def download_cmd(name: str, data_dir: str | None, quiet: bool) -> None:
    """Download NAME (mnist or fashion-mnist) into the data folder, checking md5 sums.

    Files already present and intact are kept. Offline, place the four .gz files in
    <data-dir>/NAME/ by hand instead.
    """
    where = data_api.download(name, data_dir, progress=not quiet)
    click.echo(f"{name}: ready in {where}")
