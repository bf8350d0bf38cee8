"""Stages 2 and 3: the denoisers, then the comparison.

2. :func:`denoisers` -- the methods of every family the networks allow, in the order
   (a) VAE repeated inference, (b) LSD truncation in the GAN, (c) LSD truncation in
   the VAE, (e) GAN+encoder repeated inference; the LSD bases are the given ones or
   built here from the training images and prior samples labelled by the classifier
   (written as ``basis-gan.safetensors`` / ``basis-vae.safetensors``); a family whose
   network is missing is skipped, with the reason (:class:`Denoisers`);
3. :func:`comparison` -- every method on the same corrupted copies of the first
   ``n_test`` test images (:func:`latentdyn.analysis.denoising.compare_denoising`;
   the corrupted input itself is family (d)), with example images (:class:`Comparison`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentdyn.analysis.denoising import Method
from latentdyn.studies.denoise.models import Networks


@dataclass
class Denoisers:
    """The methods by family, the families skipped (family -> why, in the order they
    were found) and the LSD bases written here (``basis_gan`` / ``basis_vae`` -> file)."""

    methods: dict[str, Method]
    skipped: dict[str, str] = field(default_factory=dict)
    basis_files: dict[str, Path] = field(default_factory=dict)


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


def image_shape(data) -> tuple | None:
    """(H, W) of the data set's images when SSIM's 7×7 window fits, else ``None``."""
    shape = tuple(data.image_shape[-2:]) if len(data.image_shape) >= 2 else None
    if shape is not None and min(shape) < 7:
        return None
    return shape


def denoisers(nets: Networks, bases: dict, s: dict, data, seed: int, out: Path,
              gan_inference: bool, progress: bool) -> Denoisers:
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
            basis = _built_basis(model, classifier, tag, s, data, seed, out, progress, den)
        ks = [k for k in s["ks"] if k <= basis.nz]
        den.methods[f"lsd-{tag}"] = lsd_method(model, basis, ks, f"lsd-{tag}")
    if gan is not None and gan_inference:
        den.methods["gan-inference"] = repeated_inference_method(gan, s["steps"],
                                                                 "gan-inference")
    if classifier is None:
        den.skipped["accuracy"] = "no --classifier run given: classifier accuracy not measured"
    return den


def _built_basis(model, classifier, tag: str, s: dict, data, seed: int, out: Path,
                 progress: bool, den: Denoisers):
    """The quasi-eigenvectors of ``model`` from the training images (the first
    ``basis_images``) and ``n_prior`` prior samples, written to ``basis-<tag>``."""
    from latentdyn.analysis.lsd import basis_from_model, save_basis

    train = (data.train_images if s["basis_images"] is None
             else data.train_images[:int(s["basis_images"])])
    basis = basis_from_model(model, classifier, train, int(s["n_prior"]),
                             num_classes=max(data.num_classes, 1),
                             max_per_class=int(s["max_per_class"]), batch_size=1000,
                             generator=seed, progress=progress)
    path = out / f"basis-{tag}.safetensors"
    save_basis(path, basis, {"model": tag})
    den.basis_files[f"basis_{tag}"] = path
    return basis


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
