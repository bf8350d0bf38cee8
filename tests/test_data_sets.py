"""Named data sets: embedded MNIST, mnist/fashion-mnist lookup, npz, digits, synthetic."""

import dataclasses
import hashlib
import re
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from latentdyn.data import (
    Dataset,
    dataset_names,
    describe,
    list_datasets,
    load_dataset,
    resolve_data_dir,
)
from latentdyn.data import mnist
from latentdyn.data.idx import encode_idx
from latentdyn.errors import DataError


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No network, and a data folder of our own."""

    def no_network(*args, **kwargs):
        raise AssertionError("tests must not touch the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("LATENTDYN_DATA", str(tmp_path / "data"))


@pytest.fixture(scope="module")
def embedded():
    return load_dataset("mnist-embedded")


def test_embedded(embedded):
    ds = embedded
    assert ds.name == "mnist-embedded" and ds.image_shape == (28, 28) and ds.dim == 784
    assert ds.train_images.shape == (10000, 784) and ds.test_images.shape == (10000, 784)
    assert ds.train_images.dtype == torch.float32 and ds.train_labels.dtype == torch.int64
    assert 0.0 == ds.train_images.min() and ds.train_images.max() == 1.0
    assert ds.num_classes == 10
    assert ds.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first ten
    assert ds.train_labels.bincount().tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070,
                                                   944, 978]
    assert ds.test_labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                  974, 1009]
    assert ds.checksums()["t10k-images-idx3-ubyte.gz"] == "9fb629c4189551a2d022fa330f9573f3"
    assert "CC BY-SA 3.0" in ds.license and "LeCun" in ds.license


def test_embedded_checksums_match_readme():
    readme = (mnist.embedded_dir() / "README.md").read_text()
    table = dict(re.findall(r"\| ([\w-]+)\.gz \|.*\| ([0-9a-f]{32}) \|", readme))
    assert table == mnist.EMBEDDED.gz_md5


def test_embedded_md5_mismatch(tmp_path):
    src = Path(str(mnist.embedded_dir()))
    for stem in mnist.EMBEDDED.files:
        shutil.copy(src / f"{stem}.gz", tmp_path / f"{stem}.gz")
    assert mnist.load_embedded(tmp_path).train_images.shape == (10000, 784)
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[100] ^= 1
    bad.chmod(0o644)
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"mnist-embedded: checksum mismatch .*t10k-labels.*reinst"):
        mnist.load_embedded(tmp_path)
    bad.unlink()
    with pytest.raises(DataError, match="missing"):
        mnist.load_embedded(tmp_path)


# --- mnist / fashion-mnist from a data folder -------------------------------------------

def _fake_set(folder: Path, n=(6, 4), compress=False, side=5):
    """Write four small IDX files named like the real ones; return stem -> content md5."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (n[0], side, side), dtype=np.uint8),
              np.arange(n[0], dtype=np.uint8) % 10,
              rng.integers(0, 256, (n[1], side, side), dtype=np.uint8),
              np.arange(n[1], dtype=np.uint8) % 10]
    md5s = {}
    for stem, a in zip(mnist.STANDARD_FILES, arrays):
        raw = encode_idx(a)
        md5s[stem] = hashlib.md5(raw).hexdigest()
        name = f"{stem}.gz" if compress else stem
        (folder / name).write_bytes(encode_idx(a, compress=True) if compress else raw)
    return md5s


def _trust(monkeypatch, name, raw_md5):
    spec = dataclasses.replace(mnist.IDX_SETS[name], raw_md5=raw_md5)
    monkeypatch.setitem(mnist.IDX_SETS, name, spec)


def test_mnist_missing_names_files_and_places(tmp_path):
    with pytest.raises(DataError) as exc:
        load_dataset("mnist", tmp_path)
    msg = str(exc.value)
    assert "train-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert str(tmp_path / "mnist") in msg and "latentdyn data download mnist" in msg
    _fake_set(tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match=r"mnist: missing t10k-images-idx3-ubyte.gz \(looked"):
        load_dataset("mnist", tmp_path)


@pytest.mark.parametrize("sub", ["mnist", ""])
def test_mnist_from_data_dir(tmp_path, monkeypatch, sub):
    md5s = _fake_set(tmp_path / sub)
    with pytest.raises(DataError, match="checksum mismatch"):  # fakes are not MNIST
        load_dataset("mnist", tmp_path)
    _trust(monkeypatch, "mnist", md5s)
    ds = load_dataset("mnist", tmp_path)
    assert ds.train_images.shape == (6, 25) and ds.test_images.shape == (4, 25)
    assert ds.image_shape == (5, 5) and ds.num_classes == 10
    assert ds.files["train-images-idx3-ubyte"]["md5"] == md5s["train-images-idx3-ubyte"]
    assert ds.files["train-images-idx3-ubyte"]["path"] == str(
        tmp_path / sub / "train-images-idx3-ubyte")


def test_env_var_and_recompressed_gz(tmp_path, monkeypatch):
    root = Path(resolve_data_dir())
    assert root == tmp_path / "data"
    md5s = _fake_set(root / "fashion-mnist", compress=True)
    with pytest.raises(DataError, match=r"fashion-mnist: checksum mismatch.*train-images.*"
                                        r"latentdyn data download fashion-mnist"):
        load_dataset("fashion-mnist")
    _trust(monkeypatch, "fashion-mnist", md5s)  # gz md5 differs, content matches
    ds = load_dataset("fashion-mnist")
    assert ds.train_labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert ds.extra["classes"][0] == "T-shirt/top"


def test_fashion_searches_debian_folder(tmp_path, monkeypatch):
    dirs = mnist.search_dirs(mnist.FASHION, tmp_path)
    assert dirs == [tmp_path / "fashion-mnist", tmp_path, Path("/usr/share/datasets/fashion-mnist")]


def test_gz_md5_accepted(tmp_path, monkeypatch):
    _fake_set(tmp_path / "mnist", compress=True)
    gz = {s: hashlib.md5((tmp_path / "mnist" / f"{s}.gz").read_bytes()).hexdigest()
          for s in mnist.STANDARD_FILES}
    spec = dataclasses.replace(mnist.MNIST, gz_md5=gz)
    monkeypatch.setitem(mnist.IDX_SETS, "mnist", spec)
    ds = load_dataset("mnist", tmp_path)
    assert ds.checksums() == {f"{s}.gz": gz[s] for s in mnist.STANDARD_FILES}


def test_mismatched_counts(tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    md5s = _fake_set(folder)
    labels = encode_idx(np.zeros(5, np.uint8))
    (folder / "train-labels-idx1-ubyte").write_bytes(labels)
    md5s["train-labels-idx1-ubyte"] = hashlib.md5(labels).hexdigest()
    _trust(monkeypatch, "mnist", md5s)
    with pytest.raises(DataError, match="has 6 images but train-labels-idx1-ubyte has 5 labels"):
        load_dataset("mnist", tmp_path)


# --- npz ---------------------------------------------------------------------------------

def _npz(tmp_path, **arrays):
    path = tmp_path / "arrays.npz"
    np.savez(path, **arrays)
    return f"npz:{path}"


def test_npz_uint8_and_split(tmp_path):
    x = np.arange(20 * 3 * 4, dtype=np.uint8).reshape(20, 3, 4)
    ds = load_dataset(_npz(tmp_path, images=x, labels=np.arange(20) % 3))
    assert ds.train_images.shape == (18, 12) and ds.test_images.shape == (2, 12)
    assert ds.image_shape == (3, 4) and ds.num_classes == 3
    expected = torch.tensor(x[-1].ravel(), dtype=torch.float32)
    assert torch.allclose(ds.test_images[-1] * 255, expected)
    assert ds.test_labels.tolist() == [0, 1]  # the last 10 % of rows
    assert list(ds.checksums()) == ["arrays.npz"]


def test_npz_explicit_test_and_shape(tmp_path):
    x = np.random.default_rng(0).random((5, 6))
    name = _npz(tmp_path, images=x, labels=np.array([0, 1, 0, 1, 2.0]), test_images=x[:2],
                test_labels=np.array([1, 1]), image_shape=np.array([2, 3]))
    ds = load_dataset(name)
    assert ds.train_images.shape == (5, 6) and ds.test_images.shape == (2, 6)
    assert ds.image_shape == (2, 3) and ds.train_labels.dtype == torch.int64


X = np.zeros((4, 2, 2))
Y = np.array([0, 1, 0, 1])


@pytest.mark.parametrize("arrays, pattern", [
    (dict(labels=Y), "missing key 'images'"),
    (dict(images=X), "missing key 'labels'"),
    (dict(images=np.full((4, 2, 2), np.nan), labels=Y), "NaN"),
    (dict(images=np.full((4, 2), np.inf), labels=Y), "NaN or infinite"),
    (dict(images=X + 2, labels=Y), r"must lie in \[0, 1\]"),
    (dict(images=np.zeros((4, 2, 2, 1, 1)), labels=Y),
     "must be \\(N, H, W\\), \\(N, H, W, C\\) or \\(N, D\\)"),
    (dict(images=np.zeros((4, 3, 5, 5)), labels=Y), "channels first\\? give them last"),
    (dict(images=np.zeros(4), labels=Y), "must be \\(N, H, W\\)"),
    (dict(images=X, labels=Y[:3]), "4 images but 3 labels"),
    (dict(images=X, labels=Y + 0.5), "must be integers"),
    (dict(images=X, labels=Y.reshape(2, 2)), "one-dimensional"),
    (dict(images=X, labels=Y - 1), ">= 0"),
    (dict(images=X.astype(np.int64), labels=Y), "floats in \\[0, 1\\] or uint8"),
    (dict(images=X, labels=Y, test_images=X), "must come together"),
    (dict(images=X, labels=Y, test_images=np.zeros((2, 3)), test_labels=Y[:2]), "rows have shape"),
    (dict(images=X, labels=Y, image_shape=np.array([3, 3])), "image_shape"),
    (dict(images=X[:1], labels=Y[:1]), "at least 2 images"),
])
def test_npz_errors(tmp_path, arrays, pattern):
    with pytest.raises(DataError, match=pattern) as exc:
        load_dataset(_npz(tmp_path, **arrays))
    assert str(exc.value).startswith("arrays.npz: ") and "\n" not in str(exc.value)


def test_npz_unreadable(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="bad.npz: cannot read as .npz"):
        load_dataset(f"npz:{bad}")
    np.save(tmp_path / "plain.npy", X)
    with pytest.raises(DataError, match="not an .npz archive"):
        load_dataset(f"npz:{tmp_path / 'plain.npy'}")
    np.savez(tmp_path / "obj.npz", images=np.array([X, None], dtype=object), labels=Y)
    with pytest.raises(DataError, match="obj.npz: cannot read"):
        load_dataset(f"npz:{tmp_path / 'obj.npz'}")
    with pytest.raises(DataError, match="no such file"):
        load_dataset(f"npz:{tmp_path / 'nope.npz'}")
    good = Path(_npz(tmp_path, images=X, labels=Y)[4:])
    good.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(DataError, match="arrays.npz: cannot read"):
        load_dataset(f"npz:{good}")


# --- digits, synthetic, registry ---------------------------------------------------------

def test_digits():
    ds = load_dataset("digits")
    assert ds.train_images.shape == (1437, 64) and ds.test_images.shape == (360, 64)
    assert ds.image_shape == (8, 8) and ds.num_classes == 10
    assert ds.train_images.min() == 0 and ds.train_images.max() == 1
    assert ds.train_labels[:3].tolist() == [0, 1, 2]
    assert ds.checksums() == load_dataset("digits").checksums()


def test_synthetic_deterministic_with_ground_truth():
    a, b = load_dataset("synthetic"), load_dataset("synthetic")
    assert a.name == "synthetic" and a.checksums() == b.checksums()
    assert torch.equal(a.train_images, b.train_images)
    assert a.train_images.shape == (1000, 64) and a.test_images.shape == (200, 64)
    assert a.train_images.min() >= 0 and a.train_images.max() <= 1
    protos = a.extra["prototypes"]
    assert protos.shape == (10, 64) and torch.equal(a.extra["memory_concepts"], a.train_labels)
    # every memory is nearest to its own concept's prototype
    nearest = torch.cdist(a.train_images, protos).argmin(dim=1)
    assert (nearest == a.train_labels).float().mean() > 0.95
    c = load_dataset("synthetic:seed=1,k=3,m=7,side=6,test=2")
    assert c.name == "synthetic:k=3,m=7,side=6,seed=1,test=2"
    assert c.train_images.shape == (21, 36) and c.test_images.shape == (6, 36)
    assert c.extra["params"]["k"] == 3 and c.num_classes == 3
    assert c.checksums() != load_dataset("synthetic:seed=2,k=3,m=7,side=6,test=2").checksums()
    assert torch.equal(load_dataset(c.name).train_images, c.train_images)


@pytest.mark.parametrize("spec, pattern", [
    ("synthetic:q=1", "bad option 'q=1'"), ("synthetic:k", "bad option"),
    ("synthetic:k=1.5", "k must be int"), ("synthetic:noise=-1", "outside"),
    ("synthetic:noise=nan", "outside"), ("synthetic:k=1000,m=100000", "too large"),
])
def test_synthetic_bad_options(spec, pattern):
    with pytest.raises(DataError, match=pattern):
        load_dataset(spec)


def test_unknown_name_lists_known():
    with pytest.raises(DataError, match=r"unknown data set 'foo'; known: mnist-embedded, mnist, "
                                        r"fashion-mnist, digits, synthetic"):
        load_dataset("foo")
    with pytest.raises(DataError, match="unknown"):
        load_dataset("digits:3")
    assert dataset_names() == ["mnist-embedded", "mnist", "fashion-mnist", "digits", "synthetic"]


def test_resolve_data_dir(monkeypatch, tmp_path):
    assert resolve_data_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("LATENTDYN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resolve_data_dir() == tmp_path / "cache" / "latentdyn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "latentdyn"


def test_list_and_describe(tmp_path, monkeypatch):
    rows = {r["name"]: r for r in list_datasets(tmp_path)}
    assert rows["mnist-embedded"]["available"] and not rows["mnist"]["available"]
    assert "latentdyn data download mnist" in rows["mnist"]["where"]
    _trust(monkeypatch, "mnist", _fake_set(tmp_path / "mnist"))
    rows = {r["name"]: r for r in list_datasets(tmp_path)}
    assert rows["mnist"]["available"] and rows["mnist"]["where"] == str(tmp_path / "mnist")
    d = describe("synthetic:k=2,m=3,test=1")
    assert d["train"] == 6 and d["test"] == 2 and d["image_shape"] == [8, 8]
    assert d["label_balance"] == {"train": {0: 3, 1: 3}, "test": {0: 1, 1: 1}}
    assert list(d["checksums"]) == ["arrays.sha256"] and d["files"] == {}
    d = describe("mnist", tmp_path)
    assert d["where"] == str(tmp_path / "mnist") and len(d["files"]) == 4


def test_dataset_is_plain_dataclass():
    ds = Dataset("t", torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), torch.zeros(1, 3),
                 torch.zeros(1, dtype=torch.long), (3,), 1, {}, "", "", {})
    assert ds.dim == 3 and list(ds.checksums()) == ["arrays.sha256"]
