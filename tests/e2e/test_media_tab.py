"""The run page's Media tab: each kind drawn, steps on a slider, and a table of 200,000 rows sorted, filtered and
searched on the server with only the visible rows drawn."""

from __future__ import annotations

import httpx
import pytest

from browser_helpers import wait_js
from conftest import open_view
from demo_store import TABLE_ROWS

pytestmark = pytest.mark.e2e

CELLS = "[...document.querySelectorAll('table.media-rows tbody tr[data-index]')].map(r => [...r.children].map(c => c.textContent))"


@pytest.fixture(scope="module")
def media_run(server):
    return httpx.get(f"{server.url}/api/v1/runs?project=media").json()[0]["id"]


def _media(page, run_id: str, query: str = "") -> None:
    open_view(page, f"#/p/media/run/{run_id}?tab=media{query}")


def test_every_kind_is_drawn_and_the_slider_walks_the_steps(page, media_run):
    _media(page, media_run, "&mkey=samples/image")
    img = page.get_by_role("img", name="sample at step 2")
    assert img.evaluate("i => i.complete && i.naturalWidth") == 48  # decoded from a blob: URL under the CSP
    assert img.get_attribute("src").startswith("blob:")
    slider = page.get_by_label("Step of samples/image")
    slider.focus()
    page.keyboard.press("Home")  # the keyboard moves the slider
    page.get_by_role("img", name="sample at step 0").wait_for()
    assert "mstep=0" in page.url

    page.get_by_role("button", name="weights histogram 3 steps").click()
    canvas = page.get_by_role("img", name="Histogram weights at step 2: 32 bins", exact=False)
    canvas.wait_for()
    assert canvas.evaluate("c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0)")

    page.get_by_role("button", name="report html 3 steps").click()
    frame = page.locator("iframe.html-frame")
    frame.wait_for()
    assert frame.get_attribute("sandbox") == ""  # no scripts, no same origin
    assert page.frame_locator("iframe.html-frame").get_by_role("heading").inner_text() == "Report at step 2"
    assert page.frame_locator("iframe.html-frame").locator("script").count() == 2  # its scripts are there, never run:
    assert page.evaluate("window.__pwned") is None  # neither the one in the logged text nor the one reaching for parent

    page.get_by_role("button", name="speech audio 3 steps").click()
    audio = page.locator("audio")
    audio.wait_for()
    wait_js(page, "document.querySelector('audio').readyState >= 1 && document.querySelector('audio').duration > 0.9")

    page.get_by_role("button", name="clip video 3 steps").click()
    clip = page.get_by_role("img", name="clip at step 2")
    wait_js(page, "document.querySelector('.media-item img') && document.querySelector('.media-item img').naturalWidth === 16")
    assert clip.is_visible()


def test_a_table_of_200000_rows_sorts_filters_and_searches(page, media_run):
    _media(page, media_run, "&mkey=eval/predictions")
    wait_js(page, "window.tracklet.tableView && window.tracklet.tableView.ready")
    count = page.locator(".table-view .count")
    assert count.inner_text() == f"{TABLE_ROWS:,} rows"
    drawn = page.evaluate(CELLS)
    assert 10 < len(drawn) < 80  # only the visible window of rows is in the page
    assert drawn[0] == ["0", "0", "cat", "0", "sample 0"]

    page.get_by_role("button", name="score").click()  # ascending, then descending
    page.get_by_role("button", name="score ▲").click()
    wait_js(page, f"{CELLS}.length && {CELLS}[0][3] === '0.99999'")
    assert "tsort=-score" in page.url

    scroller = page.locator(".table-view .scroller")
    scroller.evaluate("s => { s.scrollTop = s.scrollHeight; }")  # to the last rows: fetched as they come into view
    wait_js(page, f"{CELLS}.length && {CELLS}.at(-1)[3] === '0'")
    assert len(page.evaluate(CELLS)) < 80

    page.get_by_label("Filter the table").fill("label == dog and score >= 0.5")
    wait_js(page, "document.querySelector('.table-view .count').textContent === '25,000 of 200,000 rows'")
    assert all(r[2] == "dog" and float(r[3]) >= 0.5 for r in page.evaluate(CELLS))
    page.get_by_label("Search the table").fill("sample 12345")
    wait_js(page, f"JSON.stringify({CELLS}.map(r => r[4])) === JSON.stringify(['sample 12345', 'sample 123457'])")

    page.expected_console.append("status of 400 (Bad Request)")  # the server names the bad filter
    page.get_by_label("Filter the table").fill("nope > 1")
    message = wait_js(page, "document.getElementById('table-error').textContent")
    assert "filter names column 'nope'" in message
    assert page.get_by_label("Filter the table").get_attribute("aria-invalid") == "true"


def test_the_media_tab_works_in_the_dark_theme(browser, server, media_run):
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    try:
        page.goto(f"{server.url}/#/p/media/run/{media_run}?tab=media&mkey=eval/predictions")
        wait_js(page, "window.tracklet && window.tracklet.tableView && window.tracklet.tableView.ready")
        bg = page.evaluate("getComputedStyle(document.querySelector('table.media-rows thead th')).backgroundColor")
        fg = page.evaluate("getComputedStyle(document.querySelector('table.media-rows td')).color")
        assert bg == "rgb(24, 28, 37)" and fg == "rgb(230, 232, 238)"  # the dark theme's --panel and --fg
    finally:
        context.close()
    assert not problems, problems


def test_images_in_table_cells_are_drawn_as_thumbnails(page, media_run):
    _media(page, media_run, "&mkey=gallery")
    wait_js(page, "window.tracklet.tableView && window.tracklet.tableView.ready")
    tile = page.get_by_role("img", name="tile bird")
    wait_js(page, "[...document.querySelectorAll('img.thumb')].length === 4 && "
                  "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth === 8)")
    assert tile.get_attribute("src").startswith("blob:")
    page.get_by_label("Search the table").fill("fish")
    wait_js(page, f"JSON.stringify({CELLS}.map(r => r[2])) === JSON.stringify(['fish'])")


def test_the_summary_names_media_values_in_words(page, media_run):
    """A media key's summary is its last value's description: shown as kind, size and step, not as raw JSON."""
    open_view(page, f"#/p/media/run/{media_run}")
    summary = page.get_by_role("table", name="Summary")
    cell = lambda key: summary.locator("tr", has=page.locator(f"th:text-is('{key}')")).locator("td").inner_text()  # noqa: E731
    summary.wait_for()
    assert cell("eval/predictions") == f"table {TABLE_ROWS} × 4 @ step 2"
    assert cell("samples/image").startswith("image 48×") and " @ step " in cell("samples/image")
    assert "digest" not in summary.inner_text()


def test_an_mp4_plays_under_the_csp(page, media_run):
    _media(page, media_run, "&mkey=movie")
    page.get_by_role("button", name="movie video 3 steps").click()
    video = page.locator("video")
    video.wait_for()
    assert video.get_attribute("src").startswith("blob:")  # media-src 'self' blob:
    wait_js(page, "document.querySelector('video').readyState >= 2 && document.querySelector('video').videoWidth === 16")
    assert page.evaluate("document.querySelector('video').duration") == pytest.approx(1.0, abs=0.05)  # 4 frames at 4 fps
    assert page.evaluate("document.querySelector('video').error") is None


def test_masks_and_boxes_are_drawn_over_their_image_and_each_set_can_be_hidden(page, media_run):
    _media(page, media_run, "&mkey=segmentation")
    page.get_by_role("img", name="seg at step 2").wait_for()
    wait_js(page, "document.querySelector('canvas[data-mask=prediction]')")
    # the mask's pixels: clear where the class is 0, a class colour where the square is (read at the mask's own scale)
    px = page.evaluate("""(() => { const c = document.querySelector('canvas[data-mask=prediction]').getContext('2d');
      const at = (x, y) => [...c.getImageData(x, y, 1, 1).data];
      return {bg: at(1, 1), cat: at(8, 10), dog: at(28, 10)}; })()""")
    assert px["bg"][3] == 0 and px["cat"][3] > 0 and px["dog"][3] > 0 and px["cat"][:3] != px["dog"][:3]
    boxes = page.evaluate("""[...document.querySelectorAll('svg[data-boxes=detections] rect')].map(r =>
      ['x', 'y', 'width', 'height'].map(a => Math.round(Number(r.getAttribute(a)))))""")
    assert boxes == [[4, 5, 10, 10], [24, 5, 10, 10]]  # fractions of 40x20, and pixels from a middle
    assert page.locator("svg[data-boxes=detections] text").all_text_contents() == ["cat 0.92", "dog"]
    assert page.locator(".overlay-legend li").all_inner_texts() == ["cat", "dog"]
    page.get_by_label("boxes detections").uncheck()
    assert page.locator("svg[data-boxes=detections]").is_hidden()
    assert page.locator("canvas[data-mask=prediction]").is_visible()
