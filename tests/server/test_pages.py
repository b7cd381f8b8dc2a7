"""The explorer page and its htmx fragments, over HTTP without a browser (tests/browser drives one)."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from server.app import create_app
from server.settings import Settings

HX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def pages(tiny_weights_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(weights_dir=tiny_weights_dir))) as client:
        yield client


def sliders(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="range" id="(z\d+)" name="z\d+"[^>]*?value="([^"]*)"', html, re.S))


def data_url_image(html: str, element_id: str) -> Image.Image:
    src = re.search(rf'id="{element_id}" src="data:image/png;base64,([^"]+)"', html)
    assert src, f"no data-URL image #{element_id} in {html[:200]!r}"
    return Image.open(io.BytesIO(base64.b64decode(src.group(1))))


def png(color: int = 0, size: int = 40) -> bytes:
    img = Image.new("L", (size, size), 255)
    img.paste(color, (12, 8, 28, 32))  # a dark bar on white paper: a "1"
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_index_shows_one_slider_per_latent_dimension(pages: TestClient) -> None:
    for model, dim in (("mnist-z2", 2), ("mnist-z10", 10)):
        r = pages.get("/", params={"model": model})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert list(sliders(r.text)) == [f"z{i}" for i in range(dim)]


def test_index_shows_the_model_card(pages: TestClient) -> None:
    card = pages.get("/", params={"model": "mnist-z10"}).text
    assert "MNIST" in card and "<dd>10</dd>" in card and "123.4 nats" in card


def test_index_restores_z_from_the_url(pages: TestClient) -> None:
    r = pages.get("/", params={"model": "mnist-z2", "z": "1.25,-0.5"})
    assert sliders(r.text) == {"z0": "1.25", "z1": "-0.5"}
    assert 'data-z="1.25,-0.5"' in r.text


def test_index_rounds_z_to_the_sliders_step(pages: TestClient) -> None:
    r = pages.get("/", params={"model": "mnist-z2", "z": "0.123456,-2.999"})
    assert sliders(r.text) == {"z0": "0.12", "z1": "-3"}


def test_index_refuses_a_z_beyond_the_sliders_range_with_a_notice(pages: TestClient) -> None:
    r = pages.get("/", params={"model": "mnist-z2", "z": "5,-7"})
    assert r.status_code == 200 and 'class="notice"' in r.text
    assert "z0 is 5" in r.text and "|value| &lt;= 3" in r.text and "Starting from zeros" in r.text
    assert sliders(r.text) == {"z0": "0", "z1": "0"}  # not silently clamped to (3, -3)


def test_slider_fragments_refuse_a_value_beyond_the_sliders_range(pages: TestClient) -> None:
    r = pages.get("/fragments/decoded", params={"model": "mnist-z2", "z0": "4", "z1": "0"}, headers=HX)
    assert r.status_code == 422 and "z0 is 4" in r.text


def test_grid_fragment_refuses_a_range_beyond_the_sliders(pages: TestClient) -> None:
    r = pages.get("/fragments/grid", params={"model": "mnist-z2", "lo": "-10", "hi": "10"}, headers=HX)
    assert r.status_code == 422 and "within ±3" in r.text
    page = pages.get("/", params={"model": "mnist-z2"}).text
    assert re.search(r'name="lo"[^>]*min="-3"[^>]*max="3"', page), "the browser refuses it too"


def test_sample_fragment_says_when_values_fall_beyond_the_sliders(pages: TestClient) -> None:
    params = {"model": "mnist-z10", "action": "sample", "temperature": "2"}
    for _ in range(40):  # at t = 2, a draw of 10 has a value beyond ±3 three times in four
        r = pages.get("/fragments/sliders", params=params)
        if "beyond the sliders" in r.text:
            break
    else:
        pytest.fail("40 draws at temperature 2 never went beyond ±3")
    notice = re.search(r'<p class="notice" role="status">([^<]*)</p>', r.text).group(1)  # type: ignore[union-attr]
    held = {k for k, v in sliders(r.text).items() if abs(float(v)) == 3}
    named = set(re.findall(r"(z\d+) = ", notice))
    assert notice.startswith("Sampled at temperature 2: ") and named and named <= held


def test_index_explains_a_bad_z_and_starts_from_zeros(pages: TestClient) -> None:
    r = pages.get("/", params={"model": "mnist-z10", "z": "1,2"})
    assert r.status_code == 200
    assert 'class="notice"' in r.text and "10 dimensions" in r.text
    assert set(sliders(r.text).values()) == {"0"}


def test_index_explains_an_unknown_model(pages: TestClient) -> None:
    r = pages.get("/", params={"model": "nope"})
    assert "unknown model &#39;nope&#39;" in r.text and "Showing mnist-z2" in r.text


def test_model_switch_by_htmx_returns_only_the_explorer(pages: TestClient) -> None:
    r = pages.get("/", params={"model": "mnist-z10"}, headers=HX)
    assert r.text.lstrip().startswith(("{#", "<main")) and "<html" not in r.text
    assert r.text.count('type="range" id="z') == 10
    assert "HX-Request" in r.headers["vary"]


def test_decoded_fragment_is_the_image_at_that_z(pages: TestClient) -> None:
    a = pages.get("/fragments/decoded", params={"model": "mnist-z2", "z0": "0", "z1": "0"}).text
    b = pages.get("/fragments/decoded", params={"model": "mnist-z2", "z0": "2.5", "z1": "-1"}).text
    assert data_url_image(a, "decoded").size == (28, 28)
    assert data_url_image(a, "decoded").tobytes() != data_url_image(b, "decoded").tobytes()
    assert 'data-z="2.5,-1"' in b


def test_decoded_fragment_rejects_a_bad_value_visibly(pages: TestClient) -> None:
    r = pages.get("/fragments/decoded", params={"model": "mnist-z2", "z0": "abc"}, headers=HX)
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert r.headers["HX-Retarget"] == "#z-message"


def test_reset_fragment_sets_zeros_and_fires_input(pages: TestClient) -> None:
    r = pages.get("/fragments/sliders", params={"model": "mnist-z10", "action": "reset"})
    assert set(sliders(r.text).values()) == {"0"} and len(sliders(r.text)) == 10
    assert '"input"' in r.headers["HX-Trigger-After-Swap"]


def test_sample_fragment_draws_from_the_prior(pages: TestClient) -> None:
    draws = [
        sliders(pages.get("/fragments/sliders", params={"model": "mnist-z10", "action": "sample"}).text)
        for _ in range(2)
    ]
    assert draws[0] != draws[1]
    cold = sliders(
        pages.get(
            "/fragments/sliders", params={"model": "mnist-z10", "action": "sample", "temperature": "0"}
        ).text
    )
    assert set(cold.values()) == {"0"}


def test_sample_fragment_rejects_a_temperature_beyond_the_slider(pages: TestClient) -> None:
    r = pages.get(
        "/fragments/sliders", params={"model": "mnist-z2", "action": "sample", "temperature": "9"}, headers=HX
    )
    assert r.status_code == 422 and 'role="alert"' in r.text and "temperature" in r.text


def test_grid_fragment_points_at_the_grid_image(pages: TestClient) -> None:
    r = pages.get(
        "/fragments/grid",
        params={"model": "mnist-z10", "z3": "1", "gx": "2", "gy": "5", "lo": "-2", "hi": "2", "steps": "9"},
    )
    src = re.search(r'id="grid" src="([^"]+)"', r.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    image = pages.get(src)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (9 * 28, 9 * 28)


def test_grid_fragment_rejects_one_dimension_twice(pages: TestClient) -> None:
    r = pages.get("/fragments/grid", params={"model": "mnist-z10", "gx": "3", "gy": "3"}, headers=HX)
    assert r.status_code == 422 and 'role="alert"' in r.text and "two different dimensions" in r.text


def test_traversal_fragment_follows_z(pages: TestClient) -> None:
    r = pages.get("/fragments/traversal", params={"model": "mnist-z2", "z0": "1.5"})
    src = re.search(r'id="traversal" src="([^"]+)"', r.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert "base=1.5%2C0" in src and pages.get(src).status_code == 200


def test_upload_moves_sliders_to_the_latent_mean(pages: TestClient) -> None:
    r = pages.post(
        "/fragments/upload", params={"model": "mnist-z2"}, files={"image": ("one.png", png(), "image/png")}
    )
    assert r.status_code == 200
    assert data_url_image(r.text, "upload-input").size == (28, 28)
    assert data_url_image(r.text, "upload-reconstruction").size == (28, 28)
    assert 'hx-swap-oob="innerHTML"' in r.text and set(sliders(r.text).values()) != {"0"}
    assert '"input"' in r.headers["HX-Trigger-After-Swap"]


def test_upload_rejects_non_image_with_a_visible_message(pages: TestClient) -> None:
    r = pages.post(
        "/fragments/upload",
        params={"model": "mnist-z2"},
        files={"image": ("notes.txt", b"not an image", "text/plain")},
        headers=HX,
    )
    assert r.status_code == 415
    assert 'class="message" role="alert"' in r.text and "expected a PNG, JPEG" in r.text


def plain_png(size: tuple[int, int], color: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(("size", "color"), [((40, 40), 255), ((40, 40), 0), ((1, 1), 128)])
def test_upload_of_a_blank_image_is_accepted_with_a_warning(
    pages: TestClient, size: tuple[int, int], color: int
) -> None:
    image = {"image": ("blank.png", plain_png(size, color), "image/png")}
    r = pages.post("/fragments/upload", params={"model": "mnist-z2"}, files=image)
    assert r.status_code == 200 and "all one shade" in r.text
    good = pages.post(
        "/fragments/upload", params={"model": "mnist-z2"}, files={"image": ("one.png", png(), "image/png")}
    )
    assert "all one shade" not in good.text


def test_upload_errors_go_above_the_last_good_result(pages: TestClient) -> None:
    bad = {"image": ("notes.txt", b"not an image", "text/plain")}
    r = pages.post("/fragments/upload", params={"model": "mnist-z2"}, files=bad, headers=HX)
    assert r.status_code == 415 and r.headers["HX-Retarget"] == "#upload-message"
    good = pages.post(
        "/fragments/upload", params={"model": "mnist-z2"}, files={"image": ("one.png", png(), "image/png")}
    )
    assert '<div id="upload-message" hx-swap-oob="innerHTML"></div>' in good.text  # the error goes


def test_index_restores_grid_temperature_and_interpolation_from_the_link(pages: TestClient) -> None:
    link = {"model": "mnist-z10", "gx": "2", "gy": "5", "lo": "-2", "hi": "2.5", "steps": "9", "t": "1.5",
            "from": "0,0,0,0,3,0,0,0,0,0", "method": "slerp"}
    page = pages.get("/", params=link).text
    assert 'data-x="2" data-y="5" data-lo="-2.0" data-hi="2.5"' in page and 'data-steps="9"' in page
    assert re.search(r'id="temperature"[^>]*value="1.5"', page)
    assert 'data-from="0,0,0,0,3,0,0,0,0,0" data-from-label="from the link"' in page
    assert "data-to-default" in page and "data-from-default" not in page  # `to` was not in the link
    assert re.search(r'value="slerp" checked', page) and 'class="notice"' not in page


@pytest.mark.parametrize(
    ("link", "said"),
    [({"gx": "0", "gy": "0"}, "both grid axes are z0"), ({"lo": "-10"}, "within ±3"),
     ({"steps": "x"}, "not all numbers"), ({"t": "9"}, "t is '9'"), ({"t": "nan"}, "t is 'nan'"),
     ({"from": "5,0"}, "from: z0 is 5"), ({"method": "cubic"}, "method is 'cubic'")],
)  # fmt: skip
def test_index_explains_a_bad_part_of_the_link_and_keeps_the_rest(
    pages: TestClient, link: dict[str, str], said: str
) -> None:
    page = pages.get("/", params={"model": "mnist-z2", "z": "1,1", **link}).text
    assert 'class="notice"' in page and said in page.replace("&#39;", "'")
    assert sliders(page) == {"z0": "1", "z1": "1"}
