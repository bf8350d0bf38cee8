"""Colour in a real headless browser (issue 22): the explorer's page paints the colour
frames the API computes for a model of one's own on colour images, and the report's
viewer paints colour frames from a file:// page. Debian's Chromium driven by Playwright,
with the browser, page and server of ``tests/test_explore_browser.py``."""

import base64
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from test_explore_browser import CHROMIUM, Served, browser, page  # noqa: F401

from latentdyn.explore import load_explorer
from latentdyn.reporting.report import Section, render_report
from latentdyn.reporting.viewer import trajectory_viewer

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                       reason=f"Debian's chromium is not installed at {CHROMIUM} "
                              "(apt-get install chromium; .ci/run installs it)"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

# the RGB of pixel (i, j) of the k-th canvas matching `selector`, one per image pixel
PIXELS = """([selector, k, h, w]) => {
  const c = document.querySelectorAll(selector)[k], ctx = c.getContext('2d'), out = [];
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const d = ctx.getImageData(Math.floor((j + 0.5) * c.width / w),
                               Math.floor((i + 0.5) * c.height / h), 1, 1).data;
    out.push([d[0], d[1], d[2]]);
  }
  return out;
}"""


class ColourAE(nn.Module):
    """A model of one's own on 3 x 6 x 6 images (a plain object, no run folder)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.enc, self.dec = nn.Linear(108, 5), nn.Linear(5, 108)

    def encode(self, x):
        return self.enc(x)

    def decode(self, z):
        return torch.sigmoid(self.dec(z))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("colour")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 6, 6, 3), dtype=np.uint8)
    images[:, :, :, 0] = 250  # red everywhere: a colour no grey image has
    np.savez(root / "c.npz", images=images, labels=np.arange(30) % 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Served(load_explorer([ColourAE()], dataset=f"npz:{root / 'c.npz'}"))
    yield s.url
    s.stop()


def channels_last(b64: str, frames: int) -> np.ndarray:
    """API pixels, channels first per frame, as (frames, 36, 3)."""
    a = np.frombuffer(base64.b64decode(b64), np.uint8).reshape(frames, 3, 36)
    return np.moveaxis(a, 1, -1)


def test_the_explorer_paints_colour(served, page):  # noqa: F811 (the fixture imported above)
    import httpx

    page.goto(served)
    page.wait_for_function("() => document.body.dataset.state === 'ready'", timeout=30_000)
    want = httpx.post(served + "api/trajectory", timeout=30,
                      json={"source": "train", "label": 0, "index": 0, "p": 0.2, "steps": 80,
                            "seed": 0}).json()
    assert want["input"]["shape"] == [3, 6, 6]
    clean = np.array(page.evaluate(PIXELS, ["#clean", 0, 6, 6]), dtype=np.uint8)
    np.testing.assert_array_equal(clean, channels_last(want["input"]["clean"], 1)[0])
    assert (clean[:, 0] == 250).all() and not (clean[:, 0] == clean[:, 1]).all()
    frame = np.array(page.evaluate(PIXELS, ["canvas.frame", 0, 6, 6]), dtype=np.uint8)
    np.testing.assert_array_equal(frame, channels_last(want["results"][0]["frames"], 81)[0])
    assert not page.errors, page.errors


def test_the_report_viewer_paints_colour(page, tmp_path):  # noqa: F811
    frames = np.random.default_rng(1).random((1, 3, 3 * 4 * 4))  # (n, F, C*H*W)
    fragment = trajectory_viewer(frames, {"d": np.ones((1, 3))}, image_shape=(3, 4, 4))
    report = tmp_path / "report.html"
    report.write_text(render_report("viewer", "colour", {}, [
        Section("one", None, "", "-", "-", extra_html=fragment)], []))
    page.goto(report.as_uri())
    shown = np.array(page.evaluate(PIXELS, [".ld-viewer canvas", 0, 4, 4]), dtype=np.uint8)
    expect = np.round(np.moveaxis(frames[0, 0].reshape(3, 16), 0, -1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(shown, expect)
    assert not page.errors, page.errors
