"""download(): offline, bad checksums, success, all with a fake urlopen (no network)."""

import dataclasses
import gzip
import hashlib
import io
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest

from latentdyn.data import download, load_dataset, mnist
from latentdyn.data.idx import encode_idx
from latentdyn.errors import DataError


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


@pytest.fixture
def calls(monkeypatch):
    """Replace urlopen; tests set ``calls.serve`` to url -> bytes or an exception."""

    class Calls(list):
        serve = staticmethod(lambda url: urllib.error.URLError(socket.gaierror(-2, "offline")))

    log = Calls()

    def fake_urlopen(url, timeout=None):
        log.append(url)
        assert timeout is not None and timeout <= 30
        result = log.serve(url)
        if isinstance(result, Exception):
            raise result
        return FakeResponse(result)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    return log


def _payloads():
    """Gzipped fake IDX files named like MNIST's, and their md5s."""
    arrays = [np.zeros((3, 4, 4), np.uint8), np.array([1, 2, 3], np.uint8),
              np.full((2, 4, 4), 255, np.uint8), np.array([7, 8], np.uint8)]
    files = {f"{s}.gz": encode_idx(a, compress=True) for s, a in zip(mnist.STANDARD_FILES, arrays)}
    md5s = {name[:-3]: hashlib.md5(data).hexdigest() for name, data in files.items()}
    return files, md5s


def test_offline_fails_at_once_and_says_where(tmp_path, calls):
    with pytest.raises(DataError) as exc:
        download("mnist", tmp_path, progress=False)
    msg = str(exc.value)
    assert "offline" in msg and str(tmp_path / "mnist") in msg and "\n" not in msg
    assert "train-images-idx3-ubyte.gz" in msg
    assert len(calls) == 2  # each mirror once for the first file, then give up
    assert calls[0].startswith("https://ossci-datasets.s3.amazonaws.com/mnist/")
    assert not (tmp_path / "mnist").exists() or not any((tmp_path / "mnist").iterdir())


def test_checksum_mismatch_writes_nothing(tmp_path, calls):
    calls.serve = lambda url: gzip.compress(b"not mnist")
    with pytest.raises(DataError, match=r"md5 [0-9a-f]{32}, expected f68b3c2dcbeaaa9fbdd348bbde"):
        download("mnist", tmp_path, progress=False)
    assert list(tmp_path.rglob("*.gz")) == []
    assert len(calls) == 2  # both mirrors tried


def test_damaged_file_is_replaced(tmp_path, calls, monkeypatch):
    files, md5s = _payloads()
    monkeypatch.setitem(mnist.IDX_SETS, "mnist", dataclasses.replace(mnist.MNIST, gz_md5=md5s))
    calls.serve = lambda url: files[url.rsplit("/", 1)[1]]
    target = download("mnist", tmp_path, progress=False)
    (target / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset("mnist", tmp_path)
    calls.clear()
    download("mnist", tmp_path, progress=False)
    assert [u.rsplit("/", 1)[1] for u in calls] == ["t10k-labels-idx1-ubyte.gz"]
    assert load_dataset("mnist", tmp_path).test_labels.tolist() == [7, 8]


def test_http_error_then_next_mirror(tmp_path, calls, monkeypatch):
    files, md5s = _payloads()
    monkeypatch.setitem(mnist.IDX_SETS, "mnist", dataclasses.replace(mnist.MNIST, gz_md5=md5s))

    def serve(url):
        if "ossci" in url:
            return urllib.error.HTTPError(url, 403, "Forbidden", {}, None)
        return files[url.rsplit("/", 1)[1]]

    calls.serve = serve
    where = download("mnist", tmp_path, progress=True)
    assert where == tmp_path / "mnist"
    assert sorted(p.name for p in where.iterdir()) == sorted(files)  # no temp files left
    ds = load_dataset("mnist", tmp_path)
    assert ds.train_labels.tolist() == [1, 2, 3] and ds.test_images.max() == 1.0
    n = len(calls)
    download("mnist", tmp_path, progress=False)  # all present and intact: no fetch
    assert len(calls) == n


def test_fashion_mirror_and_unknown(tmp_path, calls):
    with pytest.raises(DataError):
        download("fashion-mnist", tmp_path, progress=False)
    assert calls == ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
                     "train-images-idx3-ubyte.gz"]
    for name in ("digits", "mnist-embedded", "synthetic", "nope"):
        with pytest.raises(DataError, match="nothing to download"):
            download(name, tmp_path)
