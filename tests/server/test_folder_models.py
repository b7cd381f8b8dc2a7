"""A colour model trained on a folder of images, served: every image endpoint in colour, uploads
prepared as its training images were, the map from its recorded test split, its factors in the page."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from api_checks import image_of, tiny_settings
from fastapi.testclient import TestClient
from PIL import Image

from model.inference import SubpixelConv
from server.app import create_app
from tests.folder_models import SIDE, shapes_model

pytestmark = pytest.mark.slow
NAME = "shapes-tiny"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("folder-model")
    weights = shapes_model(root, name=NAME)
    settings = tiny_settings(weights).model_copy(
        update={"default_model": NAME, "reload_seconds": 0, "cache_dir": root / "cache"}
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_card_describes_the_folder_model(client: TestClient) -> None:
    (card,) = client.get("/models").json()
    assert (card["channels"], card["image_size"], card["preprocessing"]) == (3, SIDE, "resize-crop")
    assert card["class_names"] == ["circle", "square", "triangle"]
    assert card["factors"]["factors"] == ["shape", "hue", "scale", "rotation", "x", "y"]


def test_every_image_endpoint_is_in_colour(client: TestClient) -> None:
    z = "0.5,-0.5,1,0"
    for url, params in (
        ("/decode", {"z": z, "size": 4 * SIDE}),
        ("/sample", {"n": 4}),
        ("/grid", {"steps": 4}),
        ("/traverse", {"steps": 5}),
        ("/interpolate", {"from": "-1,-1,-1,-1", "to": z, "steps": 4}),
    ):
        assert image_of(client.get(url, params=params)).mode == "RGB", url


def test_an_upload_is_resized_and_cropped_like_the_training_images(client: TestClient) -> None:
    img = Image.new("RGB", (120, 60), (0, 0, 0))
    img.paste((255, 0, 0), (40, 10, 80, 50))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    r = client.post(
        "/reconstruct",
        files={"image": ("x.png", buf.getvalue(), "image/png")},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200
    shown = np.asarray(
        Image.open(io.BytesIO(__import__("base64").b64decode(r.json()["input"].split(",")[1])))
    )
    assert shown.shape == (SIDE, SIDE, 3)
    assert shown[SIDE // 2, SIDE // 2, 0] > 200 and shown[SIDE // 2, 1, 0] < 30  # centre red, sides black


def test_the_map_encodes_the_recorded_test_split(client: TestClient) -> None:
    body = client.get("/encodings", params={"format": "json"}).json()
    assert len(body["means"]) == 24 and len(body["means"][0]) == 4  # 10% of 240 held out
    original = image_of(client.get("/encodings/0/original.png"))
    assert original.mode == "RGB" and original.size == (SIDE, SIDE)


def test_the_insight_panel_shows_the_factors_heat_map(client: TestClient) -> None:
    page = client.get("/").text
    assert 'id="factor-map"' in page and "MIG" in page
    for factor in ("shape", "hue", "scale", "rotation"):
        assert f">{factor}</th>" in page
    assert 'id="draw-ink"' in page and 'id="draw-paper"' in page  # a colour model's pad has colours


def test_the_picker_options_come_from_the_registry(client: TestClient) -> None:
    r = client.get("/fragments/models", params={"model": NAME})
    assert r.status_code == 200 and f'value="{NAME}"' in r.text and "selected" in r.text


def test_the_factors_of_the_map_points_come_in_the_binary_order(client: TestClient) -> None:
    body = client.get("/encodings/factors").json()
    assert [f["name"] for f in body["factors"]] == ["shape", "hue", "scale", "rotation", "x", "y"]
    assert body["factors"][0]["labels"] == ["circle", "square", "triangle"]
    (test,) = [s for s in body["splits"] if s["name"] == "test"]
    assert len(test["codes"]) == 6 and len(test["codes"][0]) == 24
    labels = client.get("/encodings", params={"format": "json"}).json()["labels"]
    assert test["codes"][0] == labels  # the shape factor is the class: the same order as the points


@pytest.mark.skipif(
    not (torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()),
    reason="oneDNN has no bfloat16 convolutions on this CPU",
)
def test_conv_bf16_setting_chooses_the_convolutions_precision(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """VAE_CONV_BF16: 'on' convolves in bfloat16 (the logits layer stays float32), 'off' in float32;
    the grids they serve differ by a few levels of 255 at most."""
    root = tmp_path_factory.mktemp("bf16")
    weights = shapes_model(root, name=NAME)
    grids, dtypes = {}, {}
    for choice in ("off", "on"):
        settings = tiny_settings(weights).model_copy(
            update={"default_model": NAME, "reload_seconds": 0, "cache_dir": root / "cache",
                    "conv_bf16": choice}
        )
        with TestClient(create_app(settings)) as c:
            vae = c.app.state.registry.models[NAME].vae  # type: ignore[attr-defined]
            dtypes[choice] = [m.weight.dtype for m in vae.modules() if isinstance(m, SubpixelConv)]
            grids[choice] = np.asarray(image_of(c.get("/grid", params={"steps": 6})), dtype=np.int16)
    assert set(dtypes["off"]) == {torch.float32}
    assert dtypes["on"][-1] == torch.float32 and set(dtypes["on"][:-1]) == {torch.bfloat16}
    assert grids["on"].shape == grids["off"].shape
    assert np.abs(grids["on"] - grids["off"]).max() <= 4
