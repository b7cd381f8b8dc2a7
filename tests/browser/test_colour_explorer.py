"""A colour model trained on a folder of images, in a real browser: sliders, grid, upload, drawing in
colour, the map of its test split with its classes, the factors heat map; and a model copied into the
weights folder while the page is open appearing in the picker."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import app_env, open_page
from tests.browser.harness import draw_stroke, serve
from tests.folder_models import SIDE, shapes_model

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NAME = "shapes-tiny"


@pytest.fixture(scope="module")
def colour_server(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("colour")
    weights = shapes_model(root, name=NAME)
    env = app_env(tmp_path_factory, weights, data_root)
    env.update({"VAE_DEFAULT_MODEL": NAME, "VAE_RELOAD_SECONDS": "0.5"})
    with serve(env) as url:
        yield url, weights


@pytest.fixture
def colour_page(browser: Any, colour_server: tuple[str, Path]) -> Iterator[Any]:
    yield from open_page(browser, colour_server[0], 1280, 900)


def pixels(page: Any, selector: str) -> np.ndarray:
    src = page.locator(selector).get_attribute("src")
    if src.startswith("data:"):
        import base64

        body = base64.b64decode(src.split(",", 1)[1])
    else:
        body = page.request.get(src).body()
    return np.asarray(Image.open(io.BytesIO(body)))


def test_a_colour_model_through_sliders_grid_upload_drawing_and_map(colour_page: Any) -> None:
    page = colour_page
    page.goto(f"/?model={NAME}")
    first = pixels(page, "#decoded")
    assert first.shape == (SIDE, SIDE, 3)
    page.locator("#z0").focus()
    for _ in range(4):
        page.keyboard.press("PageUp")
    expect(page.locator("#decoded")).not_to_have_attribute("data-z", "0,0,0,0")
    assert not np.array_equal(pixels(page, "#decoded"), first)
    expect(page.locator("#grid-view img")).to_be_visible()
    assert pixels(page, "#grid-view img").ndim == 3

    img = Image.new("RGB", (80, 50), (0, 0, 0))
    img.paste((30, 200, 60), (25, 10, 55, 40))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    page.set_input_files(
        "#upload", files=[{"name": "s.png", "mimeType": "image/png", "buffer": buf.getvalue()}]
    )
    expect(page.locator("#upload-reconstruction")).to_be_visible()
    assert pixels(page, "#upload-input").shape == (SIDE, SIDE, 3)

    page.locator("#draw").scroll_into_view_if_needed()
    page.locator("#draw-ink").fill("#ff0000")  # red ink on the black paper
    draw_stroke(page, [(0.3, 0.3), (0.7, 0.7)])
    expect(page.locator("#draw-reconstruction")).to_be_visible()
    drawn = pixels(page, "#draw-input")
    assert drawn.shape == (SIDE, SIDE, 3)
    red = drawn[..., 0].astype(int) - drawn[..., 1].astype(int)
    assert red.max() > 150, "the drawing reached the model in the ink's colour"

    page.locator("#map-panel").scroll_into_view_if_needed()
    expect(page.locator("#map-panel")).to_have_attribute("data-state", "ready")
    assert page.evaluate("latentMap.count()") >= 24
    expect(page.locator("#map-classes")).to_contain_text("triangle")
    expect(page.locator("#factor-map")).to_contain_text("rotation")


def test_a_model_copied_in_while_the_page_is_open_appears_in_the_picker(
    colour_page: Any, colour_server: tuple[str, Path]
) -> None:
    page = colour_page
    page.goto(f"/?model={NAME}")
    expect(page.locator("#model option")).to_have_count(1)
    weights = colour_server[1]
    for suffix in (".safetensors", ".json"):  # weights first, the card last, as a careful copy would
        text = (weights / f"{NAME}{suffix}").read_bytes()
        if suffix == ".json":
            text = text.replace(f'"name": "{NAME}"'.encode(), b'"name": "copied"')
        (weights / f"copied{suffix}").write_bytes(text)
    try:
        expect(page.locator("#model option[value=copied]")).to_have_count(1, timeout=5_000)
        page.locator("#model").select_option("copied")
        expect(page.locator("#z-model")).to_have_value("copied")
    finally:
        for suffix in (".safetensors", ".json"):
            (weights / f"copied{suffix}").unlink()
    expect(page.locator("#model option[value=copied]")).to_have_count(0, timeout=5_000)


def test_the_map_colours_its_points_by_any_factor(colour_page: Any) -> None:
    page = colour_page
    page.goto(f"/?model={NAME}")
    page.locator("#map-panel").scroll_into_view_if_needed()
    expect(page.locator("#map-panel")).to_have_attribute("data-state", "ready")
    expect(page.locator("#map-color option[value='factor:1']")).to_have_text("by hue")
    page.locator("#map-images").select_option("dots")  # 240 points are few enough to be drawn as images
    page.wait_for_timeout(200)
    before = page.evaluate("document.getElementById('map').toDataURL()")
    page.locator("#map-color").select_option("factor:1")
    expect(page.locator("#map-factor-legend")).to_contain_text("hue")
    expect(page.locator("#map-classes")).to_be_hidden()
    page.wait_for_function("(before) => document.getElementById('map').toDataURL() !== before", arg=before)
    page.wait_for_function("new URLSearchParams(location.search).get('color') === 'factor:1'")
    page.reload()  # the link keeps the colouring
    page.locator("#map-panel").scroll_into_view_if_needed()
    expect(page.locator("#map-factor-legend")).to_contain_text("hue")
