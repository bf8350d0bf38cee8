"""Latent spectral decomposition (paper 004): basis, coefficients, classification,
truncation, rotations, on tensors with known answers and a toy encode/decode model."""

import json
import math

import pytest
import torch
from torch import nn

from latentdyn.errors import ConfigError
from latentdyn.models.inference import predict_labels, predict_proba
from latentdyn.analysis.lsd import (
    analyse,
    coefficients,
    collect_latents,
    denoise_lsd,
    first_per_class,
    label_subspace_fraction,
    load_basis,
    lsd_classify,
    lsd_statistics,
    lsd_truncations,
    orthonormal_completion,
    quasi_eigenvectors,
    reconstruct,
    rotate_digits,
    rotation,
    rotation_path,
    save_basis,
    true_label_rank,
    truncate,
)

torch.set_num_threads(1)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def eye(n):
    return torch.eye(n, dtype=torch.float64)


def random_basis(k=4, nz=9, seed=0):
    means = torch.randn(k, nz, generator=gen(seed), dtype=torch.float64) + 0.5
    return quasi_eigenvectors(means, torch.arange(k), num_classes=k)


# ------------------------------------------------------------------------------ toy model
class ToyModel(nn.Module):
    """encode(x) = x Q, decode(z) = z Qᵀ with Q orthogonal (D = nz): the class of an
    image is planted as a large value on one of its first K pixels."""

    def __init__(self, nz=12, seed=0):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(nz, nz, generator=gen(seed)))
        self.q = nn.Parameter(q, requires_grad=False)
        self.nz = nz

    def encode(self, x):
        return x @ self.q, torch.zeros(x.shape[0], self.nz)

    def decode(self, z):
        return z @ self.q.T


class ArgmaxClassifier:
    """Reads the class as the argmax over the first K pixels."""

    def __init__(self, k):
        self.k = k

    def predict_proba(self, x):
        return torch.softmax(4 * x[:, : self.k], 1)


def planted(n_per=30, k=4, nz=12, amp=3.0, noise=0.3, seed=0):
    labels = torch.arange(k).repeat_interleave(n_per)
    x = noise * torch.randn(len(labels), nz, generator=gen(seed))
    x[torch.arange(len(labels)), labels] += amp
    return x, labels


# ------------------------------------------------------------------------------- basis
def test_basis_orthonormal_full_and_aligned_with_class_means():
    k, nz = 4, 9
    means = torch.randn(k, nz, generator=gen(1), dtype=torch.float64) + 0.5
    b = quasi_eigenvectors(means, torch.arange(k), num_classes=k)
    assert b.vectors.shape == (nz, nz) and b.vectors.dtype == torch.float64
    assert torch.allclose(b.vectors @ b.vectors.T, eye(nz), atol=1e-13)
    assert torch.allclose(b.class_means, means)
    # classical Gram–Schmidt, done naively, gives the same first K vectors
    gs = []
    for m in means:
        v = m.clone()
        for u in gs:
            v = v - (v @ u) * u
        gs.append(v / v.norm())
    assert torch.allclose(b.vectors[:k], torch.stack(gs), atol=1e-12)
    for i in range(k):
        assert float(b.vectors[i] @ means[i]) > 0
        # ξ_i lies in span(m_0..m_i)
        span = means[: i + 1].T
        coef = torch.linalg.lstsq(span, b.vectors[i][:, None]).solution
        assert torch.allclose(span @ coef, b.vectors[i][:, None], atol=1e-12)
    assert b.num_label == k and b.vector_labels.tolist() == [0, 1, 2, 3] + [-1] * (nz - k)


def test_basis_from_labelled_latents_means_and_cap():
    z = torch.tensor([[1.0, 0, 0], [3.0, 0, 0], [100.0, 0, 0], [0, 2.0, 0], [0, 4.0, 1.0]])
    cls = torch.tensor([0, 0, 0, 1, 1])
    b = quasi_eigenvectors(z, cls, num_classes=3, max_per_class=2)
    assert b.classes.tolist() == [0, 1] and b.counts.tolist() == [2, 2]
    assert torch.allclose(b.class_means, torch.tensor([[2.0, 0, 0], [0, 3.0, 0.5]],
                                                      dtype=torch.float64))
    assert b.missing_classes == [2]
    assert torch.allclose(b.vectors @ b.vectors.T, eye(3), atol=1e-14)
    with pytest.raises(ConfigError, match="no latent vectors"):
        quasi_eigenvectors(z, cls, num_classes=3, require_all=True)


def test_first_per_class():
    assert first_per_class(torch.tensor([2, 0, 2, 2, 0, 1]), 2).tolist() == \
        [True, True, True, False, True, True]


def test_completion_deterministic_and_dependent_means_rejected():
    means = torch.randn(3, 6, generator=gen(2), dtype=torch.float64)
    a, b = orthonormal_completion(means), orthonormal_completion(means.clone())
    assert torch.equal(a, b)
    bad = torch.stack([means[0], means[1], means[0] + 2 * means[1]])
    with pytest.raises(ConfigError, match="linear"):
        orthonormal_completion(bad)
    with pytest.raises(ConfigError, match="nz >="):
        orthonormal_completion(torch.randn(5, 3))


def test_ill_conditioned_means_stay_orthonormal():
    base = torch.randn(1, 50, generator=gen(3), dtype=torch.float64)
    means = base + 1e-6 * torch.randn(10, 50, generator=gen(4), dtype=torch.float64)
    v = orthonormal_completion(means)
    assert torch.allclose(v @ v.T, eye(50), atol=1e-12)


# ------------------------------------------------------------------------ coefficients
def test_coefficients_reconstruct_z_exactly():
    b = random_basis()
    z = torch.randn(20, b.nz, generator=gen(5), dtype=torch.float64)
    c = coefficients(z, b)
    assert torch.allclose(c[:, 0], z @ b.vectors[0])
    assert (reconstruct(c, b) - z).abs().max() < 1e-12
    z32 = z.float()
    assert (reconstruct(coefficients(z32, b), b) - z32).abs().max() < 1e-5


def test_reconstruct_divides_by_squared_norms():
    v = torch.diag(torch.tensor([2.0, 0.5, 3.0], dtype=torch.float64)) @ \
        torch.linalg.qr(torch.randn(3, 3, generator=gen(6), dtype=torch.float64))[0].T
    z = torch.randn(4, 3, generator=gen(7), dtype=torch.float64)
    assert (reconstruct(coefficients(z, v), v) - z).abs().max() < 1e-12


def test_classification_fraction_and_rank():
    c = torch.tensor([[0.1, -5.0, 2.0, 0.3], [0.0, 1.0, 0.5, -3.0], [4.0, 0.0, 0.0, 1.0]])
    cls = lsd_classify(c, 2)
    assert cls.index.tolist() == [1, 3, 0]
    assert cls.in_label.tolist() == [True, False, True]
    assert cls.label.tolist() == [1, -1, 0]
    assert label_subspace_fraction(c, 2) == pytest.approx(2 / 3)
    assert true_label_rank(c, torch.tensor([1, 0, 1]), 2).tolist() == [1, 4, 3]
    stats = lsd_statistics(c, torch.tensor([1, 0, 1]), 2)
    assert stats["lsd_accuracy"] == pytest.approx(1 / 3)
    assert stats["rank_counts"] == {1: 1, 3: 1, 4: 1}
    assert stats["top_k_accuracy"][3] == pytest.approx(2 / 3)


def test_truncate_keeps_largest_magnitudes():
    c = torch.tensor([[0.1, -5.0, 2.0, 0.3], [1.0, 2.0, 3.0, 4.0]])
    assert truncate(c, 2).tolist() == [[0.0, -5.0, 2.0, 0.0], [0.0, 0.0, 3.0, 4.0]]
    assert torch.equal(truncate(c, 4), c)
    with pytest.raises(ConfigError):
        truncate(c, 0)


# -------------------------------------------------------------------------- rotations
@pytest.mark.parametrize("i,j", [(0, 1), (3, 1), (2, 7)])
def test_rotation_is_a_true_rotation_mapping_xi_i_to_xi_j(i, j):
    b = random_basis()
    v = b.vectors
    r = rotation(b, i, j, math.pi / 2)
    assert torch.allclose(r @ r.T, eye(b.nz), atol=1e-14)
    assert float(torch.linalg.det(r)) == pytest.approx(1.0, abs=1e-12)
    assert (r @ v[i] - v[j]).abs().max() < 1e-15
    assert (r @ v[j] + v[i]).abs().max() < 1e-15
    for m in range(b.nz):
        if m not in (i, j):
            assert (r @ v[m] - v[m]).abs().max() < 1e-14  # complement fixed
    theta = 0.3
    rt = rotation(b, i, j, theta)
    assert torch.allclose(rt @ v[i], math.cos(theta) * v[i] + math.sin(theta) * v[j], atol=1e-14)
    assert torch.allclose(rotation(b, i, j, 0.0), eye(b.nz))
    # composition: two quarter-steps make the half-step
    assert torch.allclose(rotation(b, i, j, 0.2) @ rotation(b, i, j, 0.5),
                          rotation(b, i, j, 0.7), atol=1e-14)


def test_rotation_of_raw_vectors_is_orthogonal():
    m = torch.randn(3, 6, generator=gen(8), dtype=torch.float64)
    r = rotation(m, 0, 2, 1.1)
    assert torch.allclose(r @ r.T, eye(6), atol=1e-13)
    assert float(torch.linalg.det(r)) == pytest.approx(1.0)
    u = m[0] / m[0].norm()
    w = m[2] - (m[2] @ u) * u
    assert torch.allclose(rotation(m, 0, 2, math.pi / 2) @ u, w / w.norm(), atol=1e-13)
    with pytest.raises(ConfigError):
        rotation(m, 1, 1, 0.5)


def test_rotation_path_steps_from_xi_i_to_xi_j():
    b = random_basis()
    z = torch.stack([b.vectors[1] * 2.0, b.vectors[1] + b.vectors[5]])
    path = rotation_path(z, b, 1, 3, steps=4)
    assert path.z.shape == (2, 5, b.nz)
    assert torch.allclose(path.angles, torch.linspace(0, math.pi / 2, 5, dtype=torch.float64))
    assert torch.allclose(path.z[:, 0], z)
    assert (path.z[0, -1] - 2.0 * b.vectors[3]).abs().max() < 1e-14
    assert (path.z[1, -1] - (b.vectors[3] + b.vectors[5])).abs().max() < 1e-14
    norms = path.z.norm(dim=-1)
    assert torch.allclose(norms, norms[:, :1].expand_as(norms))


# --------------------------------------------------------------------- with a model
def test_collect_latents_encoder_first_then_prior_and_capped():
    model, clf = ToyModel(), ArgmaxClassifier(4)
    x, labels = planted(n_per=10)
    lat = collect_latents(model, clf, x[:25], n_prior=400, num_classes=4, max_per_class=8,
                          batch_size=16, generator=0)
    assert lat.counts() == [8, 8, 8, 8]
    first_prior = int((lat.source == 1).nonzero()[0])
    assert bool((lat.source[:first_prior] == 0).all())
    assert bool((lat.source[first_prior:] == 1).all())
    # the first 25 images are labels 0,0,..,1,..,2(5): encoder fills 0 and 1 (8 each) and 5 of 2
    assert int((lat.source == 0).sum()) == 8 + 8 + 5
    assert lat.prior_drawn <= 400
    again = collect_latents(model, clf, x[:25], n_prior=400, num_classes=4, max_per_class=8,
                            batch_size=16, generator=0)
    assert torch.equal(lat.z, again.z)


def test_lsd_recovers_planted_labels():
    model, clf = ToyModel(), ArgmaxClassifier(4)
    x, labels = planted(n_per=40)
    xt, lt = planted(n_per=25, seed=9)
    basis, summary = analyse(model, clf, x, xt, lt, labels, n_prior=200, max_per_class=60,
                             num_classes=4, batch_size=64)
    # the planted directions are the class directions: ξ_k ≈ Qᵀ e_k
    for k in range(4):
        assert float(basis.vectors[k] @ model.q[k].double()) > 0.95
    t = summary["test"]
    assert t["label_subspace_fraction"] == 1.0 and t["lsd_accuracy"] == 1.0
    assert t["mean_rank"] == 1.0
    assert summary["concepts"]["mean_matched_cos_quasi_eigenvectors"] > 0.95
    assert summary["gram"]["basis_max_deviation_from_identity"] < 1e-12
    json.dumps(summary)  # JSON-able


def test_denoise_lsd_and_rotation_reading():
    model, clf = ToyModel(), ArgmaxClassifier(4)
    x, labels = planted(n_per=40)
    basis = quasi_eigenvectors(model.encode(x)[0], labels, num_classes=4)
    xt, lt = planted(n_per=5, seed=3, noise=0.5)
    out = lsd_truncations(model, basis, xt, (1, 12))
    assert torch.allclose(out[12], xt, atol=1e-5)  # all coefficients: exact
    # k = 1 keeps only the label direction: the pixels off the first K nearly vanish
    assert out[1][:, 4:].abs().max() < xt[:, 4:].abs().max()
    assert torch.equal(predict_labels(clf, out[1]), lt)
    assert torch.allclose(denoise_lsd(model, basis, xt, 1), out[1])
    reading = rotate_digits(model, clf, basis, xt[lt == 0], 0, 2, steps=6)
    assert reading.labels.shape == (5, 7)
    assert bool((reading.labels[:, 0] == 0).all()) and bool((reading.labels[:, -1] == 2).all())
    assert float(reading.fraction(2)[-1]) == 1.0
    assert bool((reading.prob_j[:, -1] > reading.prob_j[:, 0]).all())


def test_classifier_adapters():
    x = torch.tensor([[0.1, 0.9], [0.8, 0.2]])

    class OnlyPredict:
        def predict(self, x):
            return x.argmax(1)

    logits = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        logits.weight.copy_(torch.eye(2))
    assert predict_labels(OnlyPredict(), x).tolist() == [1, 0]
    assert predict_labels(logits, x).tolist() == [1, 0]
    assert torch.allclose(predict_proba(logits, x).sum(1), torch.ones(2))
    assert predict_proba(OnlyPredict(), x).tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_save_and_load_basis(tmp_path):
    b = random_basis()
    path = save_basis(tmp_path / "basis.safetensors", b, {"model": "toy"})
    back = load_basis(tmp_path)
    assert torch.equal(back.vectors, b.vectors) and torch.equal(back.classes, b.classes)
    assert back.num_classes == b.num_classes and back.meta["model"] == "toy"
    assert path.is_file()


# ----------------------------------------------------------------------------- the CLI
def test_lsd_cli_end_to_end(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from latentdyn.cli import main
    from latentdyn.data.base import make_dataset
    from latentdyn.studies.models import GivenModel

    x, labels = planted(n_per=30)
    xt, lt = planted(n_per=10, seed=4)
    ds = make_dataset("toy", (x.numpy().clip(0, 1), labels.numpy()),
                      (xt.numpy().clip(0, 1), lt.numpy()), (12,), num_classes=4)
    runs = {"m": ToyModel(), "c": ArgmaxClassifier(4)}
    monkeypatch.setattr("latentdyn.studies.models.given_model",
                        lambda path, device, *kind, **source:
                        GivenModel(runs[str(path)[-1]],
                                   SimpleNamespace(dataset="toy", data_dir=None), str(path)))
    monkeypatch.setattr("latentdyn.data.load_dataset", lambda name, data_dir=None: ds)
    out = tmp_path / "lsd"
    rc = main(["lsd", "--model", str(tmp_path / "m"), "--classifier", str(tmp_path / "c"),
               "--out", str(out), "--prior-samples", "100", "--max-per-class", "50",
               "--no-progress"])
    assert rc == 0
    summary = json.loads((out / "lsd.json").read_text())
    assert summary["test"]["lsd_accuracy"] == 1.0
    assert summary["test"]["label_subspace_fraction"] == 1.0
    assert load_basis(out / "basis.safetensors").nz == 12
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["kind"] == "lsd"


# ------------------------------------------- the label-sub-space fraction's null (issue 11)
def _latents(n_per, k, nz, scale, offset, seed):
    """Latents of k classes (class means ``scale`` × N(0, I)) around a shared ``offset``,
    and the same for a test set."""
    g = gen(seed)
    means = scale * torch.randn(k, nz, generator=g)
    lab = torch.arange(n_per * k) % k
    z = means[lab] + torch.randn(n_per * k, nz, generator=g) + offset
    lab_t = torch.arange(200) % k
    zt = means[lab_t] + torch.randn(200, nz, generator=g) + offset
    return z, lab, zt


def test_centred_label_space_has_k_minus_1_dims_and_is_orthonormal():
    from latentdyn.analysis.lsd import label_space

    z, lab, _ = _latents(50, 4, 12, 2.0, 3.0, 0)
    paper, centred = label_space(z, lab), label_space(z, lab, centre=True)
    assert (paper.dim, centred.dim) == (4, 3)
    for space in (paper, centred):
        assert torch.allclose(space.vectors @ space.vectors.T, torch.eye(12, dtype=torch.float64),
                              atol=1e-12)
    assert paper.offset.abs().max() == 0
    # the offset of the centred reading is the mean of the class means
    means = torch.stack([z[lab == k].double().mean(0) for k in range(4)])
    assert torch.allclose(centred.offset, means.mean(0))
    # the paper's reading reproduces quasi_eigenvectors' basis exactly
    assert torch.equal(paper.vectors, quasi_eigenvectors(z, lab, 4).vectors)


def test_label_subspace_null_matches_the_fraction_when_labels_carry_no_information():
    """Shuffled labels give the null; labels that carry no information give about the
    same fraction -- and a shared mean makes both ≈ 1 in the paper's reading, the
    artefact of issue 11."""
    from latentdyn.analysis.lsd import label_subspace_test

    z, _, zt = _latents(60, 4, 20, 0.0, 3.0, 1)  # no class structure, a shared mean
    lab = torch.randint(0, 4, (z.shape[0],), generator=gen(2))
    paper = label_subspace_test(z, lab, zt, n_permutations=40, seed=3)
    assert paper.fraction > 0.95 and paper.null.mean > 0.95  # the artefact
    assert paper.margin < 0.05  # ... which the null exposes
    centred = label_subspace_test(z, lab, zt, reading="centred", n_permutations=40, seed=3)
    assert centred.dim == 3 and centred.fraction < 0.5
    assert abs(centred.fraction - centred.null.mean) < 0.1
    assert centred.null.p_value(centred.fraction) > 0.05
    assert centred.summary()["null_permutations"] == 40


def test_label_subspace_test_shows_a_clear_margin_when_labels_carry_information():
    from latentdyn.analysis.lsd import label_subspace_test

    z, lab, zt = _latents(100, 4, 20, 0.5, 3.0, 4)  # modest class structure, shared mean
    centred = label_subspace_test(z, lab, zt, reading="centred", n_permutations=40, seed=5)
    assert centred.margin > 0.1 and centred.null.p_value(centred.fraction) < 0.05
    # deterministic
    again = label_subspace_test(z, lab, zt, reading="centred", n_permutations=40, seed=5)
    assert again.fraction == centred.fraction
    assert again.null.samples.tolist() == centred.null.samples.tolist()
    with pytest.raises(ConfigError, match="reading"):
        label_subspace_test(z, lab, zt, reading="sideways")
    with pytest.raises(ConfigError, match="units"):
        label_subspace_test(z, lab, zt[:, :5])


def test_basis_from_latents_is_basis_from_model():
    from latentdyn.analysis.lsd import basis_from_latents, basis_from_model

    model, clf = ToyModel(), ArgmaxClassifier(4)
    x, _ = planted(n_per=5)
    lat = collect_latents(model, clf, x, 50, num_classes=4, max_per_class=10, generator=1)
    a = basis_from_latents(lat, 10)
    b = basis_from_model(model, clf, x, 50, num_classes=4, max_per_class=10, generator=1)
    assert torch.equal(a.vectors, b.vectors) and a.meta == b.meta
