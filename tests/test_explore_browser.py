"""The explorer page and the report viewer in a real headless browser: Debian's
Chromium (/usr/bin/chromium) driven by Playwright, never a downloaded browser.

The explorer is served by uvicorn on a free 127.0.0.1 port in a thread; every request
the page makes outside that server is refused and recorded (the page must need none).

``LATENTDYN_SCREENSHOT=docs/img/explore.png python -m pytest tests/test_explore_browser.py
-k screenshot`` also trains a small VAE and classifier on the embedded MNIST and saves
the page's picture for the docs.
"""

import base64
import os
import re
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from latentdyn.explore import create_app, load_explorer
from latentdyn.explore.server import bind, make_server, url_of
from latentdyn.reporting.report import Section, render_report
from latentdyn.reporting.viewer import trajectory_viewer
from latentdyn.train import TrainConfig, train

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DATA = "synthetic:k=3,m=20,side=8,test=6"

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                       reason=f"Debian's chromium is not installed at {CHROMIUM} "
                              "(apt-get install chromium; .ci/run installs it)"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    vae = train(TrainConfig(dataset=DATA, nz=4, hidden=16, epochs=1, device="cpu"),
                root / "vae", progress=False)
    vae3 = train(TrainConfig(dataset=DATA, nz=3, hidden=16, epochs=1, device="cpu", seed=1),
                 root / "vae3", progress=False)
    clf = train(TrainConfig(model="classifier", dataset=DATA, epochs=1, batch_size=10,
                            device="cpu", lr=1e-2, lr_factors=[1.0], lr_milestones=[],
                            model_options={"conv1": 4, "conv2": 8, "dense": 16}),
                root / "clf", progress=False)
    return vae, vae3, clf


class Served:
    """uvicorn serving an explorer on a free port, in a thread."""

    def __init__(self, explorer):
        self.sock = bind("127.0.0.1", 0)
        self.url = url_of(self.sock, "127.0.0.1")
        self.server = make_server(create_app(explorer))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def served(runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Served(load_explorer(runs[:2], runs[2]))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=ARGS, viewport={"width": 1400, "height": 1000})
        yield context
        context.close()


@pytest.fixture
def page(browser):
    """A page whose requests may go only to 127.0.0.1 and file:// URLs; every other
    request is refused and recorded in ``page.outside``, every script error in
    ``page.errors``."""
    page = browser.new_page()
    page.outside, page.errors = [], []

    def guard(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "file://", "data:")):
            route.continue_()
        else:
            page.outside.append(url)
            route.abort()

    page.route("**/*", guard)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    yield page
    page.close()


def wait_ready(page, after: int = 0) -> int:
    """Wait until a trajectory newer than request ``after`` is shown; its number."""
    page.wait_for_function(
        "after => document.body.dataset.state === 'ready' && "
        "Number(document.body.dataset.seq) > after", arg=after, timeout=30_000)
    return int(page.evaluate("document.body.dataset.seq"))


def frame(page, k: int = 0) -> str:
    return page.evaluate("k => document.querySelectorAll('canvas.frame')[k].toDataURL()", k)


SHOWN = """([k, h, w]) => {
  const c = document.querySelectorAll('canvas.frame')[k], ctx = c.getContext('2d'), out = [];
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++)
    out.push(ctx.getImageData(Math.floor((j + 0.5) * c.width / w),
                              Math.floor((i + 0.5) * c.height / h), 1, 1).data[0]);
  return out;
}"""


def shown(page, k: int = 0) -> np.ndarray:
    """The 8x8 image on the k-th panel's frame canvas (one pixel per image pixel)."""
    return np.array(page.evaluate(SHOWN, [k, 8, 8]), dtype=np.uint8)


def api_frame(result: dict, t: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(result["frames"]), np.uint8).reshape(-1, 64)[t]


def curve(page, level: str = "concept", k: int = 0) -> str:
    return page.locator(".panel").nth(k).locator(f"path.curve-{level}").get_attribute("d")


def api(served, **body) -> dict:
    import httpx

    return httpx.post(served.url + "api/trajectory", json=body, timeout=30).json()


def test_slider_and_p_change_the_frame_and_the_curves(served, page):
    page.goto(served.url)
    seq = wait_ready(page)
    assert page.locator(".panel").count() == 2
    frame0, curve0 = frame(page), curve(page)
    marker0 = page.locator(".panel .marker").first.get_attribute("x1")
    page.focus("#t")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert page.inner_text("#t-value") == "t = 5"
    assert page.locator("canvas.frame").first.get_attribute("data-t") == "5"
    assert frame(page) != frame0  # x(5) is not the corrupted x(0)
    assert page.locator(".panel .marker").first.get_attribute("x1") != marker0
    assert curve(page) == curve0  # moving in time keeps the curves
    page.focus("#p")
    for _ in range(10):
        page.keyboard.press("ArrowRight")  # p: 0.20 -> 0.30
    wait_ready(page, seq)
    assert page.inner_text("#p-value") == "0.30"
    assert curve(page) != curve0 and curve(page, "memory", 1) != curve0
    assert page.inner_text("#t-value") == "t = 5"
    # the page shows what the API computes for the new request, at the current step
    want = api(served, source="train", label=0, index=0, p=0.3, steps=80, seed=0)
    for k, res in enumerate(want["results"]):
        panel = page.locator(".panel").nth(k)
        assert panel.locator(".v-concept").inner_text() == f"{res['distances']['concept'][5]:.3f}"
        reading = panel.locator(".reading").inner_text()
        assert reading.startswith(f"classifier reads {res['readings']['labels'][5]} ")
        np.testing.assert_array_equal(shown(page, k), api_frame(res, 5))
    page.focus("#t")
    page.keyboard.press("Home")
    assert page.inner_text("#t-value") == "t = 0"
    assert frame(page) != frame0  # x(0), the corrupted input, changed with p
    np.testing.assert_array_equal(shown(page), api_frame(want["results"][0], 0))
    assert not page.outside and not page.errors, (page.outside, page.errors)


def test_play_drawing_and_errors(served, page):
    page.goto(served.url)
    seq = wait_ready(page)
    page.click("#play")
    page.wait_for_function("() => Number(document.querySelector('#t').value) >= 3",
                           timeout=10_000)
    page.click("#play")  # pause
    stopped = page.inner_text("#t-value")
    page.wait_for_timeout(300)
    assert page.inner_text("#t-value") == stopped
    page.check("input[name=source][value=drawn]")
    assert page.is_visible("#draw") and page.input_value("#label") == ""
    box = page.locator("#draw").bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 40)
    page.mouse.down()
    for k in range(12):
        page.mouse.move(box["x"] + 60 + 8 * k, box["y"] + 40 + 12 * k)
    page.mouse.up()
    seq = wait_ready(page, seq)
    assert "(classifier)" in page.locator(".panel .targets").first.inner_text()
    assert "nearest memory" in page.locator(".panel .targets").first.inner_text()
    page.fill("#steps", "999")  # refused by the page itself, before any request
    page.dispatch_event("#steps", "change")
    page.wait_for_function("() => document.body.dataset.state === 'error'", timeout=10_000)
    assert page.inner_text("#status") == "error: T must be an integer in 0..200, got 999"
    assert not page.outside and not page.errors, (page.outside, page.errors)
    r = api(served, source="train", label=0, steps=999)  # the server refuses it too
    assert r == {"error": "steps must be in 0..200, got 999"}


def test_report_viewer_works_from_a_file_url(page, tmp_path):
    g = np.random.default_rng(0)
    frames = g.random((2, 6, 8, 8))
    curves = {"own memory": g.random((2, 11)), "concept": g.random((2, 11))}
    fragment = trajectory_viewer(frames, curves, steps=[0, 2, 4, 6, 8, 10],
                                 labels=["first", "second"], title="toy")
    report = tmp_path / "report.html"
    report.write_text(render_report("viewer", "a test", {}, [
        Section("one", None, "", "-", "-", extra_html=fragment),
        Section("two", None, "", "-", "-", extra_html=fragment)], []))
    assert not re.search(r"https?:", fragment)
    page.goto(report.as_uri())
    viewer = page.locator(".ld-viewer").first
    assert page.locator(".ld-viewer[data-ready]").count() == 2  # both started
    canvas = viewer.locator("canvas")
    before = canvas.evaluate("c => c.toDataURL()")
    assert canvas.get_attribute("data-frame") == "0"
    viewer.locator(".ld-slider").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert viewer.locator(".ld-t").inner_text() == "t = 3"
    assert canvas.get_attribute("data-frame") == "1"  # the last frame at or before t = 3
    assert canvas.evaluate("c => c.toDataURL()") != before
    path = viewer.locator("path[data-curve=concept]").get_attribute("d")
    viewer.locator("select.ld-pick").select_option("1")
    assert viewer.locator("path[data-curve=concept]").get_attribute("d") != path
    shown = viewer.locator("li b").nth(1).inner_text()
    assert shown == f"{round(curves['concept'][1][3], 5):.3f}"  # trajectory 2 at t = 3
    assert not page.outside and not page.errors, (page.outside, page.errors)


@pytest.mark.skipif(not os.environ.get("LATENTDYN_SCREENSHOT"),
                    reason="set LATENTDYN_SCREENSHOT=PATH to make the docs' screenshot")
def test_screenshot(browser, tmp_path):
    """The picture in docs/explore.md and the README: a small VAE (Nz = 16, 512 hidden
    units, 10 epochs) and classifier on the embedded MNIST, a corrupted training '6' at
    t = 12 (a few CPU minutes)."""
    data = "mnist-embedded"
    vae = train(TrainConfig(dataset=data, nz=16, hidden=512, epochs=10, device="cpu"),
                tmp_path / "vae", progress=False)
    clf = train(TrainConfig(model="classifier", dataset=data, epochs=2, batch_size=100,
                            device="cpu", lr=1e-3, lr_factors=[1.0], lr_milestones=[],
                            model_options={"conv1": 8, "conv2": 16, "dense": 32}),
                tmp_path / "clf", progress=False)
    s = Served(load_explorer([vae], clf))
    try:
        page = browser.new_page()
        page.set_viewport_size({"width": 1180, "height": 860})
        page.goto(s.url)
        seq = wait_ready(page)
        page.select_option("#label", "6")
        seq = wait_ready(page, seq)
        page.focus("#t")
        for _ in range(12):
            page.keyboard.press("ArrowRight")
        out = Path(os.environ["LATENTDYN_SCREENSHOT"])
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
    finally:
        s.stop()
