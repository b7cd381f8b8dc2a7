"""Decoding in the browser (static/local-decode.js): a drag decoded on the page, equal to the server's
images; the server path when WebAssembly is off, the decoder is missing or still downloading; the
decoder file's ETag; the traversal rows following a drag."""

from __future__ import annotations

import base64
import io
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import open_page
from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

# Every vae:shown and every #traversal load, in page order, from before the page's scripts run.
RECORD = """
window.shown = [];
window.traversals = [];
document.addEventListener("vae:shown", (e) => shown.push(e.detail));
document.addEventListener("load", (e) => {
  if (e.target.id === "traversal") traversals.push([e.target.dataset.source || "server", e.target.dataset.z]);
}, true);
"""
LOCAL = "document.documentElement.dataset.decoding === 'local'"


def drag(page: Any, steps: int = 30, pause_ms: int = 35) -> str:
    """A mouse drag over slider z0 to the right, `steps` moves `pause_ms` apart; its final value."""
    box = page.locator("#z0").bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(x + i * box["width"] * 0.5 / steps, y)
        page.wait_for_timeout(pause_ms)
    page.mouse.up()
    value: str = page.locator("#z0").input_value()
    return value


def pixels(data_url_or_png: str | bytes) -> np.ndarray:
    raw = data_url_or_png
    if isinstance(raw, str):
        raw = base64.b64decode(raw.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("L")).astype(int)


def server_image(page: Any, path: str) -> np.ndarray:
    r = page.request.get(path)
    assert r.ok, r.text()
    return pixels(r.body())


def decoder_requests(page: Any) -> list[str]:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/fragments/decoded" in r.url else None)
    return asked


@pytest.fixture(scope="module", autouse=True)
def exported(live_server: str) -> None:
    """The decoders exported before the tabs ask: the first export of a process imports and warms
    torch.onnx, seconds on a busy machine, and a tab's waits are shorter than that."""
    for model in ("mnist-z2", "mnist-z10"):
        try:
            with urllib.request.urlopen(f"{live_server}/decoder.onnx?model={model}", timeout=300) as r:
                assert r.status == 200
        except urllib.error.HTTPError as e:
            pytest.fail(f"/decoder.onnx?model={model}: {e.code} {e.read().decode()}")


@pytest.fixture
def local_page(page: Any) -> Any:
    page.add_init_script(RECORD)
    page.goto("/?model=mnist-z2")
    page.wait_for_function(LOCAL)
    return page


def test_a_drag_is_decoded_on_the_page_and_ends_at_the_servers_image(local_page: Any) -> None:
    page = local_page
    asked = decoder_requests(page)
    before = page.evaluate("shown.length")
    final = drag(page)
    expect(page.locator("#decoded")).to_have_attribute("data-z", f"{final},0")
    during = page.evaluate("shown").copy()[before:]
    assert {s["source"] for s in during} == {"local"}, during
    assert len(during) >= 15, f"the image followed the drag: {len(during)} images for 30 moves"
    assert during[-1]["z"] == [float(final), 0]
    assert asked == [], "no slider image was asked of the server while the page decodes"
    expect(page.locator("#decoded")).to_be_hidden()
    expect(page.locator("#decoded-local")).to_be_visible()
    local = pixels(page.evaluate("document.getElementById('decoded-local').toDataURL()"))
    server = server_image(page, f"/decode?model=mnist-z2&z={final},0")
    assert local.shape == server.shape == (28, 28)
    assert np.abs(local - server).max() <= 1, "the local image is the server's to within 1/255"


def test_the_traversal_rows_follow_a_drag_and_end_at_the_servers(local_page: Any) -> None:
    page = local_page
    page.evaluate("traversals.length = 0")
    final = drag(page, steps=30, pause_ms=50)
    during = page.evaluate("traversals.slice()")
    local = [z for source, z in during if source == "local"]
    assert len(set(local)) >= 10, f"the rows were redrawn during the drag: {during}"
    # after a pause the server's own traversal of the final z replaces the local one, unchanged
    expect(page.locator("#traversal")).to_have_attribute("src", f"/traverse?model=mnist-z2&base={final}%2C0"
                                                                "&span=3&steps=9")
    server = server_image(page, page.locator("#traversal").get_attribute("src"))
    here = page.evaluate("""async () => {
      const img = document.getElementById("traversal");
      await img.decode();
      const c = document.createElement("canvas");
      [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
      const ctx = c.getContext("2d");
      ctx.drawImage(img, 0, 0);
      return c.toDataURL();
    }""")
    assert np.array_equal(pixels(here), server)


# Where the map's marker is drawn: the centre of the overlay's pixels in its colour (map-paint.js draws
# it as a ring and a dot in #ff5a36), in CSS pixels of the window; null when it is not drawn.
MARKER = """() => {
  const canvas = document.getElementById("map-overlay");
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0, sx = 0, sy = 0;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i] === 255 && px[i + 1] === 90 && px[i + 2] === 54 && px[i + 3] === 255) {
      n++; sx += (i / 4) % canvas.width; sy += Math.floor(i / 4 / canvas.width);
    }
  }
  const box = canvas.getBoundingClientRect(), scale = box.width / canvas.width;
  return n ? [box.left + (sx / n + 0.5) * scale, box.top + (sy / n + 0.5) * scale] : null;
}"""


def near(at: list[float] | None, point: dict[str, float]) -> bool:
    """Whether the marker drawn `at` is where `point` (latentMap.markerAt()) is, to within a pixel."""
    return at is not None and abs(at[0] - point["x"]) < 1.5 and abs(at[1] - point["y"]) < 1.5


def test_the_map_marker_follows_a_drag_decoded_on_the_page(local_page: Any) -> None:
    page = local_page
    page.locator("#map-panel").scroll_into_view_if_needed()
    page.wait_for_selector("#map-panel[data-state=ready]")
    page.locator("#z0").scroll_into_view_if_needed()
    expect(page.locator("#decoded")).to_have_attribute("data-source", "local")  # the first local image
    # At the frame that shows each new image, where the marker should be (the sliders' z then) and,
    # once that frame's callbacks have all run (the map draws in one of them), where it is drawn. On a
    # busy machine a later frame may come first, with the next move: then it is where the sliders are.
    page.evaluate(f"""window.marks = [];
      const marker = {MARKER};
      document.addEventListener("vae:shown", (e) => requestAnimationFrame(() => {{
        const mark = {{source: e.detail.source, want: latentMap.markerAt()}};
        setTimeout(() => marks.push({{...mark, at: marker(), now: latentMap.markerAt()}}));
      }}));""")
    final = drag(page)
    expect(page.locator("#decoded")).to_have_attribute("data-z", f"{final},0")
    page.wait_for_timeout(100)  # the last frame
    marks = page.evaluate("marks")
    assert {m["source"] for m in marks} == {"local"}, marks
    off = [m for m in marks if not (near(m["at"], m["want"]) or near(m["at"], m["now"]))]
    assert not off, f"at the frame of each image the marker is drawn at the sliders' z: {off}"
    xs = [m["at"][0] for m in marks]
    assert len(set(xs)) >= 15, f"the marker moved with the images: {len(set(xs))} places, {len(marks)} images"
    assert xs == sorted(xs), f"a drag to the right moves the marker to the right only: {xs}"
    assert marks[-1]["want"] == page.evaluate("latentMap.markerAt()"), "the last image is of the final z"


@pytest.fixture
def no_wasm(browser: Any, live_server: str) -> Iterator[Any]:
    """A tab of a Chromium without WebAssembly. V8 12+ no longer knows `--noexpose_wasm` (it says
    "unrecognized flag" and exposes it anyway); in jitless mode it leaves WebAssembly out."""
    other = browser.browser_type.launch(executable_path=CHROMIUM, headless=True,
                                        args=[*CHROMIUM_ARGS, "--js-flags=--jitless"])
    try:
        yield from open_page(other, live_server, 1280, 800)
    finally:
        other.close()


def expect_the_server_path(page: Any) -> None:
    asked = decoder_requests(page)
    final = drag(page)
    expect(page.locator("#decoded")).to_have_attribute("data-z", f"{final},0")
    shown = page.evaluate("shown")
    assert shown and {s["source"] for s in shown} == {"server"}, shown
    assert asked, "the server decoded the drag"
    assert page.locator("#status").text_content() == "", "nothing tells the user about it"


def test_without_webassembly_the_server_decodes_and_no_decoder_is_fetched(no_wasm: Any) -> None:
    page = no_wasm
    assert page.evaluate("typeof WebAssembly") == "undefined"
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "onnx" in r.url else None)
    page.add_init_script(RECORD)
    page.goto("/?model=mnist-z2")
    expect_the_server_path(page)
    assert fetched == []
    assert page.evaluate("document.documentElement.dataset.decoding") is None


def test_without_a_decoder_file_the_server_decodes(page: Any) -> None:
    page.route("**/decoder.onnx*", lambda route: route.fulfill(status=404, body='{"detail": "no"}'))
    page.add_init_script(RECORD)
    page.goto("/?model=mnist-z2")
    page.wait_for_load_state("networkidle")
    expect_the_server_path(page)


def test_until_the_decoder_has_arrived_the_server_decodes_then_the_page(page: Any) -> None:
    held: list[Any] = []
    page.route("**/decoder.onnx*", lambda route: held.append(route))
    page.add_init_script(RECORD)
    page.goto("/?model=mnist-z2")
    page.wait_for_function("document.getElementById('decoded').complete")
    expect_the_server_path(page)  # the download has not finished
    assert held, "the page asked for its decoder"
    held[0].continue_()
    page.wait_for_function(LOCAL)
    page.evaluate("shown.length = 0")
    final = drag(page)
    expect(page.locator("#decoded")).to_have_attribute("data-z", f"{final},0")
    assert {s["source"] for s in page.evaluate("shown")} == {"local"}


def test_the_decoder_file_has_an_etag_and_answers_304(local_page: Any) -> None:
    url = local_page.locator("#z-form").get_attribute("data-decoder")
    first = local_page.request.get(url)
    assert first.ok and first.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = local_page.request.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status == 304 and again.body() == b""


def test_after_a_model_switch_the_new_models_decoder_takes_over(local_page: Any) -> None:
    page = local_page
    page.select_option("#model", "mnist-z10")
    expect(page.locator("#sliders [type=range]")).to_have_count(10)
    decoder = "document.getElementById('z-form').dataset.decoder"
    page.wait_for_function(f"{LOCAL} && {decoder}.includes('mnist-z10')")
    page.evaluate("shown.length = 0")
    page.locator("#z9").fill("1.5")
    expect(page.locator("#decoded")).to_have_attribute("data-z", "0,0,0,0,0,0,0,0,0,1.5")
    shown = page.evaluate("shown")
    assert shown[-1] == {"z": [0] * 9 + [1.5], "source": "local"}, shown
    local = pixels(page.evaluate("document.getElementById('decoded-local').toDataURL()"))
    server = server_image(page, "/decode?model=mnist-z10&z=0,0,0,0,0,0,0,0,0,1.5")
    assert np.abs(local - server).max() <= 1
