"""IDX reader: round trips, every validation error, and fuzzing."""

import gzip

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentdyn.data.idx import encode_idx, gunzip, read_idx, read_idx_pair
from latentdyn.errors import DataError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    path.write_bytes(encode_idx(a, compress=compress))
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(read_idx(path.read_bytes()), a)
    b[0, 0, 0] = 1  # writable


def test_big_endian_layout():
    raw = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    np.testing.assert_array_equal(read_idx(raw), np.array([0x0102, -2], dtype=np.int16))


def test_pair(tmp_path):
    x, y = np.zeros((4, 2, 2), np.uint8), np.arange(4, dtype=np.uint8)
    (tmp_path / "x").write_bytes(encode_idx(x))
    (tmp_path / "y.gz").write_bytes(encode_idx(y, compress=True))
    xs, ys = read_idx_pair(tmp_path / "x", tmp_path / "y.gz")
    assert xs.shape == (4, 2, 2) and ys.tolist() == [0, 1, 2, 3]
    (tmp_path / "y3").write_bytes(encode_idx(y[:3]))
    with pytest.raises(DataError, match="x has 4 images but y3 has 3 labels"):
        read_idx_pair(tmp_path / "x", tmp_path / "y3")
    with pytest.raises(DataError, match="expected a labels file"):
        read_idx_pair(tmp_path / "x", tmp_path / "x")


def _valid(n=10):
    return encode_idx(np.arange(n * 6, dtype=np.uint8).reshape(n, 2, 3))


@pytest.mark.parametrize(
    "data, pattern",
    [
        (_valid()[:-5], r"truncated: header promises 60 bytes of data, file has 55"),
        (_valid() + b"\x00\x07", r"2 trailing bytes after the 60 bytes"),
        (b"\x01\x00" + _valid()[2:], r"not an IDX file: magic number 0x0100"),
        (b"\x00\x00\x07\x03" + _valid()[4:], r"unknown IDX data type code 0x07"),
        (b"\x00\x00\x08\x00", r"0 dimensions"),
        (_valid()[:9], r"truncated header"),
        (b"\x00\x00", r"too short for an IDX header"),
        (b"", r"too short"),
        (bytes([0, 0, 0x0E, 3]) + b"\xff\xff\xff\xff" * 3, r"implausible header"),
    ],
    ids=["truncated", "trailing", "magic", "dtype", "ndim0", "short-dims", "short", "empty",
         "absurd"],
)
def test_validation_errors(tmp_path, data, pattern):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError, match=pattern) as exc:
        read_idx(path)
    assert str(exc.value).startswith("train-images-idx3-ubyte: ")
    assert "\n" not in str(exc.value)
    with pytest.raises(DataError, match=pattern):  # same inside gzip
        read_idx(gzip.compress(data))


def test_trailing_bytes_inside_gzip_named():
    with pytest.raises(DataError, match=r"^f.gz: 1 trailing bytes after .*\(decompressed\)$"):
        read_idx(gzip.compress(_valid() + b"x"), name="f.gz")


@pytest.mark.parametrize("cut", [5, 20, -9, -3])
def test_corrupt_gzip(cut):
    gz = gzip.compress(_valid(200))
    bad = gz[:cut] if cut < 0 else gz[:cut] + bytes(b ^ 0x5A for b in gz[cut:])
    with pytest.raises(DataError, match=r"^<bytes>: (corrupt gzip|truncated)"):
        read_idx(bad)
    with pytest.raises(DataError, match="corrupt gzip"):
        gunzip(bad)


def test_bad_crc():
    gz = bytearray(gzip.compress(_valid()))
    gz[-8] ^= 0xFF  # CRC32 field
    with pytest.raises(DataError, match="corrupt gzip"):
        read_idx(bytes(gz))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.idx: cannot read"):
        read_idx(tmp_path / "nope.idx")
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path)  # a directory


def test_absurd_header_does_not_allocate():
    header = bytes([0, 0, 0x08, 4]) + b"\x00\x01\x00\x00" * 4  # 2**64 bytes
    with pytest.raises(DataError, match="implausible header"):
        read_idx(header + b"\x00" * 100)
    with pytest.raises(DataError, match="implausible header"):
        read_idx(_valid(), max_bytes=10)


def _check(data):
    try:
        out = read_idx(data)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(out, np.ndarray)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    _check(data)
    _check(b"\x00\x00" + data)
    _check(b"\x1f\x8b" + data)


@st.composite
def mutated_files(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    data = encode_idx(np.ones(shape, dtype=dtype), compress=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "truncate", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data = data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1 :]
        elif op == "truncate":
            data = data[:pos]
        else:
            data = data[:pos] + draw(st.binary(min_size=1, max_size=8)) + data[pos:]
    return data


@FUZZ
@given(mutated_files())
def test_fuzz_mutated_files(data):
    _check(data)
