"""Downloading MNIST and Fashion-MNIST: the only place latentdyn touches the network."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from latentdyn import io
from latentdyn.data.base import resolve_data_dir
from latentdyn.data.mnist import IDX_SETS, IdxSet, verified_content
from latentdyn.errors import DataError

TIMEOUT_S = 10.0
MAX_DOWNLOAD_BYTES = 200 * 1024**2
_CHUNK = 1 << 16


def download(name: str, data_dir=None, progress: bool = True) -> Path:
    """Fetch the four IDX files of ``name`` (``mnist`` or ``fashion-mnist``) into
    ``<data_dir>/<name>/`` and return that folder.

    Files already there with the right checksum are kept. Each file is fetched from
    the public mirrors in turn, md5-checked, and written atomically. If no mirror can
    be reached (offline) a DataError says where to put the files by hand.
    """
    spec = IDX_SETS.get(name)
    if spec is None or not spec.mirrors:
        known = ", ".join(n for n, s in IDX_SETS.items() if s.mirrors)
        raise DataError(f"nothing to download for {name!r}: only {known} are downloaded "
                        "(the other data sets ship with latentdyn or scikit-learn, or are "
                        "generated)")
    target = resolve_data_dir(data_dir) / spec.name
    for stem in spec.files:
        if _already_there(spec, stem, target):
            continue
        fname = f"{stem}.gz"
        io.write_bytes(target / fname, _fetch_verified(spec, fname, target, progress))
    return target


def _already_there(spec: IdxSet, stem: str, target: Path) -> bool:
    for cand in (target / f"{stem}.gz", target / stem):
        if cand.is_file():
            try:
                verified_content(spec, stem, cand)
                return True
            except DataError:
                return False  # damaged: fetch it again (the atomic write replaces it)
    return False


def _fetch_verified(spec: IdxSet, fname: str, target: Path, progress: bool) -> bytes:
    problems = []
    for mirror in spec.mirrors:
        url = mirror + fname
        try:
            data = _fetch(url, fname, progress)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            problems.append(f"{url}: {_reason(exc)}")
            continue
        md5 = hashlib.md5(data).hexdigest()
        if md5 == spec.gz_md5[fname[:-3]]:
            return data
        problems.append(f"{url}: md5 {md5}, expected {spec.gz_md5[fname[:-3]]}")
    files = ", ".join(f"{s}.gz" for s in spec.files)
    raise DataError(
        f"{spec.name}: cannot download {fname} ({'; '.join(problems)}); if offline, "
        f"place {files} in {target} by hand"
    )


def _fetch(url: str, label: str, progress: bool) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        if total and total > MAX_DOWNLOAD_BYTES:
            raise ValueError(f"refusing a {total}-byte download")
        parts, got = [], 0
        with tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress,
                  leave=False) as bar:
            while block := resp.read(_CHUNK):
                parts.append(block)
                got += len(block)
                bar.update(len(block))
                if got > MAX_DOWNLOAD_BYTES:
                    raise ValueError(f"download larger than {MAX_DOWNLOAD_BYTES} bytes")
    return b"".join(parts)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    reason = getattr(exc, "reason", None) or exc
    return str(reason).strip().splitlines()[0] if str(reason).strip() else type(exc).__name__
