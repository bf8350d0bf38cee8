"""The files of the comparison, from the stages' results: the LSD bases built
(``basis-gan.safetensors``, ``basis-vae.safetensors``), the table (``denoise.csv`` and
``denoise.md``), the curves of accuracy and PSNR against the noise level
(``figures/denoise_curves.*`` with its data in ``data/``), one example grid per noise
kind at the middle level (returned as :class:`Outputs`), and ``summary.json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from latentdyn.studies.denoise.stages import Comparison, Denoisers


@dataclass
class Outputs:
    """The files written: the table, the curves and the example grids
    (``(noise, level, SavedFigure)`` per noise kind)."""

    csv: Path
    md: Path
    curves: Any  # SavedFigure
    examples: list = field(default_factory=list)

    def files(self) -> dict[str, Path]:
        """Name -> file, as the manifest lists them."""
        files = {"csv": self.csv, "md": self.md, "figure": self.curves.png}
        files.update({f"denoise_examples_{noise}": saved.png
                      for noise, _, saved in self.examples})
        return files


def middle(levels: Sequence[float]) -> float:
    """The level the example grids show: the middle one of the sorted levels."""
    return sorted(levels)[len(levels) // 2]


def setting_text(s: dict, dataset: str, n_test: int, seed: int) -> str:
    """The sentence every figure caption ends with."""
    return (f"{dataset}, {n_test} test images, profile {s['profile']}, seed {seed}; "
            f"repeated-inference steps t ∈ {s['steps']}, LSD k ∈ {s['ks']}.")


def write_bases(out: Path, den: Denoisers) -> dict[str, Path]:
    """The LSD bases built here, ``basis-<tag>.safetensors``: ``basis_<tag>`` -> file."""
    from latentdyn.analysis.lsd import save_basis

    files = {}
    for tag, basis in den.built_bases.items():
        files[f"basis_{tag}"] = save_basis(out / f"basis-{tag}.safetensors", basis,
                                           {"model": tag})
    return files


def write_outputs(out: Path, comp: Comparison, s: dict, dataset: str, seed: int) -> Outputs:
    """The table, the curves and the example grids of ``comp`` in ``out``."""
    from latentdyn.figures.save import save_figure
    from latentdyn.reporting.denoise_tables import write_tables
    from latentdyn.studies.denoise.figures import comparison_figure, examples_figure

    csv_path, md_path = write_tables(comp.rows, out)
    fig_dir, data_dir = out / "figures", out / "data"
    setting = setting_text(s, dataset, comp.n_test, seed)
    curves = save_figure(comparison_figure(comp.rows, caption=(
        "Classifier accuracy and PSNR of the denoised images against the clean ones, by noise "
        f"kind and level. Dotted grey: clean-image accuracy. {setting}")),
        fig_dir, "denoise_curves", data_dir=data_dir)
    result = Outputs(csv=csv_path, md=md_path, curves=curves)
    for (noise, level), ex in comp.examples.items():
        if level != middle(s["levels"]):
            continue
        fig = examples_figure(ex, comp.image_shape, caption=(
            f"The first {next(iter(ex.values())).shape[0]} test images, corrupted with {noise} "
            f"noise at p = {level:g}, and each method's output. {setting}"),
            title=f"{noise}, p = {level:g}")
        saved = save_figure(fig, fig_dir, f"denoise_examples_{noise}", data_dir=data_dir,
                            csv_columns={})
        result.examples.append((noise, level, saved))
    return result


def write_summary(out: Path, s: dict, skipped: dict, rows: list) -> Path:
    """``summary.json``: the settings, the skipped families and the rows."""
    from latentdyn.io import write_json

    path = out / "summary.json"
    write_json(path, {"settings": s, "skipped": skipped, "rows": rows})
    return path
