"""Models brought as ONNX (issue 14): every endpoint serves them as it serves a native model, a model
without an encoder is explored by its decoder alone, and a bad file is listed, never served, never a 5xx."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from api_checks import detail_of, digit, encoded, image_of, save_tiny_models, tiny_settings
from fastapi.testclient import TestClient
from PIL import Image

from model.export import DECODER_SUFFIX, export
from server.app import create_app
from tests.onnx_models import linear_decoder, train_tutorial_vae, write_card, write_onnx_models

BAD = {  # name -> (decoder bytes, card fields): each a way a brought model can be wrong
    "truncated": (linear_decoder(3, 1, 28)[:300], {}),
    "not-onnx": (b"PK\x03\x04 a zip file, say", {}),
    "wrong-input": (linear_decoder(3, 1, 28, input_name="latent"), {}),
    "wrong-latent": (linear_decoder(3, 1, 28), {"latent_dim": 4}),
    "wrong-size": (linear_decoder(3, 1, 28), {"image_size": 32}),
    "nan": (linear_decoder(3, 1, 28, fill=float("nan")), {}),
    "out-of-range": (linear_decoder(3, 1, 28, sigmoid=False), {}),
}


def write_bad_models(folder: Path) -> None:
    for name, (graph, card) in BAD.items():
        (folder / f"{name}{DECODER_SUFFIX}").write_bytes(graph)
        fields = {"latent_dim": 3, "channels": 1, "image_size": 28, "output": "probabilities", **card}
        write_card(folder, name, **fields)
    (folder / f"bad-card{DECODER_SUFFIX}").write_bytes(linear_decoder(3, 1, 28))
    write_card(folder, "bad-card", latent_dim=3, channels=2, image_size=28)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_onnx_models(save_tiny_models(tmp_path_factory.mktemp("onnx-weights")))
    write_bad_models(folder)
    return folder


@pytest.fixture(scope="module")
def client(folder: Path) -> Iterator[TestClient]:
    with TestClient(create_app(tiny_settings(folder).model_copy(update={"reload_seconds": 0}))) as c:
        yield c


def test_models_lists_the_onnx_models_and_every_bad_one_with_its_reason(client: TestClient) -> None:
    entries = {e["name"]: e for e in client.get("/models").json()}
    assert entries["tutorial"]["available"] and entries["tutorial"]["format"] == "onnx"
    assert entries["tiny-z2"]["format"] == "safetensors" and entries["tiny-z2"]["can_encode"]
    assert entries["decoder-only"]["available"] and entries["decoder-only"]["can_encode"] is False
    assert entries["colour"]["channels"] == 3 and entries["colour"]["image_size"] == 32
    reasons = {name: entries[name]["reason"] for name in [*BAD, "bad-card"]}
    assert not any(entries[name]["available"] for name in reasons)
    assert "not a loadable ONNX model" in reasons["truncated"] and "not-onnx" in reasons["not-onnx"]
    assert "input named 'z'" in reasons["wrong-input"] and "(None, 4)" in reasons["wrong-latent"]
    assert "the card needs" in reasons["wrong-size"] and "NaN" in reasons["nan"]
    assert "probabilities" in reasons["out-of-range"] and "channels" in reasons["bad-card"]


@pytest.mark.parametrize("name", [*BAD, "bad-card"])
def test_a_request_for_a_model_that_is_not_served_is_a_404_with_the_reason(
    client: TestClient, name: str
) -> None:
    for url, params in (("/decode", {"z": "0,0,0"}), ("/sample", {}), ("/grid", {})):
        detail = detail_of(client.get(url, params={"model": name, **params}), 404)
        assert detail.startswith(f"model {name!r} is not available: ")
    page = client.get("/", params={"model": name})  # the page shows the default model, and says why
    assert page.status_code == 200 and "is not available" in page.text


def png_mode(r) -> tuple[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    img = image_of(r)
    return img.mode, img.size


@pytest.mark.parametrize(
    ("name", "mode", "side", "dim"), [("tutorial", "L", 28, 20), ("colour", "RGB", 32, 4)]
)
def test_every_image_endpoint_serves_an_onnx_model(
    client: TestClient, name: str, mode: str, side: int, dim: int
) -> None:
    z = ",".join(["0.5"] * dim)
    assert png_mode(client.get("/decode", params={"model": name, "z": z})) == (mode, (side, side))
    assert (
        png_mode(client.get("/decode", params={"model": name, "z": z, "size": 4 * side}))[1]
        == (4 * side,) * 2
    )
    assert png_mode(client.get("/sample", params={"model": name, "n": 4}))[0] == mode
    assert png_mode(client.get("/grid", params={"model": name, "steps": 3}))[0] == mode
    assert png_mode(client.get("/traverse", params={"model": name, "steps": 5}))[0] == mode
    ends = {"from": ",".join(["-1"] * dim), "to": z}
    assert png_mode(client.get("/interpolate", params={"model": name, "steps": 4, **ends}))[0] == mode
    gif = image_of(
        client.get("/interpolate", params={"model": name, "steps": 4, "format": "gif", **ends}), "image/gif"
    )
    assert gif.n_frames >= 4


def test_a_colour_decode_is_the_decoders_rgb_output(client: TestClient, folder: Path) -> None:
    from model.card import read as read_card
    from model.onnx_vae import load

    model = load(folder / "colour", read_card(folder / "colour.json"))
    want = (model.decode(torch.full((1, 4), 0.5))[0].permute(1, 2, 0).numpy() * 255).round()
    got = np.asarray(image_of(client.get("/decode", params={"model": "colour", "z": "0.5,0.5,0.5,0.5"})))
    assert got.shape == (32, 32, 3) and np.abs(got - want).max() <= 1


@pytest.mark.parametrize(("name", "dim"), [("tutorial", 20), ("colour", 4)])
def test_uploads_are_encoded_and_reconstructed_by_an_onnx_model(
    client: TestClient, name: str, dim: int
) -> None:
    photo = encoded(Image.merge("RGB", [digit(120, ink=40), digit(120, ink=200), digit(120, ink=90)]))
    r = client.post("/encode", params={"model": name}, files={"image": ("x.png", photo, "image/png")})
    assert r.status_code == 200 and len(r.json()["mean"]) == dim
    r = client.post("/reconstruct", params={"model": name}, files={"image": ("x.png", photo, "image/png")})
    assert image_of(r).mode == ("RGB" if name == "colour" else "L")
    r = client.post(
        "/fragments/upload", params={"model": name}, files={"image": ("x.png", photo, "image/png")}
    )
    assert r.status_code == 200 and 'name="z0"' in r.text


def test_the_page_and_its_fragments_serve_an_onnx_model(client: TestClient) -> None:
    for name, dim in (("tutorial", 20), ("colour", 4), ("decoder-only", 4)):
        page = client.get("/", params={"model": name})
        assert page.status_code == 200 and f'name="z{dim - 1}"' in page.text
        z = {f"z{i}": "0.1" for i in range(dim)}
        assert client.get("/fragments/decoded", params={"model": name, **z}).status_code == 200
        assert client.get("/fragments/traversal", params={"model": name, **z}).status_code == 200
        assert client.get("/fragments/grid", params={"model": name, **z}).status_code == 200


def test_a_decoder_only_model_refuses_what_needs_an_encoder_with_a_409(client: TestClient) -> None:
    photo = encoded(digit(64))
    for url in ("/encode", "/reconstruct", "/fragments/upload"):
        r = client.post(url, params={"model": "decoder-only"}, files={"image": ("x.png", photo, "image/png")})
        assert "has no encoder" in detail_of(r, 409)
    assert "has no encoder" in detail_of(client.get("/encodings", params={"model": "decoder-only"}), 409)


def test_the_page_hides_upload_drawing_and_map_for_a_decoder_only_model_and_says_why(
    client: TestClient,
) -> None:
    page = client.get("/", params={"model": "decoder-only"}).text
    assert "has no encoder" in page
    assert 'id="upload-form"' not in page and 'id="draw' not in page and 'id="map"' not in page
    full = client.get("/", params={"model": "colour"}).text
    assert 'id="upload-form"' in full


def test_onnx_decodes_are_batched_across_requests(client: TestClient) -> None:
    import asyncio

    import httpx2 as httpx
    from api_checks import in_own_loop

    decoder = client.app.state.decoder  # type: ignore[attr-defined]
    before = (decoder.batcher.batches, decoder.batcher.images)

    async def many() -> list[int]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            rs = await asyncio.gather(
                *(c.get("/decode", params={"model": "colour", "z": f"{i / 10},0,0,0"}) for i in range(16))
            )
        return [r.status_code for r in rs]

    assert in_own_loop(many()) == [200] * 16
    batches, images = decoder.batcher.batches - before[0], decoder.batcher.images - before[1]
    assert images == 16 and batches < 16


def test_a_bad_card_beside_good_models_is_skipped_not_fatal(tmp_path: Path) -> None:
    save_tiny_models(tmp_path)
    (tmp_path / "broken.json").write_text('{"name": "broken", "config": {"latent_dim": -1}}')
    (tmp_path / "broken.safetensors").write_bytes(b"")
    with TestClient(create_app(tiny_settings(tmp_path))) as c:
        entries = {e["name"]: e for e in c.get("/models").json()}
        assert entries["tiny-z2"]["available"] and not entries["broken"]["available"]
        assert "broken.json: invalid model card: config" in entries["broken"]["reason"]


def test_a_folder_where_nothing_loads_stops_the_start_naming_the_files(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"name": "broken", "config": {"latent_dim": -1}}')
    (tmp_path / "broken.safetensors").write_bytes(b"")
    with (
        pytest.raises(RuntimeError, match="broken.json: invalid model card"),
        TestClient(create_app(tiny_settings(tmp_path))),
    ):
        pass


def test_copying_a_model_in_makes_it_appear_and_removing_it_makes_it_go(tmp_path: Path, folder: Path) -> None:
    save_tiny_models(tmp_path)
    settings = tiny_settings(tmp_path).model_copy(update={"reload_seconds": 0.1})
    with TestClient(create_app(settings)) as c:
        assert "colour" not in {e["name"] for e in c.get("/models").json()}
        # half-copied: the graph lands truncated first; it must never be served
        data = (folder / f"colour{DECODER_SUFFIX}").read_bytes()
        shutil.copy(folder / "colour.json", tmp_path / "colour.json")
        (tmp_path / f"colour{DECODER_SUFFIX}").write_bytes(data[: len(data) // 3])
        entries = wait_for(c, lambda e: "colour" in e)
        assert (
            not entries["colour"]["available"] and c.get("/decode?model=colour&z=0,0,0,0").status_code == 404
        )
        (tmp_path / f"colour{DECODER_SUFFIX}").write_bytes(data)  # the rest arrives
        entries = wait_for(c, lambda e: e.get("colour", {}).get("available"))
        assert image_of(c.get("/decode?model=colour&z=0,0,0,0")).mode == "RGB"
        (tmp_path / "colour.json").unlink()
        wait_for(c, lambda e: "colour" not in e)
        assert c.get("/decode?model=colour&z=0,0,0,0").status_code == 404


def wait_for(client: TestClient, ready, seconds: float = 5.0) -> dict:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + seconds
    while True:
        entries = {e["name"]: e for e in client.get("/models").json()}
        if ready(entries) or time.monotonic() > deadline:
            assert ready(entries), entries
            return entries
        time.sleep(0.05)


def test_the_map_encodes_the_data_set_with_an_onnx_encoder(
    folder: Path, synthetic_data_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "mnist").symlink_to(synthetic_data_dir, target_is_directory=True)
    weights = tmp_path / "weights"
    shutil.copytree(folder, weights)
    card = json.loads((weights / "colour.json").read_text())
    # a colour model that says it was trained on grey MNIST
    (weights / "colour.json").write_text(json.dumps({**card, "dataset": "mnist"}))
    settings = tiny_settings(weights).model_copy(
        update={"reload_seconds": 0, "data_dir": tmp_path, "cache_dir": tmp_path}
    )
    with TestClient(create_app(settings)) as c:
        body = c.get("/encodings", params={"model": "tutorial", "format": "json"}).json()
        assert len(body["means"]) == 100 and len(body["means"][0]) == 20
        detail = detail_of(c.get("/encodings", params={"model": "colour"}), 404)
        assert "28x28 grey" in detail and "3x32x32" in detail


def test_a_model_exported_into_the_folder_while_serving_appears(tmp_path: Path) -> None:
    save_tiny_models(tmp_path)
    pt = tmp_path.parent / f"{tmp_path.name}-tutorial.pth"
    torch.save(train_tutorial_vae(steps=2).state_dict(), pt)
    settings = tiny_settings(tmp_path).model_copy(update={"reload_seconds": 0.1})
    with TestClient(create_app(settings)) as c:
        export(str(pt), name="exported", out=tmp_path)  # what python -m model.export does
        entries = wait_for(c, lambda e: e.get("exported", {}).get("available"))
        assert entries["exported"]["latent_dim"] == 20
        assert image_of(c.get("/decode", params={"model": "exported", "z": ",".join(["0"] * 20)})).size == (
            28,
            28,
        )
