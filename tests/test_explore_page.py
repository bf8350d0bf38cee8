"""The explorer page of issue 23 in headless Chromium (Debian's, as in
tests/test_explore_browser.py), at 1400 and 800 px wide: the averaged view against the
API, the minima table, a click on a curve, hovering the map, the sticky time bar, the
address that restores a view, the exports, the Python call shown on the page (run here),
in-page validation and stale panels, and the defects the issue lists."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from test_explore_browser import (ARGS, CHROMIUM, Served, browser, page, runs,  # noqa: F401
                                  wait_ready)

from latentdyn.explore import load_explorer

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                       reason=f"Debian's chromium is not installed at {CHROMIUM}"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
WIDTHS = [1400, 800]


@pytest.fixture(scope="module")
def served(runs):  # noqa: F811
    s = Served(load_explorer(list(runs[:2]), runs[2]))
    yield s
    s.stop()


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def wpage(request, page):  # noqa: F811 (the fixture imported above)
    page.set_viewport_size({"width": request.param, "height": 900})
    page.width = request.param
    return page


def post(served, route, **body):
    import httpx

    return httpx.post(served.url + "api/" + route, json=body, timeout=60).json()


def clean(pg):
    assert not pg.outside and not pg.errors, (pg.outside, pg.errors)
    assert pg.evaluate("document.documentElement.scrollWidth") <= pg.width  # no sideways


def test_average_view_draws_mean_band_and_every_trial_on_shared_axes(served, wpage):
    wpage.goto(served.url + "?view=average&label=1&trials=12&p=0.3&seed=2&steps=20")
    wait_ready(wpage)
    want = post(served, "average", label=1, trials=12, p=0.3, seed=2, steps=20, vary="images")
    panels = wpage.locator(".panel")
    for k, res in enumerate(want["results"]):
        panel = panels.nth(k)
        assert panel.locator("path.trace").count() == 3 * 12  # every trial, faint
        assert panel.locator("path.band").count() == 3  # mean ± SEM
        lv = res["levels"]["concept"]
        assert panel.locator(".m-concept").inner_text() == f"{lv['min']:.3f} (t* = {lv['t']})"
        assert panel.locator(".f-concept").inner_text() == f"{lv['final']:.3f}"
        assert panel.locator(".v-concept").inner_text() == f"{lv['mean'][0]:.3f}"
        assert "mean of x(0) over 12 trials" in panel.locator(".frame-caption").inner_text()
        assert "of 12 trials as 1 at t = 20" in panel.locator(".reading").inner_text()
    # one distance axis for both panels, and both models overlaid with a warning
    tops = [panels.nth(k).locator("svg.curves text").nth(7).text_content() for k in (0, 1)]
    assert tops[0] == tops[1]
    assert wpage.locator("#overlay path.curve").count() == 2
    assert wpage.locator("#overlay path.trace").count() == 24
    assert "own latent space" in wpage.inner_text("#overlay-legend")
    assert wpage.inner_text("#status").startswith("12 trials, T = 20 computed in")
    clean(wpage)


def test_single_view_shows_each_minimum_its_t_and_final_value(served, wpage):
    wpage.goto(served.url + "?source=test&label=2&index=1&steps=30")
    wait_ready(wpage)
    want = post(served, "trajectory", source="test", label=2, index=1, steps=30)
    assert "closest" not in wpage.inner_text("#panels")
    for k, res in enumerate(want["results"]):
        panel = wpage.locator(".panel").nth(k)
        for level, m in res["minima"].items():
            assert panel.locator(f".m-{level}").inner_text() == f"{m['value']:.3f} (t* = {m['t']})"
            assert panel.locator(f".f-{level}").inner_text() == f"{m['final']:.3f}"
        text = panel.locator(".targets").inner_text()  # which memory, and why
        assert f"training image {res['memory_row']}" in text and "no memory of its own" in text
        assert f"At t = 30, z(t) is nearest to the memory of training image " \
               f"{res['end']['row']} (label {res['end']['label']}" in text  # where it ends
        shown = panel.locator("canvas.memory-img").evaluate("c => c.toDataURL()")
        assert shown.startswith("data:image/png") and not panel.locator(
            "canvas.memory-img").get_attribute("hidden")
    assert "distance ‖z(t) − ξ‖" in wpage.locator(".panel svg.curves").first.inner_html()
    clean(wpage)


def test_clicking_a_curve_goes_to_that_t(served, wpage):
    wpage.goto(served.url + "?label=0&steps=80")
    wait_ready(wpage)
    svg = wpage.locator(".panel svg.curves").first
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    # the plot spans x = 46..410 of the 420-wide view box: t = 40 at its middle
    x = box["x"] + (46 + (410 - 46) * 0.5) * box["width"] / 420
    wpage.mouse.click(x, box["y"] + box["height"] / 2)
    assert wpage.inner_text("#t-value") == "t = 40"
    assert wpage.locator("canvas.frame").first.get_attribute("data-t") == "40"
    clean(wpage)


def test_hovering_the_map_shows_the_memorys_image(served, wpage):
    wpage.goto(served.url + "?label=0")
    wait_ready(wpage)
    info = wpage.evaluate("fetch('/api/model').then(r => r.json())")
    m = info["models"][0]["map"]
    canvas = wpage.locator(".panel canvas.map").first
    canvas.scroll_into_view_if_needed()
    spot = wpage.evaluate("LDX.main.state.panels[0].spots[5]")
    box = canvas.bounding_box()
    wpage.mouse.move(box["x"] + spot[0] * box["width"] / 420,
                     box["y"] + spot[1] * box["height"] / 320)
    tip = wpage.locator(".panel .map-tip").first
    tip.wait_for(state="visible", timeout=10_000)
    row = int(tip.get_attribute("data-row"))
    near = [m["rows"][i] for i in range(len(m["rows"]))
            if abs(wpage.evaluate(f"LDX.main.state.panels[0].spots[{i}][0]") - spot[0]) < 8]
    assert row in near and f"training image {row}" in tip.inner_text()
    clean(wpage)


def test_time_bar_stays_in_view(served, wpage):
    wpage.goto(served.url + "?label=0")
    wait_ready(wpage)
    wpage.locator(".panel canvas.map").last.scroll_into_view_if_needed()
    assert wpage.evaluate("window.scrollY") > 100
    top = wpage.evaluate("document.querySelector('#timebar').getBoundingClientRect().top")
    assert 0 <= top <= 2
    clean(wpage)


def test_the_address_keeps_the_view(served, wpage, browser):  # noqa: F811
    wpage.goto(served.url)
    seq = wait_ready(wpage)
    wpage.select_option("#label", "2")
    seq = wait_ready(wpage, seq)
    wpage.fill("#seed", "7")
    wpage.dispatch_event("#seed", "change")
    seq = wait_ready(wpage, seq)
    wpage.check("input[name=view][value=average]")
    seq = wait_ready(wpage, seq)
    wpage.focus("#t")
    for _ in range(6):
        wpage.keyboard.press("ArrowRight")
    wpage.wait_for_function("() => location.search.includes('t=6')")
    address, curve = wpage.url, wpage.locator(".panel path.curve-memory").first.get_attribute("d")
    assert "label=2" in address and "seed=7" in address and "view=average" in address
    wpage.reload()
    wait_ready(wpage)
    other = browser.new_page()  # a pasted link in a fresh page
    other.goto(address)
    wait_ready(other)
    for p in (wpage, other):
        assert p.input_value("#label") == "2" and p.input_value("#seed") == "7"
        assert p.is_checked("input[name=view][value=average]")
        assert p.inner_text("#t-value") == "t = 6"
        assert p.locator(".panel path.curve-memory").first.get_attribute("d") == curve
    other.close()
    wpage.goto(served.url + "?label=9&noise=hail")
    wpage.wait_for_function("() => document.body.dataset.state === 'error'")
    assert "label=9" in wpage.inner_text("#status") and "noise=hail" in wpage.inner_text("#status")
    clean(wpage)


def test_exports_hold_the_shown_result(served, wpage):
    wpage.goto(served.url + "?view=average&label=0&trials=5&steps=10")
    wait_ready(wpage)
    shown = wpage.evaluate("LDX.main.state.result")
    with wpage.expect_download() as d:
        wpage.click("#export-json")
    assert json.loads(Path(d.value.path()).read_text()) == shown
    with wpage.expect_download() as d:
        wpage.click("#export-csv")
    rows = Path(d.value.path()).read_text().splitlines()
    assert rows[0] == "model,level,statistic,t,value"
    assert len(rows) == 1 + 2 * 3 * (2 + 5) * 11  # models, levels, mean+sem+trials, t
    first = rows[1].split(",")
    assert first[2] == "mean" and float(first[4]) == pytest.approx(
        shown["results"][0]["levels"]["memory"]["mean"][0])
    with wpage.expect_download() as d:
        wpage.click("#export-png")
    png = Path(d.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 800 and height > 700 and d.value.suggested_filename.endswith(".png")
    clean(wpage)


def test_the_python_call_on_the_page_gives_its_numbers(served, wpage):
    wpage.goto(served.url + "?view=average&label=1&trials=4&steps=6&seed=3")
    wait_ready(wpage)
    code = wpage.inner_text("#cmd-py")
    assert "average(ex, " in code and "label=1" in code and "trials=4" in code
    scope = {}
    exec(code, scope)  # the page's own text, run here
    shown = wpage.evaluate("LDX.main.state.result")
    got = scope["result"]
    assert got["request"] == shown["request"]
    assert [r["levels"] for r in got["results"]] == [r["levels"] for r in shown["results"]]
    cli = wpage.inner_text("#cmd-cli")
    assert cli.count("latentdyn dynamics --model ") == 2 and "--label 1" in cli
    assert "--trials 4" in cli and "--seed 3" in cli
    wpage.goto(served.url + "?label=1&steps=6")
    wait_ready(wpage)
    scope = {}
    exec(wpage.inner_text("#cmd-py"), scope)
    shown = wpage.evaluate("LDX.main.state.result")
    assert [r["distances"] for r in scope["result"]["results"]] == [
        r["distances"] for r in shown["results"]]
    clean(wpage)


def test_blank_fields_are_errors_and_stale_panels_are_greyed(served, wpage):
    wpage.goto(served.url + "?label=0")
    seq = wait_ready(wpage)
    curve = wpage.locator(".panel path.curve-memory").first.get_attribute("d")
    for field, name in (("#steps", "T"), ("#seed", "seed"), ("#index", "index")):
        wpage.fill(field, "")
        wpage.dispatch_event(field, "change")
        wpage.wait_for_function("() => document.body.dataset.state === 'error'")
        assert wpage.inner_text("#status").startswith(f"error: {name} is blank")
        assert wpage.evaluate("document.body.classList.contains('stale')")
        assert "previous result" in wpage.inner_text("#notice")
        assert wpage.locator(".panel path.curve-memory").first.get_attribute("d") == curve
        wpage.fill(field, "0" if field != "#steps" else "80")
        wpage.dispatch_event(field, "change")
        seq = wait_ready(wpage, seq)
        assert not wpage.evaluate("document.body.classList.contains('stale')")
        assert wpage.is_hidden("#notice")
    clean(wpage)


def test_draw_mode_clear_play_label_and_mode_menu(served, wpage):
    wpage.goto(served.url + "?label=0")
    seq = wait_ready(wpage)
    mode = wpage.locator("#mode")  # the menu shows its whole longest choice
    assert mode.evaluate("s => s.scrollWidth <= s.clientWidth")
    assert mode.evaluate("s => s.getBoundingClientRect().width") >= mode.evaluate(
        "s => { const c = document.createElement('canvas').getContext('2d');"
        " c.font = getComputedStyle(s).font; return c.measureText('deterministic').width; }")
    wpage.click("#play")
    assert wpage.inner_text("#play") == "pause" and wpage.get_attribute("#play",
                                                                         "aria-label") == "pause"
    wpage.click("#play")
    assert wpage.inner_text("#play") == "play" and wpage.get_attribute("#play",
                                                                        "aria-label") == "play"
    wpage.check("input[name=source][value=drawn]")
    assert wpage.is_visible("#draw")
    assert not wpage.is_visible("#index") and not wpage.is_visible("#random")
    box = wpage.locator("#draw").bounding_box()
    wpage.mouse.move(box["x"] + 60, box["y"] + 40)
    wpage.mouse.down()
    for k in range(12):
        wpage.mouse.move(box["x"] + 60 + 8 * k, box["y"] + 40 + 12 * k)
    wpage.mouse.up()
    wait_ready(wpage, seq)
    wpage.click("#clear")
    assert wpage.evaluate("document.body.classList.contains('stale')")
    assert "drawing was cleared" in wpage.inner_text("#notice")
    clean(wpage)


def test_glossary_links_to_the_help_page(served, wpage):
    wpage.goto(served.url + "?label=0")
    wait_ready(wpage)
    text = wpage.inner_text("#glossary")
    for term in ("memory ξ", "concept ξ̄", "abstract concept ξ̄"):
        assert term in text
    with wpage.context.expect_page() as opened:
        wpage.click("#glossary a")
    help_page = opened.value
    help_page.wait_for_load_state()
    assert "What the explorer measures" in help_page.inner_text("h1")
    assert "docs/explore.md" in help_page.inner_text("body")
    help_page.close()
    clean(wpage)


def test_the_page_fits_400_px(served, page):  # noqa: F811
    page.set_viewport_size({"width": 400, "height": 800})
    page.width = 400
    for query in ("?label=0", "?view=average&label=0&trials=4&steps=10"):
        page.goto(served.url + query)
        wait_ready(page)
        clean(page)


def test_report_viewer_opens_on_the_average(wpage, tmp_path):
    from latentdyn.reporting.report import Section, render_report
    from latentdyn.reporting.viewer import trajectory_viewer

    g = np.random.default_rng(1)
    d = g.random((5, 11))
    frames = g.random((5, 6, 8, 8))
    average = {"label": "mean of all 5 trials", "n": 5, "frames": frames.mean(0),
               "distances": {"concept": d.mean(0)}, "sem": {"concept": d.std(0) / 5 ** 0.5}}
    fragment = trajectory_viewer(frames[:2], {"concept": d[:2]}, steps=[0, 2, 4, 6, 8, 10],
                                 title="p = 0.2", average=average)
    report = tmp_path / "X.html"
    report.write_text(render_report("viewer", "a test", {}, [
        Section("p = 0.2", None, "", "", "", extra_html=fragment)], []))
    wpage.goto(report.as_uri())
    viewer = wpage.locator(".ld-viewer")
    assert viewer.locator("select.ld-pick option").first.inner_text() == "mean of all 5 trials"
    assert viewer.locator("path.ld-band").count() == 1
    assert "mean x(t) over 5 trials" in viewer.locator(".ld-note").inner_text()
    assert viewer.locator("li b").first.inner_text() == f"{d.mean(0)[0]:.3f}"
    assert "distance ‖z(t) − ξ‖" in viewer.locator("svg").inner_html()
    viewer.locator("select.ld-pick").select_option("2")  # the second trial
    assert viewer.locator("path.ld-band").count() == 0
    assert viewer.locator("li b").first.inner_text() == f"{d[1][0]:.3f}"
    viewer.locator(".ld-play").click()
    assert viewer.locator(".ld-play").get_attribute("aria-label") == "pause"
    viewer.locator(".ld-play").click()
    assert viewer.locator(".ld-play").inner_text() == "play"
    page_text = wpage.inner_text("body")
    assert "Claims scorecard" not in page_text and "The paper found" not in page_text
    assert not wpage.outside and not wpage.errors, (wpage.outside, wpage.errors)
    assert wpage.evaluate("document.documentElement.scrollWidth") <= wpage.width


def test_report_banner_and_scorecard_fit_the_first_screens(wpage, tmp_path):
    from latentdyn.reporting.claims import Claim
    from latentdyn.reporting.report import Section, render_report

    claims = [Claim(f"C{k}", f"claim number {k}, stated at the length of a real claim "
                    "with its figure (Fig. 2)", "statistic", "10 of 10", ">= 10",
                    run_value=f"{k} of 10", reproduced=k % 2 == 0, sections=(f"fig{k}",))
              for k in range(1, 9)]
    sections = [Section(f"Fig. {k}: a figure", None, "", "the paper's words", "this run's",
                        id=f"fig{k}") for k in range(1, 9)]
    notes = ["Model: runs/vae, Nz = 100, epochs: 2.", "Smoke profile: 2 epochs (paper: 100).",
             "Stage timings: train 3.0 s."]
    report = tmp_path / "report.html"
    report.write_text(render_report("A study", "What it does.", {"profile": "smoke",
                                                                  "dataset": "mnist"},
                                    sections, claims, notes))
    wpage.set_viewport_size({"width": wpage.width, "height": 1000})
    wpage.goto(report.as_uri())
    banner = wpage.locator("#banner").bounding_box()
    assert banner["y"] < 200 and "toy run" in wpage.inner_text("#banner")
    card = wpage.locator("#claims").bounding_box()
    assert card["height"] <= 1000  # the scorecard fits one screen
    wpage.click("#claims a[href='#claim-C3']")
    assert wpage.evaluate("location.hash") == "#claim-C3"
    assert wpage.locator("#claim-C3").bounding_box()["y"] < 50  # scrolled to it
    wpage.click("#contents a[href='#fig5']")
    assert wpage.evaluate("location.hash") == "#fig5"
    assert wpage.evaluate("document.documentElement.scrollWidth") <= wpage.width
    assert not wpage.outside and not wpage.errors, (wpage.outside, wpage.errors)
