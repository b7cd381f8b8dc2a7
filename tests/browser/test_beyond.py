"""Beyond the sliders, in a real browser: the latent map, the drawing pad, interpolation and its
GIFs, and the model-insight panel.

A server of its own: tiny models whose cards carry a training history and one ignored dimension,
the synthetic MNIST test set (100 images) as data, and a Fashion-MNIST model whose test set is
missing, so the map has to say how to get it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from playwright.sync_api import expect

from model import store
from model.vae import VAE, VAEConfig
from tests.browser.conftest import app_env, open_page
from tests.browser.harness import draw_stroke, serve
from tests.browser.test_explorer import digit_png, png_file, slider_values

pytestmark = pytest.mark.browser

HISTORY = {"train": [200.0, 150.0, 140.0, 135.0], "test": [160.0, 148.0, 141.0, 139.0]}
KL_Z10 = [1.2, 0.8, 0.01, 1.5, 0.9, 0.0, 1.1, 0.7, 0.6, 0.5]  # z2 and z5 carry nothing
SPAN = 3  # the sweep GIF's ±span, VIEW.traverse_span


def write_models(folder: Path) -> Path:
    for name, dim, dataset, metrics in (
        ("mnist-z2", 2, "mnist", {"test_neg_elbo": 139.0, "kl_per_dim": [1.0, 2.0], "history": HISTORY}),
        ("mnist-z10", 10, "mnist", {"test_neg_elbo": 120.0, "kl_per_dim": KL_Z10, "history": HISTORY}),
        ("fashion-z2", 2, "fashion-mnist", {}),
    ):
        torch.manual_seed(dim)
        vae = VAE(VAEConfig(latent_dim=dim, arch="mlp", hidden=(32,)))
        with torch.no_grad():  # spread the means so that the points do not all overlap
            vae.encoder[-1][-1].weight[:dim] *= 6
        store.save(vae, folder / name, {"dataset": dataset, "metrics": metrics})
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Iterator[str]:
    weights = write_models(tmp_path_factory.mktemp("beyond-weights"))
    with serve(app_env(tmp_path_factory, weights, data_root)) as url:
        yield url


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    yield from open_page(browser, server, 1280, 800)


@pytest.fixture
def phone(browser: Any, server: str) -> Iterator[Any]:
    """A 390 px wide touch screen."""
    yield from open_page(browser, server, 390, 844, has_touch=True, is_mobile=True)


def open_map(page: Any, model: str) -> None:
    page.goto(f"/?model={model}")
    page.locator("#map-panel").scroll_into_view_if_needed()
    expect(page.locator("#map-panel")).to_have_attribute("data-state", "ready")


def means(page: Any, model: str) -> list[list[float]]:
    body: dict[str, Any] = page.request.get(f"/encodings?model={model}").json()
    return body["means"]


def hover_point(page: Any, i: int) -> int:
    """Move the mouse onto point i; the index of the point the map then shows (i or a close one)."""
    at = page.evaluate(f"latentMap.pointAt({i})")
    page.mouse.move(at["x"], at["y"])
    page.wait_for_function("latentMap.hovered() >= 0")
    shown: int = page.evaluate("latentMap.hovered()")
    near = page.evaluate(f"latentMap.pointAt({shown})")
    assert abs(near["x"] - at["x"]) <= 6 and abs(near["y"] - at["y"]) <= 6
    return shown


def loaded(page: Any, selector: str) -> None:
    page.wait_for_function(f"document.querySelector('{selector}').complete "
                           f"&& document.querySelector('{selector}').naturalWidth > 0")


def expect_near(page: Any, z: list[float]) -> None:
    """The sliders hold z (to 3 decimals), clamped to their range and rounded to their step, and the
    decoded image shows the sliders' z."""
    expect(page.locator("#decoded")).to_have_attribute("data-z", ",".join(slider_values(page)))
    for value, target in zip(slider_values(page), z, strict=True):
        assert abs(float(value) - min(3, max(-3, target))) <= 0.006, (slider_values(page), z)


def finger_stroke(page: Any, points: list[tuple[float, float]]) -> None:
    """`draw_stroke` with a finger: touch events through the DevTools protocol, as a touch screen sends."""
    box = page.locator("#draw").bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    path = [(x0 + (x1 - x0) * k / 8, y0 + (y1 - y0) * k / 8)
            for (x0, y0), (x1, y1) in zip(xy, xy[1:], strict=False) for k in range(9)]
    cdp = page.context.new_cdp_session(page)
    for kind, (x, y) in [("touchStart", path[0]), *(("touchMove", p) for p in path[1:])]:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def download_gif(page: Any, selector: str) -> tuple[str, int]:
    """Click a GIF link; the downloaded file's name and its number of frames."""
    with page.expect_download() as info:
        page.click(selector)
    img = Image.open(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert img.format == "GIF"
    return info.value.suggested_filename, img.n_frames


# ---- the latent map ----------------------------------------------------------------------------


def test_map_draws_every_image_of_both_splits_with_a_class_legend(page: Any) -> None:
    open_map(page, "mnist-z2")
    assert page.evaluate("latentMap.count()") == 700  # 100 test and 600 training images
    expect(page.locator("#map-classes li")).to_have_count(10)
    expect(page.locator("#map-classes")).to_contain_text("9")
    expect(page.locator("#map-axes")).to_contain_text("700 points: z0 to the right, z1 downward")
    assert page.evaluate("latentMap.timings().painted") > 0  # how soon: bench/browser.py, not a test


def test_hovering_a_point_shows_its_decoded_mean_and_its_original(page: Any) -> None:
    open_map(page, "mnist-z2")
    i = hover_point(page, 17)
    mean = means(page, "mnist-z2")[i]
    decoded = page.locator("#map-decoded").get_attribute("src")
    assert decoded == f"/decode?model=mnist-z2&z={','.join(f'{round(v, 4):g}' for v in mean)}"
    original = f"/encodings/{i}/original.png?model=mnist-z2"
    expect(page.locator("#map-original")).to_have_attribute("src", original)
    loaded(page, "#map-decoded")
    loaded(page, "#map-original")
    expect(page.locator("#map-point-caption")).to_contain_text(f"Test image {i}")


def test_clicking_a_point_moves_every_slider_to_its_mean(page: Any) -> None:
    open_map(page, "mnist-z10")
    i = hover_point(page, 40)
    page.mouse.down()
    page.mouse.up()
    expect(page.locator("#z0")).not_to_have_value("0")
    expect_near(page, means(page, "mnist-z10")[i])


def test_the_arrow_keys_step_between_points_and_enter_goes_to_one(page: Any) -> None:
    open_map(page, "mnist-z10")
    page.select_option("#map-split", "test")  # the steps land on test images, whose means the API lists
    page.locator(".map-frame").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("latentMap.hovered() >= 0")
    first = page.evaluate("latentMap.hovered()")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"latentMap.hovered() !== {first}")
    second = page.evaluate("latentMap.hovered()")
    x = [page.evaluate(f"latentMap.pointAt({i})")["x"] for i in (first, second)]
    assert x[1] > x[0], "ArrowRight steps to a point further right"
    expect(page.locator("#map-point-caption")).to_contain_text(f"Test image {second}")
    page.keyboard.press("Enter")
    expect_near(page, means(page, "mnist-z10")[second])
    page.keyboard.press("Escape")
    page.wait_for_function("latentMap.hovered() === -1")


def test_marker_follows_the_sliders(page: Any) -> None:
    open_map(page, "mnist-z2")
    before = page.evaluate("latentMap.markerAt()")
    page.locator("#z0").fill("1")
    page.locator("#z1").fill("1")
    page.wait_for_timeout(100)
    after = page.evaluate("latentMap.markerAt()")
    assert after["x"] > before["x"] + 5 and after["y"] > before["y"] + 5, "z1 grows downward, as in the grid"
    ring = page.evaluate("""([x, y]) => {
      const c = document.getElementById("map-overlay"), box = c.getBoundingClientRect();
      const s = c.width / box.width;
      return [...c.getContext("2d").getImageData((x - box.left + 8) * s, (y - box.top) * s, 1, 1).data];
    }""", [after["x"], after["y"]])
    assert ring[3] > 0 and ring[0] > 200 > ring[2], f"the red ring is drawn around z: {ring}"


def test_the_grid_range_is_outlined_and_follows_the_grid_form(page: Any) -> None:
    open_map(page, "mnist-z2")
    corners = page.evaluate("latentMap.outline()")
    width = corners[1]["x"] - corners[0]["x"]
    assert width > 0 and abs((corners[2]["y"] - corners[1]["y"]) - width) < 1, "a square"
    page.locator("#grid-form [name=lo]").fill("-1")
    page.locator("#grid-form [name=hi]").fill("1")
    page.locator("#grid-form [name=hi]").dispatch_event("change")
    page.wait_for_function(f"latentMap.outline()[1].x - latentMap.outline()[0].x < {width} * 0.8")


def test_larger_latent_spaces_offer_the_grid_axes_and_a_pca_view(page: Any) -> None:
    open_map(page, "mnist-z10")
    page.select_option("#grid-form [name=gx]", "3")
    page.select_option("#grid-form [name=gy]", "7")
    expect(page.locator("#map-axes")).to_contain_text("z3 to the right, z7 downward")
    page.select_option("#map-view", "pca")
    expect(page.locator("#map-axes")).to_contain_text("PC1 to the right, PC2 downward")
    expect(page.locator("#map-axes")).to_contain_text("% of the variance")
    i = hover_point(page, 5)  # picking works on the new plane
    expect(page.locator("#map-point-caption")).to_contain_text(f"Test image {i}")


def test_map_without_the_test_set_says_how_to_get_it(page: Any) -> None:
    page.goto("/?model=fashion-z2")
    expect(page.locator("#map-panel")).to_have_attribute("data-state", "error")
    status = page.locator("#map-status")
    expect(status).to_contain_text("the Fashion-MNIST test set was not found")
    expect(status).to_contain_text("VAE_DATA_DIR")
    expect(page.locator("#map-csv")).to_be_hidden()


def test_map_follows_a_model_switch(page: Any) -> None:
    open_map(page, "mnist-z2")
    page.select_option("#model", "mnist-z10")
    expect(page.locator("#map-view")).to_be_visible()
    expect(page.locator("#map-panel")).to_have_attribute("data-state", "ready")
    expect(page.locator("#map-csv")).to_have_attribute("href", "/encodings?model=mnist-z10&format=csv")


# ---- drawing -----------------------------------------------------------------------------------

ONE = [(0.5, 0.15), (0.5, 0.85)]
BAR = [(0.25, 0.5), (0.75, 0.5)]


def test_drawing_a_stroke_shows_its_reconstruction_and_moves_the_sliders(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    draw_stroke(page, ONE)
    expect(page.locator("#draw-reconstruction")).to_be_visible()
    assert page.locator("#draw-reconstruction").get_attribute("src").startswith("data:image/png;base64,")
    expect(page.locator("#z0")).not_to_have_value("0")
    expect_near(page, [float(v) for v in page.locator("#draw-result").get_attribute("data-z").split(",")])


def test_undo_removes_the_last_stroke_and_clear_empties_the_pad(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    pixels = "document.getElementById('draw').toDataURL()"
    draw_stroke(page, ONE)
    page.wait_for_function("document.getElementById('draw-result').dataset.z")
    one, one_z = page.evaluate(pixels), page.locator("#draw-result").get_attribute("data-z")
    draw_stroke(page, BAR)
    expect(page.locator("#draw-result")).not_to_have_attribute("data-z", one_z)
    assert page.evaluate(pixels) != one
    page.click("#draw-undo")
    assert page.evaluate(pixels) == one
    expect(page.locator("#draw-result")).to_have_attribute("data-z", one_z)
    page.click("#draw-clear")
    expect(page.locator("#draw-result .pair")).to_be_hidden()
    expect(page.locator("#draw-undo")).to_be_disabled()
    blank = page.evaluate("""() => {
      const c = document.getElementById("draw");
      return c.getContext("2d").getImageData(0, 0, c.width, c.height).data.every((v) => v === 255);
    }""")
    assert blank


# ---- interpolation and GIFs --------------------------------------------------------------------


def test_interpolation_between_the_sliders_and_a_map_point_plays(page: Any) -> None:
    open_map(page, "mnist-z2")
    page.locator("#z0").fill("-2")
    page.locator("#z1").fill("2")
    page.click("[data-end=a][data-source=current]")
    i = hover_point(page, 60)
    page.mouse.down()
    page.mouse.up()
    page.click("[data-end=b][data-source=map]")
    expect(page.locator("#interp-b-label")).to_contain_text(f"test image {i}")
    strip = page.locator("#interp-strip")
    expect(strip).to_have_attribute("src", re.compile("from=-2%2C2&"))
    loaded(page, "#interp-strip")
    assert page.evaluate("document.getElementById('interp-strip').naturalWidth") == 10 * 28
    seen = page.evaluate("""async () => {
      const seen = new Set();
      for (let t = 0; t < 30; t++) {
        seen.add(document.getElementById("interp-frame").dataset.frame);
        await new Promise((r) => setTimeout(r, 50));
      }
      return [...seen];
    }""")
    assert len(seen) >= 5, f"the animation steps through the frames: {seen}"
    page.click("#interp-play")
    expect(page.locator("#interp-play")).to_have_attribute("aria-pressed", "false")
    frame = page.locator("#interp-frame").get_attribute("data-frame")
    page.wait_for_timeout(400)
    assert page.locator("#interp-frame").get_attribute("data-frame") == frame, "paused"


def test_endpoints_can_come_from_an_upload_and_a_drawing(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    upload, drawing = (page.locator(f"[data-end=a][data-source={s}]") for s in ("upload", "draw"))
    expect(upload).to_be_disabled()
    expect(drawing).to_be_disabled()
    page.set_input_files("#upload", files=[png_file(digit_png())])
    expect(upload).to_be_enabled()
    upload.click()
    expect(page.locator("#interp-a-label")).to_contain_text("your upload")
    draw_stroke(page, ONE)
    expect(page.locator("[data-end=b][data-source=draw]")).to_be_enabled()
    page.click("[data-end=b][data-source=draw]")
    expect(page.locator("#interp-b-label")).to_contain_text("your drawing")
    z = page.locator("#draw-result").get_attribute("data-z")
    assert f"to={z.replace(',', '%2C')}" in page.locator("#interp-strip").get_attribute("src")


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_gif_button_downloads_the_path_with_one_frame_per_step_there_and_back(page: Any, method: str) -> None:
    page.goto("/?model=mnist-z2")
    page.check(f"#interp-form [value={method}]")
    page.locator("#interp-form [name=steps]").fill("6")
    page.locator("#interp-form [name=steps]").dispatch_event("change")
    gif = re.compile(f"steps=6&method={method}&format=gif")
    expect(page.locator("#gif-path")).to_have_attribute("href", gif)
    assert download_gif(page, "#gif-path") == ("mnist-z2-path.gif", 2 * 6 - 2)


def test_gif_button_sweeps_the_focused_dimension(page: Any) -> None:
    page.goto("/?model=mnist-z10")
    page.locator("#z4").fill("1")
    page.locator("#z3").focus()
    expect(page.locator("#gif-sweep")).to_have_text("GIF: sweep z3")
    href = page.locator("#gif-sweep").get_attribute("href")
    assert "from=0%2C0%2C0%2C-3%2C1%2C0" in href and "to=0%2C0%2C0%2C3%2C1%2C0" in href
    assert download_gif(page, "#gif-sweep") == ("mnist-z10-z3-sweep.gif", 2 * 10 - 2)


# ---- model insight -----------------------------------------------------------------------------


def test_insight_shows_kl_per_dimension_the_training_curve_and_the_test_loss(page: Any) -> None:
    page.goto("/?model=mnist-z10")
    bars = page.locator("#kl-bars li")
    expect(bars).to_have_count(10)
    expect(page.locator("#kl-bars li.inactive")).to_have_count(2)
    expect(page.locator(".insight-panel")).to_contain_text("8 of 10 active")
    points = page.locator("#training-curve polyline.test").get_attribute("points")
    assert len(points.split()) == len(HISTORY["test"])
    expect(page.locator("#losses")).to_contain_text("120.0")


def test_dimensions_that_carry_nothing_are_marked_on_their_sliders(page: Any) -> None:
    page.goto("/?model=mnist-z10")
    inactive = page.locator(".slider.inactive input")
    expect(inactive).to_have_count(2)
    assert [inactive.nth(k).get_attribute("id") for k in range(2)] == ["z2", "z5"]
    expect(page.locator(".slider.inactive .kl").first).to_have_text("inactive")


def test_insight_leaves_out_what_the_card_lacks(page: Any) -> None:
    page.goto("/?model=fashion-z2")
    expect(page.locator(".insight-panel")).to_contain_text("not measured")
    expect(page.locator("#kl-bars")).to_have_count(0)
    expect(page.locator("#training-curve")).to_have_count(0)


def test_new_panels_fit_a_phone(phone: Any) -> None:
    open_map(phone, "mnist-z10")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    for panel in ("#map-panel", "#draw-panel", "#interp-panel"):
        box = phone.locator(panel).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    phone.locator("#draw").scroll_into_view_if_needed()
    # where the pad sits in the viewport, not scrollY: content that loads above it may shift the
    # page, and Chrome's scroll anchoring then changes scrollY to keep the pad where it is
    before = phone.locator("#draw").bounding_box()["y"]
    finger_stroke(phone, ONE)
    expect(phone.locator("#draw-reconstruction")).to_be_visible()
    after = phone.locator("#draw").bounding_box()["y"]
    assert abs(after - before) < 1, "a finger on the pad draws, it does not scroll the page"
