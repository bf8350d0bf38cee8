"""Latent spectral decomposition (paper 004, SPEC §3): quasi-eigenvectors, LSD
coefficients, LSD classification, truncation denoising and latent rotations.

Everything works on *any* model with the encode/decode protocol of SPEC §4 (the GAN
with its encoder, the paper's VAE, a user's module) and on any classifier that offers
``predict_proba(x)``, ``predict(x)`` or returns logits when called, on the images that
``decode`` produces.

The pure functions of tensors come first:

* :func:`quasi_eigenvectors` -- per-class means of latent vectors labelled by C(G(z)),
  orthonormalised (float64, Householder QR with signs fixed so that ξ_i is positively
  aligned with class mean i: classical Gram–Schmidt's result, computed stably) and
  completed to a full orthonormal basis of R^nz;
* :func:`coefficients` / :func:`reconstruct` -- c_i = ⟨z, ξ_i⟩, z = Σ c_i ξ_i / ‖ξ_i‖²;
* :func:`lsd_classify`, :func:`label_subspace_fraction`, :func:`true_label_rank`,
  :func:`lsd_statistics` -- argmax |c_i| over all nz coefficients, the abstract's 98 %
  claim, the rank of the true label;
* :func:`truncate` -- keep the k largest |c_i|;
* :func:`rotation`, :func:`rotation_path` -- a true rotation (orthogonal, det +1) in
  the plane of (ξ_i, ξ_j), identity on its orthogonal complement.

Then the few functions that call a model: :func:`collect_latents`,
:func:`basis_from_model`, :func:`denoise_lsd` / :func:`lsd_truncations`,
:func:`read_rotation`, :func:`analyse`. They run batched, without gradients, in eval
mode (restored).

The label-sub-space fraction's shuffled-label null and its centred reading:
:func:`label_subspace_test` (:mod:`~.nulls`).

Modules: :mod:`~.basis`, :mod:`~.coefficients`, :mod:`~.rotations`, :mod:`~.model`,
:mod:`~.nulls`.
"""

from latentdyn.analysis.lsd.basis import (
    QuasiEigenbasis,
    first_per_class,
    load_basis,
    orthonormal_completion,
    quasi_eigenvectors,
    save_basis,
)
from latentdyn.analysis.lsd.coefficients import (
    LSDClassification,
    coefficients,
    label_subspace_fraction,
    lsd_classify,
    lsd_statistics,
    reconstruct,
    true_label_rank,
    truncate,
)
from latentdyn.analysis.lsd.model import (
    DEFAULT_KS,
    SOURCE_ENCODER,
    SOURCE_PRIOR,
    LabelledLatents,
    analyse,
    basis_from_latents,
    basis_from_model,
    collect_latents,
    concept_comparison,
    denoise_lsd,
    lsd_truncations,
)
from latentdyn.analysis.lsd.nulls import (
    LabelSpace,
    LabelSubspaceTest,
    label_space,
    label_subspace_test,
)
from latentdyn.analysis.lsd.rotations import (
    RotationPath,
    RotationReading,
    read_rotation,
    rotate_digits,
    rotation,
    rotation_path,
)

__all__ = [
    "DEFAULT_KS", "SOURCE_ENCODER", "SOURCE_PRIOR", "LSDClassification", "LabelSpace",
    "LabelSubspaceTest", "LabelledLatents", "QuasiEigenbasis", "RotationPath",
    "RotationReading", "basis_from_latents", "basis_from_model", "coefficients", "collect_latents",
    "concept_comparison", "denoise_lsd", "first_per_class",
    "analyse", "label_space", "label_subspace_fraction", "label_subspace_test",
    "load_basis", "lsd_classify",
    "lsd_statistics",
    "lsd_truncations", "orthonormal_completion",
    "quasi_eigenvectors", "read_rotation", "reconstruct", "rotate_digits", "rotation",
    "rotation_path", "save_basis", "true_label_rank", "truncate",
]
