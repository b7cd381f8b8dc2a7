"""Models brought as ONNX, in a real browser: a tutorial VAE trained and exported in the test, a colour
conv VAE at 32 px, and a decoder-only model, through sliders, grid, traversals, upload and drawing."""

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
from tests.conftest import write_tiny_models
from tests.onnx_models import write_onnx_models

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def onnx_server(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Iterator[str]:
    folder = write_onnx_models(write_tiny_models(tmp_path_factory.mktemp("onnx-weights")))
    with serve(app_env(tmp_path_factory, folder, data_root)) as url:
        yield url


@pytest.fixture
def onnx_page(browser: Any, onnx_server: str) -> Iterator[Any]:
    yield from open_page(browser, onnx_server, 1280, 900)


def shown(page: Any, selector: str = "#decoded") -> np.ndarray:
    """The pixels of an <img> as the page holds them (its data URL or its fetched PNG); for the
    slider's image, the canvas the page decodes into once it does (static/local-decode.js)."""
    if selector == "#decoded" and page.locator("#decoded-local:visible").count():
        import base64

        url = page.evaluate("document.getElementById('decoded-local').toDataURL()")
        rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
        grey = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        return rgb[..., 0] if grey else rgb
    src = page.locator(selector).get_attribute("src")
    body = page.request.get(src).body() if not src.startswith("data:") else None
    if body is None:
        import base64

        body = base64.b64decode(src.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(body)))


def colour_photo() -> dict[str, Any]:
    img = Image.new("RGB", (90, 60), (20, 120, 220))
    img.paste((230, 200, 30), (30, 10, 60, 50))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return {"name": "photo.png", "mimeType": "image/png", "buffer": buf.getvalue()}


@pytest.mark.parametrize(("name", "dim", "channels"), [("tutorial", 20, 1), ("colour", 4, 3)])
def test_an_onnx_model_is_explored_like_a_native_one(
    onnx_page: Any, name: str, dim: int, channels: int
) -> None:
    page = onnx_page
    page.goto(f"/?model={name}")
    expect(page.locator("#sliders [type=range]")).to_have_count(dim)
    first = shown(page)
    assert first.ndim == (3 if channels == 3 else 2)
    page.locator("#z0").focus()
    for _ in range(5):
        page.keyboard.press("PageUp")  # a big step: the image must change
    expect(page.locator("#decoded")).not_to_have_attribute("data-z", ",".join(["0"] * dim))
    assert not np.array_equal(shown(page), first)
    expect(page.locator("#traversal-view img")).to_be_visible()
    expect(page.locator("#grid-view img")).to_be_visible()
    # an upload lands on its latent mean, reconstructed in the model's colours
    page.set_input_files("#upload", files=[colour_photo()])
    expect(page.locator("#upload-reconstruction")).to_be_visible()
    assert shown(page, "#upload-reconstruction").ndim == (3 if channels == 3 else 2)
    # and so does a drawing
    page.locator("#draw").scroll_into_view_if_needed()
    draw_stroke(page, [(0.5, 0.15), (0.5, 0.85)])
    expect(page.locator("#draw-reconstruction")).to_be_visible()
    page.wait_for_function("document.getElementById('draw-result').dataset.z")


def test_a_decoder_only_model_hides_what_needs_an_encoder_and_says_why(onnx_page: Any) -> None:
    page = onnx_page
    page.goto("/?model=decoder-only")
    expect(page.locator(".upload-panel .notice")).to_contain_text("has no encoder")
    expect(page.locator("#upload")).to_have_count(0)
    expect(page.locator("#draw")).to_have_count(0)
    expect(page.locator("#map")).to_have_count(0)
    page.locator("#z1").focus()
    page.keyboard.press("PageUp")
    expect(page.locator("#decoded")).not_to_have_attribute("data-z", "0,0,0,0")
    expect(page.locator("#grid-view img")).to_be_visible()
