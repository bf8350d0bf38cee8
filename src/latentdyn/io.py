"""File writes and reads: atomic writes (to a temporary file in the same folder, then
renamed), JSON, checksums, and tensors as safetensors with JSON metadata (never pickles).

A reader never sees a half-written file, and a crash (even SIGKILL) leaves either the
old file or the new one in place.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from latentdyn.errors import CheckpointError

_UMASK = os.umask(0)
os.umask(_UMASK)


LOCK_NAME = ".latentdyn.lock"
_TMP_PREFIX_MAX = 200  # a temporary name must fit NAME_MAX (255) even for a long target


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename into it) to disk, where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path`` and
    flush the folder, so the new file survives a crash right after."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:_TMP_PREFIX_MAX]}.", suffix=".tmp",
                               dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; use the usual mode
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
        fsync_dir(path.parent)
    except OSError as exc:
        raise with_path(exc, path) from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def with_path(exc: OSError, path: str | os.PathLike) -> OSError:
    """``exc`` naming ``path`` when it names no file (a failed ``write`` names none), so
    a full disk reads ``PATH: No space left on device``."""
    if exc.filename is not None or exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the write lock of an output folder for the duration (created if needed).

    An OS file lock (``flock``) on ``folder/.latentdyn.lock``: a second process asking
    for it gets :class:`~latentdyn.errors.FolderInUse` at once, and the OS releases it
    when its holder exits, so a lock left by a killed process never blocks. The same
    process may take the lock of one folder once at a time.
    """
    import fcntl

    from latentdyn.errors import FolderInUse

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderInUse(f"{folder} is in use by another latentdyn process") from None
        try:
            yield folder
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def refuse_existing(paths, overwrite: bool, hint: str = "--overwrite") -> None:
    """Refuse to replace results: one line naming the first of ``paths`` that exists,
    unless ``overwrite``. Two of ``paths`` that are the same file are an error too (one
    output would swallow the other)."""
    from latentdyn.errors import ConfigError

    paths = [Path(p) for p in paths]
    seen: dict = {}
    for p in paths:
        key = os.path.abspath(p)
        if key in seen:
            raise ConfigError(f"{p}: two outputs of this command would be the same file; "
                              "choose another --out")
        seen[key] = p
    if overwrite:
        return
    for p in paths:
        if p.exists():
            raise ConfigError(f"{p}: exists; pass {hint} to replace it, or choose another --out")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


MAX_JSON_DEPTH = 200  # deeper JSON is no file latentdyn writes: refused, never recursed into


def parse_json(text: str | bytes, **kwargs) -> Any:
    """``json.loads``, but JSON nested deeper than :data:`MAX_JSON_DEPTH` raises
    ``ValueError`` (as malformed JSON does) instead of ``RecursionError``."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    if _depth(text) > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, **kwargs)
    except RecursionError:  # a parse_constant/object_hook of the caller recursing
        raise ValueError("JSON nested too deeply") from None


_BRACKETS = re.compile(r'[\[\]{}]|"(?:[^"\\]|\\.)*"')


def _depth(text: str) -> int:
    """The deepest nesting of brackets outside strings (a linear scan)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0  # too few brackets to be too deep: no scan needed
    depth = deepest = 0
    for m in _BRACKETS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def read_json(path: str | os.PathLike) -> Any:
    """The JSON in ``path`` (``OSError`` when unreadable, ``ValueError`` when not JSON or
    nested too deeply)."""
    return parse_json(Path(path).read_text(encoding="utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def md5_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


# --- tensors: safetensors body, JSON metadata ------------------------------------------
_META_KEY = "latentdyn"


def _contiguous(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    with atomic_path(path) as tmp:
        try:
            save_file(_contiguous(tensors), str(tmp), metadata={_META_KEY: json.dumps(meta)})
        except SafetensorError as exc:  # its I/O errors: an OSError naming the file
            raise _os_error(exc, path) from None


def _os_error(exc: SafetensorError, path) -> Exception:
    """The OSError inside a safetensors I/O error (``... (os error 28)``), naming
    ``path``; another error as it is."""
    m = re.search(r"os error (\d+)", str(exc))
    if m is None:
        return exc
    code = int(m.group(1))
    return OSError(code, os.strerror(code) if code in _errno.errorcode else str(exc), str(path))


def load_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get(_META_KEY, "{}")
        meta = parse_json(raw)
    except (SafetensorError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable safetensors file ({first})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: its {_META_KEY!r} metadata is not a JSON object "
                              f"(a {type(meta).__name__}); not a latentdyn file")
    return tensors, meta


