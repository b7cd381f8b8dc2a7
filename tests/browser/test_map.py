"""The latent map at scale, in a real browser: the train/test control, zoom and pan (wheel, drag,
double-click, keys) with hover staying exact, images in place of dots, the manifold layer, the
lasso and its panel, export and interpolation endpoint, numbers on the axes, and the link that
restores the view.

The server of test_beyond.py (tiny models with spread means) on the synthetic data: 100 test and 600
training images.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import app_env, open_page
from tests.browser.harness import serve
from tests.browser.test_beyond import means, open_map, write_models

pytestmark = pytest.mark.browser

# The shown point nearest to (x, y) in window pixels, by brute force over every point: what hover
# must find, within its 6 px radius, at any zoom.
NEAREST = """([x, y]) => {
  let best = -1, bestD = 36;
  const shown = latentMap.count() === latentMap.total();
  for (let i = 0; i < latentMap.total(); i++) {
    const p = latentMap.pointAt(i), d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d <= bestD) [best, bestD] = [i, d];
  }
  return shown ? best : null;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Iterator[str]:
    weights = write_models(tmp_path_factory.mktemp("map-weights"))
    with serve(app_env(tmp_path_factory, weights, data_root)) as url:
        yield url


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    yield from open_page(browser, server, 1280, 800)


def view(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("latentMap.view()")
    return result


def centre(page: Any) -> tuple[float, float]:
    box = page.locator("#map-overlay").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def zoom_until(page: Any, at: int, most: int) -> None:
    """Zoom in around point `at` (the page's own zoom, as the wheel does) until at most `most` points
    are in view."""
    for _ in range(40):
        if page.evaluate("latentMap.inView()") <= most:
            return
        p = page.evaluate(f"latentMap.pointAt({at})")
        page.evaluate(f"latentMap.zoomAt(1.5, {p['x']}, {p['y']})")
    raise AssertionError("could not zoom in that far")


def lasso(page: Any, half: float, around: int | None = None) -> None:
    """A square lasso of 2*half px around the map's centre (or point `around`), drawn with the mouse
    in lasso mode."""
    p = page.evaluate(f"latentMap.pointAt({around})") if around is not None else None
    x, y = (p["x"], p["y"]) if p else centre(page)
    page.click("#map-lasso")
    expect(page.locator("#map-lasso")).to_have_attribute("aria-pressed", "true")
    page.mouse.move(x - half, y - half)
    page.mouse.down()
    for dx, dy in ((half, -half), (half, half), (-half, half), (-half, -half)):
        page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()


# ---- item 1: every split, and the control --------------------------------------------------------


def test_train_test_control_shows_each_split_and_says_how_many(page: Any) -> None:
    open_map(page, "mnist-z2")
    expect(page.locator("#map-split")).to_be_visible()
    expect(page.locator("#map-axes")).to_contain_text("700 points:")
    page.select_option("#map-split", "test")
    expect(page.locator("#map-axes")).to_contain_text("100 points (the test set):")
    assert page.evaluate("latentMap.count()") == 100
    page.select_option("#map-split", "train")
    expect(page.locator("#map-axes")).to_contain_text("600 points (the training set):")
    i = page.evaluate("latentMap.total()") - 1  # the last training image
    at = page.evaluate(f"latentMap.pointAt({i})")
    page.mouse.move(at["x"], at["y"])
    expect(page.locator("#map-point-caption")).to_contain_text("Training image")
    expect(page.locator("#map-original")).to_have_attribute("src", re.compile(r"&split=train$"))


def test_colour_by_split_swaps_the_legend(page: Any) -> None:
    open_map(page, "mnist-z2")
    page.select_option("#map-color", "split")
    expect(page.locator("#map-splits")).to_be_visible()
    expect(page.locator("#map-classes")).to_be_hidden()


# ---- item 2: zoom and pan, hover exact ---------------------------------------------------------


def test_wheel_zooms_around_the_pointer_and_hover_stays_exact(page: Any) -> None:
    open_map(page, "mnist-z2")
    before = view(page)
    p = page.evaluate("latentMap.pointAt(17)")
    page.mouse.move(p["x"], p["y"])
    for _ in range(5):
        page.mouse.wheel(0, -200)
    page.wait_for_function(f"latentMap.view().half < {before['half']} / 4")
    after = page.evaluate("latentMap.pointAt(17)")
    assert abs(after["x"] - p["x"]) < 3 and abs(after["y"] - p["y"]) < 3, "the point under the wheel stays"
    x, y = centre(page)
    for dx, dy in ((0, 0), (37, -21), (-55, 48), (12, 90)):
        q = page.evaluate(f"latentMap.pointAt({page.evaluate(NEAREST, [x + dx, y + dy]) % 700})")
        page.mouse.move(q["x"] + 1, q["y"] - 1)
        expected = page.evaluate(NEAREST, [q["x"] + 1, q["y"] - 1])
        page.wait_for_function(f"latentMap.hovered() === {expected}")


def test_drag_pans_and_double_click_goes_back(page: Any) -> None:
    open_map(page, "mnist-z2")
    home = view(page)["home"]
    page.evaluate(f"latentMap.zoomAt(4, {centre(page)[0]}, {centre(page)[1]})")
    p = page.evaluate("latentMap.pointAt(3)")
    x, y = centre(page)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 25, steps=5)
    page.mouse.move(x + 80, y + 50, steps=5)
    page.mouse.up()
    q = page.evaluate("latentMap.pointAt(3)")
    assert abs(q["x"] - p["x"] - 80) < 1.5 and abs(q["y"] - p["y"] - 50) < 1.5, "points follow the drag"
    assert page.locator("#z0").input_value() == "0", "a drag is not a click"
    page.mouse.dblclick(x, y)
    page.wait_for_function(f"latentMap.view().half === {home['half']}")


def test_keys_zoom_pan_and_reset(page: Any) -> None:
    open_map(page, "mnist-z10")
    home = view(page)["home"]
    page.locator(".map-frame").focus()
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert view(page)["half"] == pytest.approx(home["half"] / 2.25)
    page.keyboard.press("Shift+ArrowRight")
    assert view(page)["cx"] > home["cx"]
    page.keyboard.press("-")
    assert view(page)["half"] == pytest.approx(home["half"] / 1.5)
    page.keyboard.press("0")
    assert view(page)["half"] == home["half"] and view(page)["cx"] == home["cx"]


def test_axes_carry_numbers_that_follow_the_zoom(page: Any) -> None:
    open_map(page, "mnist-z2")
    ticks = page.evaluate("latentMap.ticks()")
    assert ticks["step"] == 1 and "0" in ticks["xs"] and "-1" in ticks["ys"]
    page.evaluate(f"latentMap.zoomAt(20, {centre(page)[0]}, {centre(page)[1]})")
    page.wait_for_function("latentMap.ticks().step < 0.1")  # repainted at the next frame
    finer = page.evaluate("latentMap.ticks()")
    assert finer["step"] < 0.1 and all(re.fullmatch(r"-?\d+\.\d\d?", t) for t in finer["xs"])


# ---- item 3: images instead of dots ---------------------------------------------------------


def test_zoomed_in_points_become_their_images_and_back(page: Any) -> None:
    open_map(page, "mnist-z2")
    assert page.evaluate("latentMap.mode()") == "dots"
    with page.expect_response(re.compile(r"/encodings/atlas\.png\?.*kind=original")) as atlas:
        zoom_until(page, 17, 60)
    assert atlas.value.status == 200
    page.wait_for_function("latentMap.mode() === 'images' && latentMap.tilesLoading() === 0 "
                           "&& latentMap.imagesDrawn() > 0")
    assert page.evaluate("latentMap.imagesDrawn()") >= min(page.evaluate("latentMap.inView()"), 1)
    with page.expect_response(re.compile(r"/encodings/atlas\.png\?.*kind=decoded")):
        page.select_option("#map-images", "decoded")
    page.wait_for_function("latentMap.tilesLoading() === 0 && latentMap.imagesDrawn() > 0")
    page.locator(".map-frame").focus()
    page.keyboard.press("0")
    page.wait_for_function("latentMap.mode() === 'dots'")


def test_hovering_an_image_picks_its_point(page: Any) -> None:
    open_map(page, "mnist-z2")
    zoom_until(page, 17, 60)
    page.wait_for_function("latentMap.mode() === 'images' && latentMap.imagesDrawn() > 0")
    p = page.evaluate("latentMap.pointAt(17)")
    page.mouse.move(p["x"], p["y"])
    page.wait_for_function("latentMap.hovered() === 17")


# ---- item 4: the manifold layer -----------------------------------------------------------------


def test_manifold_layer_paints_the_lattice_of_the_view_and_follows_a_zoom(page: Any) -> None:
    open_map(page, "mnist-z2")
    page.check("#map-manifold")
    page.wait_for_function("latentMap.manifold() !== null")
    first = page.evaluate("latentMap.manifold()")
    v = view(page)
    x0, x1, y0, y1 = first["region"]
    assert x0 == pytest.approx(max(-10, v["cx"] - v["half"]))
    assert y1 == pytest.approx(min(10, v["cy"] + v["half"]))
    assert "/grid?model=mnist-z2&steps=16&base=0,0&z0=" in first["url"]
    page.evaluate(f"latentMap.zoomAt(3, {centre(page)[0]}, {centre(page)[1]})")
    page.wait_for_function(f"latentMap.manifold().url !== {first['url']!r}")
    x0, x1, _, _ = page.evaluate("latentMap.manifold()")["region"]
    assert x1 - x0 == pytest.approx(2 * view(page)["half"])
    assert page.evaluate("latentMap.timings().manifold") > 0


def test_manifold_follows_the_sliders_and_needs_the_grid_axes(page: Any) -> None:
    open_map(page, "mnist-z10")
    page.check("#map-manifold")
    page.wait_for_function("latentMap.manifold() !== null")
    page.locator("#z5").fill("1")
    page.wait_for_function("latentMap.manifold().url.includes('base=0,0,0,0,0,1,')")
    page.select_option("#map-view", "pca")
    expect(page.locator("#map-manifold")).to_be_disabled()


# ---- item 5: the lasso ------------------------------------------------------------------------


def test_lasso_selects_points_shows_the_panel_and_greys_the_rest(page: Any) -> None:
    open_map(page, "mnist-z2")
    lasso(page, 25, around=17)
    page.wait_for_function("latentMap.selection() !== null")
    count = page.evaluate("latentMap.selection().count")
    assert 0 < count < 700
    expect(page.locator("#map-selection")).to_be_visible()
    expect(page.locator("#map-selection-count")).to_contain_text(f"{count:,} points selected")
    bars = page.eval_on_selector_all("#map-selection-bars li", "all => all.map((li) => +li.dataset.count)")
    assert len(bars) == 10 and sum(bars) == count
    mean = page.evaluate("latentMap.selection().mean")
    z = ",".join(f"{round(v, 4):g}" for v in mean)
    expect(page.locator("#map-selection-mean")).to_have_attribute("src", f"/decode?model=mnist-z2&z={z}")
    page.wait_for_function("document.getElementById('map-selection-mean').naturalWidth > 0")
    greyed = page.evaluate("""() => {
      const c = document.getElementById("map");
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let k = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i] === 197 && px[i + 1] === 202 && px[i + 2] === 211) k++;  // map-paint.js's GREY
      }
      return k;
    }""")
    assert greyed > 20, "the unselected points stay, greyed"
    page.click("#map-selection-clear")
    expect(page.locator("#map-selection")).to_be_hidden()


def test_selection_exports_as_csv(page: Any) -> None:
    open_map(page, "mnist-z2")
    page.select_option("#map-split", "test")
    lasso(page, 150)
    page.wait_for_function("latentMap.selection() !== null")
    count = page.evaluate("latentMap.selection().count")
    with page.expect_download() as info:
        page.click("#map-selection-csv")
    assert info.value.suggested_filename == "mnist-z2-selection.csv"
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text())))
    assert rows[0] == ["index", "split", "label", "class_name", "z0", "z1"]
    assert len(rows) == count + 1 and {r[1] for r in rows[1:]} == {"test"}
    api = means(page, "mnist-z2")
    for row in rows[1:]:
        assert [float(v) for v in row[4:]] == pytest.approx(api[int(row[0])], abs=1e-3)


def test_selection_becomes_an_interpolation_endpoint(page: Any) -> None:
    open_map(page, "mnist-z2")
    lasso(page, 100)
    page.wait_for_function("latentMap.selection() !== null")
    count = page.evaluate("latentMap.selection().count")
    page.click("#map-selection [data-interp-end=b]")
    expect(page.locator("#interp-b-label")).to_contain_text(f"the mean of {count:,} selected points")
    expect(page.locator("[data-end=a][data-source=selection]")).to_be_enabled()


def test_the_keyboard_selects_the_view(page: Any) -> None:
    open_map(page, "mnist-z2")
    page.locator(".map-frame").focus()
    page.keyboard.press("+")
    page.keyboard.press("+")
    in_view = page.evaluate("latentMap.inView()")
    page.locator("#map-select-view").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("latentMap.selection() !== null")
    assert page.evaluate("latentMap.selection().count") == in_view
    page.locator(".map-frame").focus()
    page.keyboard.press("Escape")
    expect(page.locator("#map-selection")).to_be_hidden()


# ---- the link keeps the map's view ---------------------------------------------------------------


def test_the_link_restores_the_map_view(page: Any) -> None:
    open_map(page, "mnist-z10")
    page.select_option("#map-view", "pca")
    page.select_option("#map-split", "train")
    page.select_option("#map-color", "split")
    page.evaluate(f"latentMap.zoomAt(3, {centre(page)[0] + 40}, {centre(page)[1]})")
    expect(page).to_have_url(re.compile(r"map=[-\d.e]+,[-\d.e]+,[\d.e]+"))
    url = page.url
    assert "points=train" in url and "color=split" in url and "plane=pca" in url
    v = view(page)
    other = page.context.new_page()
    open_map(other, "mnist-z10")  # the page's own URL first...
    other.goto(url)  # ...then the link
    expect(other.locator("#map-panel")).to_have_attribute("data-state", "ready")
    expect(other.locator("#map-view")).to_have_value("pca")
    expect(other.locator("#map-split")).to_have_value("train")
    expect(other.locator("#map-color")).to_have_value("split")
    w = other.evaluate("latentMap.view()")
    assert w["half"] == pytest.approx(v["half"], rel=1e-3)
    assert w["cx"] == pytest.approx(v["cx"], abs=1e-3 * v["half"])
    other.locator("#z0").fill("1")  # moving a slider keeps the map's part of the URL
    expect(other).to_have_url(re.compile(r"z=1,0.*&map="))


@pytest.fixture
def touch(browser: Any, server: str) -> Iterator[Any]:
    """A touch screen, wide enough for the map beside its panel."""
    yield from open_page(browser, server, 800, 900, has_touch=True)


def fingers(cdp: Any, kind: str, *points: tuple[float, float]) -> None:
    """Touches through the DevTools protocol, one id per finger, as a touch screen sends them."""
    spots = [{"x": x, "y": y, "id": k} for k, (x, y) in enumerate(points)]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": spots})


def test_a_pinch_zooms_and_a_finger_pans(touch: Any) -> None:
    open_map(touch, "mnist-z2")
    home = view(touch)["home"]
    x, y = centre(touch)
    cdp = touch.context.new_cdp_session(touch)
    fingers(cdp, "touchStart", (x - 20, y), (x + 20, y))
    for k in range(1, 9):
        fingers(cdp, "touchMove", (x - 20 - 10 * k, y), (x + 20 + 10 * k, y))
    fingers(cdp, "touchEnd")
    touch.wait_for_function(f"latentMap.view().half < {home['half']} / 3")  # 40 px apart -> 200 px
    before = touch.evaluate("latentMap.pointAt(5)")
    fingers(cdp, "touchStart", (x, y))
    for k in range(1, 7):
        fingers(cdp, "touchMove", (x + 10 * k, y + 5 * k))
    fingers(cdp, "touchEnd")
    after = touch.evaluate("latentMap.pointAt(5)")
    assert abs(after["x"] - before["x"] - 60) < 2 and abs(after["y"] - before["y"] - 30) < 2
