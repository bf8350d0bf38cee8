"""The stages of the denoising comparison, in order, for every training seed of
``--seeds``:

1. the networks (:func:`.models.networks`): given, or trained into ``<out>/runs``
   (``runs/seed<s>`` for a further seed), unless ``--given-only``;
2. :func:`denoisers` -- the methods of every family the networks allow, in the order
   (a) VAE repeated inference, (b) LSD truncation in the GAN, (c) LSD truncation in
   the VAE, (e) GAN+encoder repeated inference; the LSD bases are the given ones or
   built here from the training images and prior samples labelled by the classifier;
   a family whose network is missing is skipped, with the reason (:class:`Denoisers`);
3. :func:`comparison` -- every method on the same corrupted copies of the first
   ``n_test`` test images (:func:`latentdyn.analysis.denoising.compare_denoising`;
   the corrupted input itself is family (d)), with example images (:class:`Comparison`).

One seed's results are a :class:`SeedResults`, the study's a :class:`Results`.
Nothing is written to the output but the runs trained; the files come from
:func:`.report.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from latentdyn.analysis.denoising import Method
from latentdyn.studies.common import PerSeed
from latentdyn.studies.denoise.models import Given, Networks, networks

if TYPE_CHECKING:
    from latentdyn.studies.denoise import Setup
    from latentdyn.studies.lifecycle import Run


@dataclass
class Denoisers:
    """The methods by family, the families skipped (family -> why, in the order they
    were found) and the LSD bases built here (``gan`` / ``vae`` -> basis)."""

    methods: dict[str, Method]
    skipped: dict[str, str] = field(default_factory=dict)
    built_bases: dict[str, Any] = field(default_factory=dict)


@dataclass
class Comparison:
    """The comparison's rows (:data:`~latentdyn.analysis.denoising.COLUMNS`), the
    example images per (noise, level), the number of test images and the image shape
    SSIM and the examples use (``None``: no SSIM, no examples)."""

    rows: list[dict]
    examples: dict
    n_test: int
    image_shape: tuple | None
    scores: dict = field(default_factory=dict)  # per-image scores behind each row (paired)


@dataclass
class SeedResults:
    """What every stage returned for one set of networks (training seed ``seed``)."""

    seed: int
    nets: Networks
    denoisers: Denoisers
    comparison: Comparison

    @property
    def rows(self) -> list[dict]:
        return self.comparison.rows

    @property
    def skipped(self) -> dict[str, str]:
        return self.denoisers.skipped


class Results(PerSeed[SeedResults]):
    """The results of every training seed; the first is the one the report shows."""


def stages(run: "Run", setup: "Setup") -> Results:
    """Every seed's stages: the first with the given networks and bases and its runs
    in ``<out>/runs``, each further seed ``s`` training its own in ``runs/seed<s>``
    (its stages named ``seed <s>: …``)."""
    out = []
    for i, seed in enumerate(setup.seeds):
        main = i == 0
        runs = run.folder / "runs" if main else run.folder / "runs" / f"seed{seed}"
        out.append(one_seed(run, setup, seed, setup.given if main else Given(), runs,
                            "" if main else f"seed {seed}: "))
    return Results(out)


def one_seed(run: "Run", setup: "Setup", seed: int, given: Given, runs,
             prefix: str = "") -> SeedResults:
    """The networks, the denoisers and the comparison of one seed."""
    s = setup.comparison
    nets = networks(run, setup.profile, setup.data, setup.params.data_dir, seed, setup.device,
                    given, setup.params.given_only, runs, prefix)
    with run.stage(f"{prefix}denoisers", f"{prefix}denoisers: the methods of every family, "
                                         "LSD bases"):
        den = denoisers(nets, given.bases, s, setup.data, seed, setup.params.gan_inference,
                        run.progress)
    with run.stage(f"{prefix}comparison",
                   f"{prefix}comparison: every method on the same corrupted images"):
        comp = comparison(den, nets.classifier, s, setup.data, seed, setup.params.batch_size,
                          run.progress)
    return SeedResults(seed, nets, den, comp)


def image_shape(data) -> tuple | None:
    """(H, W) of the data set's images when SSIM's 7×7 window fits, else ``None``."""
    shape = tuple(data.image_shape[-2:]) if len(data.image_shape) >= 2 else None
    if shape is not None and min(shape) < 7:
        return None
    return shape


def denoisers(nets: Networks, bases: dict, s: dict, data, seed: int, gan_inference: bool,
              progress: bool) -> Denoisers:
    """The methods of every family ``nets`` allow (see the module doc). ``bases``:
    the given LSD bases (``gan`` / ``vae`` -> basis); ``s``: the resolved settings."""
    from latentdyn.analysis.denoising import lsd_method, repeated_inference_method

    vae, gan, classifier = nets.vae, nets.gan, nets.classifier
    den = Denoisers(methods={})
    if vae is not None:
        den.methods["vae-inference"] = repeated_inference_method(vae, s["steps"],
                                                                 "vae-inference")
    else:
        den.skipped["vae-inference"] = "no --vae run given"
        den.skipped["lsd-vae"] = "no --vae run given"
    if gan is None:
        den.skipped["lsd-gan"] = "no --gan run given"
        if gan_inference:
            den.skipped["gan-inference"] = "no --gan run given"
    for tag, model in (("gan", gan), ("vae", vae)):
        if model is None:
            continue
        if classifier is None and bases.get(tag) is None:
            den.skipped[f"lsd-{tag}"] = ("no --classifier run given: the quasi-eigenvectors "
                                         "need classifier labels of decoded latents")
            continue
        basis = bases.get(tag)
        if basis is None:
            basis = den.built_bases[tag] = _built_basis(model, classifier, s, data, seed,
                                                        progress)
        ks = [k for k in s["ks"] if k <= basis.nz]
        den.methods[f"lsd-{tag}"] = lsd_method(model, basis, ks, f"lsd-{tag}")
    if gan is not None and gan_inference:
        den.methods["gan-inference"] = repeated_inference_method(gan, s["steps"],
                                                                 "gan-inference")
    if classifier is None:
        den.skipped["accuracy"] = "no --classifier run given: classifier accuracy not measured"
    return den


def _built_basis(model, classifier, s: dict, data, seed: int, progress: bool):
    """The quasi-eigenvectors of ``model`` from the training images (the first
    ``basis_images``) and ``n_prior`` prior samples."""
    from latentdyn.analysis.lsd import basis_from_model

    train = (data.train_images if s["basis_images"] is None
             else data.train_images[:int(s["basis_images"])])
    return basis_from_model(model, classifier, train, int(s["n_prior"]),
                            num_classes=max(data.num_classes, 1),
                            max_per_class=int(s["max_per_class"]), batch_size=1000,
                            generator=seed, progress=progress)


def comparison(den: Denoisers, classifier: Any, s: dict, data, seed: int, batch_size: int,
               progress: bool) -> Comparison:
    """Every method of ``den`` on the same corrupted copies of the first ``n_test``
    test images, scored by ``classifier`` accuracy (when given), PSNR and SSIM."""
    from latentdyn.analysis.denoising import compare_denoising

    n_test = min(int(s["n_test"]), len(data.test_labels))
    clean, labels = data.test_images[:n_test], data.test_labels[:n_test]
    shape = image_shape(data)
    examples: dict = {}
    scores: dict = {}
    rows = compare_denoising(den.methods, classifier, clean,
                             labels if classifier is not None else None, s["noises"],
                             s["levels"], seed=seed, batch_size=batch_size, image_shape=shape,
                             examples=examples, n_examples=int(s["examples"]) if shape else 0,
                             scores=scores, progress=progress)
    return Comparison(rows=rows, examples=examples, n_test=n_test, image_shape=shape,
                      scores=scores)
