"""Reading (and writing) IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (``TT`` the data type code,
``NN`` the number of dimensions), ``NN`` big-endian uint32 dimensions, then exactly
``prod(dims) * itemsize`` bytes of big-endian data. Files may be gzip-compressed.

Every problem (truncation, trailing bytes, a bad magic number, corrupt gzip, an absurd
header) raises :class:`~latentdyn.errors.DataError` with one line naming the file.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np

from latentdyn.errors import DataError

Source = Union[str, os.PathLike, bytes, bytearray, memoryview]

# IDX data type code -> big-endian numpy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
# Refuse headers that promise more data than this (bytes) rather than allocate it.
MAX_IDX_BYTES = 2 * 1024**3
_CHUNK = 1 << 20


def read_idx(source: Source, name: str | None = None, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (gzip or raw) from a path or from bytes into a numpy array.

    The array has the file's shape and a native-endian dtype. ``name`` labels error
    messages (default: the file name, or ``<bytes>``). Raises DataError for anything
    that is not a complete, well-formed IDX file.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "<bytes>"
        return _read_stream(io.BytesIO(bytes(source)), label, max_bytes)
    path = Path(source)
    label = name or path.name
    try:
        with open(path, "rb") as fh:
            return _read_stream(fh, label, max_bytes)
    except OSError as exc:  # missing, unreadable, a directory ...
        raise DataError(f"{label}: cannot read {path}: {exc.strerror or exc}") from None


def read_idx_pair(images: Source, labels: Source) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file and a labels file and check that they belong together.

    Images must have at least two dimensions, labels exactly one, and both the same
    number of items. Returns ``(images, labels)``.
    """
    xname, yname = _label(images, "images"), _label(labels, "labels")
    x = read_idx(images, name=xname)
    y = read_idx(labels, name=yname)
    check_pair(x, y, xname, yname)
    return x, y


def check_pair(x: np.ndarray, y: np.ndarray, xname: str, yname: str) -> None:
    """Raise DataError unless ``x`` looks like images and ``y`` like their labels."""
    if x.ndim < 2:
        raise DataError(f"{xname}: expected an images file (2 or more dimensions), "
                        f"got shape {x.shape}")
    if y.ndim != 1:
        raise DataError(f"{yname}: expected a labels file (1 dimension), got shape {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{xname} has {x.shape[0]} images but {yname} has {y.shape[0]} labels")


def encode_idx(array: np.ndarray, compress: bool = False) -> bytes:
    """Encode ``array`` as IDX bytes (gzip-compressed when ``compress``).

    The dtype must be one of the IDX types (uint8, int8, int16, int32, float32,
    float64); the inverse of :func:`read_idx`.
    """
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim < 1 or array.ndim > 255:
        raise DataError(f"cannot encode dtype {array.dtype} with {array.ndim} dims as IDX")
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    data = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    return gzip.compress(data, mtime=0) if compress else data


def gunzip(data: bytes, name: str = "<bytes>", max_bytes: int = MAX_IDX_BYTES) -> bytes:
    """Return ``data`` decompressed if it starts with the gzip magic, else unchanged."""
    if not data.startswith(GZIP_MAGIC):
        return data
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            while block := gz.read(_CHUNK):
                out += block
                if len(out) > max_bytes:
                    raise DataError(f"{name}: decompresses to more than {max_bytes} bytes")
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{name}: corrupt gzip data ({_reason(exc)})") from None
    return bytes(out)


def _read_stream(raw: BinaryIO, label: str, max_bytes: int) -> np.ndarray:
    head = raw.read(2)
    raw.seek(0)
    if head == GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=raw) as gz:
                return _parse(gz, label, max_bytes, compressed=True)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{label}: corrupt gzip data ({_reason(exc)})") from None
    return _parse(raw, label, max_bytes, compressed=False)


def _parse(fh: BinaryIO, label: str, max_bytes: int, compressed: bool) -> np.ndarray:
    magic = fh.read(4)
    if len(magic) < 4:
        raise DataError(f"{label}: truncated: {len(magic)} bytes, too short for an IDX header")
    if magic[0] != 0 or magic[1] != 0:
        raise DataError(
            f"{label}: not an IDX file: magic number 0x{magic.hex()} "
            "(must start with two zero bytes)"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{label}: unknown IDX data type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataError(f"{label}: IDX header declares 0 dimensions")
    raw_dims = fh.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(
            f"{label}: truncated header: {ndim} dimensions need {4 * ndim} bytes, "
            f"file has {len(raw_dims)}"
        )
    dims = tuple(int.from_bytes(raw_dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = IDX_DTYPES[code]
    nbytes = math.prod(dims) * dtype.itemsize
    if nbytes > max_bytes:
        raise DataError(
            f"{label}: implausible header: dimensions {list(dims)} of {dtype.name} need "
            f"{nbytes} bytes (limit {max_bytes})"
        )
    data = _read_exactly(fh, nbytes)
    if len(data) < nbytes:
        raise DataError(
            f"{label}: truncated: header promises {nbytes} bytes of data, file has {len(data)}"
        )
    extra = _count_rest(fh)
    if extra:
        where = " (decompressed)" if compressed else ""
        raise DataError(
            f"{label}: {extra}{'+' if extra >= _CHUNK else ''} trailing bytes after the "
            f"{nbytes} bytes of data the header promises{where}"
        )
    array = np.frombuffer(data, dtype=dtype).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def _read_exactly(fh: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        block = fh.read(min(_CHUNK * 16, n - got))
        if not block:
            break
        parts.append(block)
        got += len(block)
    return b"".join(parts)


def _count_rest(fh: BinaryIO) -> int:
    """Bytes left in ``fh`` (reading at most one chunk: enough to report the problem)."""
    return len(fh.read(_CHUNK))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _label(source: Source, default: str) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{default} bytes>"
    return Path(source).name
