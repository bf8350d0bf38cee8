"""A self-contained interactive trajectory viewer for reports.

:func:`trajectory_viewer` returns an HTML fragment (for ``Section.extra_html``) with
the precomputed frames x(t) and distance curves embedded as JSON, and the package's
own small script (``reporting/static/viewer.js``) and style inline: no network, no
external file, so the page works from a ``file://`` URL and can be mailed alone. A
time slider (and play/pause) steps through the frames with the current step marked
on the curves; a menu picks one of several trajectories or, when given, the average
over all the trials (mean ± SEM of each curve, and the mean image at every step).

The same inputs give the same bytes (the fragment's id is a hash of its data).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib import resources
from typing import Mapping, Sequence

import numpy as np

from latentdyn.errors import ConfigError

MAX_BYTES = 8_000_000  # the largest embedded data a viewer may carry


def static_text(name: str) -> str:
    """The text of ``reporting/static/NAME``, checked to be safe to inline."""
    text = resources.files("latentdyn.reporting").joinpath("static", name).read_text("utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise ConfigError(f"reporting/static/{name} would end its inline element early")
    return text


def _frames(frames, image_shape) -> tuple[np.ndarray, tuple[int, ...]]:
    """Frames as ``(n, F, H, W)`` grey or ``(n, F, H, W, 3)`` RGB floats in [0, 1], and
    their shape ``(H, W)`` or ``(H, W, 3)``."""
    from latentdyn.data.images import display_images

    a = np.asarray(frames, dtype=np.float64)
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) not in (2, 3) or a.ndim not in (2, 3) or \
                a.shape[-1] != int(np.prod(shape)):
            raise ConfigError(f"frames of shape {a.shape} do not hold images of "
                              f"{tuple(image_shape)}; give (n, F, D) or (F, D) with D = H·W "
                              "(C·H·W for colour)")
        one = a.ndim == 2  # the frames of one trajectory
        a = display_images(a, shape)
        a = a[None] if one else a
    elif a.ndim == 3:
        a = a[None]
    colour = a.ndim == 5 and a.shape[-1] == 3
    if not (a.ndim == 4 or colour) or 0 in a.shape:
        raise ConfigError(f"frames must be (n, F, H, W) or (F, H, W) images, got {a.shape}")
    if not np.isfinite(a).all():
        raise ConfigError("frames contain NaN or infinite values")
    return np.clip(a, 0.0, 1.0), tuple(a.shape[2:])


def _curves(distances, n: int) -> dict[str, np.ndarray]:
    out = {}
    for name, d in (distances or {}).items():
        d = np.asarray(d, dtype=np.float64)
        d = d[None] if d.ndim == 1 else d
        if d.ndim != 2 or d.shape[0] != n or d.shape[1] == 0:
            raise ConfigError(f"distances[{name!r}] must be (n, T+1) with n = {n} "
                              f"trajectories, got {d.shape}")
        if not np.isfinite(d).all():
            raise ConfigError(f"distances[{name!r}] contains NaN or infinite values")
        out[str(name)] = d
    lengths = {d.shape[1] for d in out.values()}
    if len(lengths) > 1:
        raise ConfigError(f"the distance curves have different lengths {sorted(lengths)}")
    return out


def _steps(steps, n_frames: int, n_times: int | None) -> list[int]:
    steps = list(range(n_frames)) if steps is None else [int(s) for s in steps]
    if len(steps) != n_frames or any(b <= a for a, b in zip(steps, steps[1:])) or (
            steps and steps[0] < 0):
        raise ConfigError(f"steps must be {n_frames} increasing non-negative steps t, one "
                          "per frame")
    if n_times is not None and steps[-1] > n_times - 1:
        raise ConfigError(f"frame step {steps[-1]} lies beyond the curves' T = {n_times - 1}")
    return steps


def _average(average, image_shape, n_times: int | None, n_frames: int) -> dict | None:
    """The checked ``average`` of :func:`trajectory_viewer`, as the viewer embeds it."""
    if average is None:
        return None
    keys = {"label", "n", "frames", "distances"}
    if not isinstance(average, Mapping) or not keys <= set(average):
        raise ConfigError(f"average must be a mapping with {', '.join(sorted(keys))} "
                          "(and optionally sem)")
    a, _ = _frames(average["frames"], image_shape)
    if a.shape[0] != 1 or a.shape[1] != n_frames:
        raise ConfigError(f"average frames must be {n_frames} images, one per frame step")
    mean = _curves(average["distances"], 1)
    sem = _curves(average.get("sem") or {}, 1)
    for name, d in {**mean, **sem}.items():
        if n_times is not None and d.shape[1] != n_times:
            raise ConfigError(f"average curve {name!r} has {d.shape[1]} steps, not {n_times}")
    u8 = np.round(a[0] * 255).astype(np.uint8)
    return {"label": str(average["label"]), "n": int(average["n"]), "average": True,
            "frames": base64.b64encode(np.ascontiguousarray(u8).tobytes()).decode(),
            "distances": {c: np.round(d[0], 5).tolist() for c, d in mean.items()},
            "sem": {c: np.round(d[0], 5).tolist() for c, d in sem.items()}}


def viewer_data(frames, distances=None, steps=None, labels=None, *, image_shape=None,
                readings=None, title: str = "", caption: str = "", average=None) -> dict:
    """The checked JSON data a viewer embeds (see :func:`trajectory_viewer`)."""
    a, shape = _frames(frames, image_shape)
    n, n_frames = a.shape[:2]
    curves = _curves(distances, n)
    n_times = next(iter(curves.values())).shape[1] if curves else None
    step_list = _steps(steps, n_frames, n_times)
    names = [f"trajectory {k + 1}" for k in range(n)] if labels is None else \
        [str(x) for x in labels]
    if len(names) != n:
        raise ConfigError(f"labels names {len(names)} trajectories but frames hold {n}")
    reads = None
    if readings is not None:
        reads = np.asarray(readings)
        reads = reads[None] if reads.ndim == 1 else reads
        if reads.shape != (n, n_frames):
            raise ConfigError(f"readings must be (n, F) = ({n}, {n_frames}), got {reads.shape}")
    u8 = np.round(a * 255).astype(np.uint8)
    trajectories = []
    for k in range(n):
        item = {"label": names[k],
                "frames": base64.b64encode(np.ascontiguousarray(u8[k]).tobytes()).decode(),
                "distances": {c: np.round(d[k], 5).tolist() for c, d in curves.items()}}
        if reads is not None:
            item["readings"] = [str(r) for r in reads[k].tolist()]
        trajectories.append(item)
    avg = _average(average, image_shape, n_times, n_frames)
    if avg is not None and set(avg["distances"]) != set(curves):
        raise ConfigError("the average must have the same curves as the trajectories")
    return {"title": str(title), "caption": str(caption), "shape": list(shape),
            "steps": step_list, "average": avg,
            "T": (n_times - 1) if n_times is not None else step_list[-1],
            "curves": list(curves), "trajectories": trajectories}


def trajectory_viewer(frames, distances: Mapping[str, object] | None = None,
                      steps: Sequence[int] | None = None, labels: Sequence[str] | None = None,
                      *, image_shape: Sequence[int] | None = None, readings=None,
                      title: str = "", caption: str = "", max_bytes: int = MAX_BYTES,
                      average: Mapping | None = None) -> str:
    """An HTML fragment: an interactive viewer of precomputed trajectories.

    ``frames``: x(t) images in [0, 1], ``(n, F, H, W)`` for n trajectories of F frames
    (``(F, H, W)`` for one; ``(n, F, H, W, 3)`` in colour), or flat ``(n, F, D)`` /
    ``(F, D)`` with ``image_shape`` (``(H, W)``, or ``(C, H, W)`` for colour rows as data
    sets hold them; :func:`latentdyn.data.images.display_images` unfolds them).
    ``distances``: curve name -> ``(n, T+1)`` (or ``(T+1,)``) values over t = 0..T,
    e.g. ``{"own memory": ..., "concept": ..., "abstract concept": ...}``.
    ``steps``: the t of each frame (default 0..F-1); at step t the viewer shows the
    last frame at or before t. ``labels``: a name per trajectory. ``readings``:
    ``(n, F)`` a classifier's reading of each frame. ``average``: the average over all
    the trials (of which the n shown are a few): ``{"label", "n", "frames" (F images, the
    mean x(t)), "distances" (curve -> (T+1,) means), "sem" (curve -> (T+1,))}``; the
    viewer opens on it. Raises ``ConfigError`` for inconsistent shapes, NaN, or more
    than ``max_bytes`` of data.
    """
    data = viewer_data(frames, distances, steps, labels, image_shape=image_shape,
                       readings=readings, title=title, caption=caption, average=average)
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    if len(payload) > max_bytes:
        raise ConfigError(f"the viewer would embed {len(payload) / 1e6:.1f} MB (more than "
                          f"{max_bytes / 1e6:.1f} MB); show fewer or shorter trajectories")
    uid = hashlib.sha256(payload.encode()).hexdigest()[:12]
    return (f'<div class="ld-viewer" id="ld-viewer-{uid}" aria-label="{html.escape(title)}">'
            f"<style>{static_text('viewer.css')}</style>"
            f'<script type="application/json" class="ld-viewer-data">{payload}</script>'
            "<noscript><p>The interactive viewer needs JavaScript.</p></noscript>"
            f"<script>{static_text('viewer.js')}</script></div>")
