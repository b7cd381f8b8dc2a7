"""GET /decoder.onnx (the decoder the page runs in the browser) and the static files it needs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from api_checks import save_tiny_models
from fastapi.testclient import TestClient
from PIL import Image

from model.card import ModelCard
from model.export import DECODER_SUFFIX, export
from model.store import WEIGHTS_DIR, list_models
from server.app import create_app
from server.settings import Settings
from server.view import VIEW
from server.web_decoder import CACHE_SUFFIX

RANDOM_Z = 100


def run_onnx(graph: bytes, z: np.ndarray) -> np.ndarray:
    """(N, D) codes -> (N, H, W) grey or (N, H, W, 3) colour uint8, rounded as the server rounds
    (numpy's rint), in the layout of the server's PNGs. The session is made as static/local-decode.js
    makes it: basic graph optimisations."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])
    (x,) = session.run(None, {"z": z.astype(np.float32)})
    x = x[:, 0] if x.shape[1] == 1 else x.transpose(0, 2, 3, 1)
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)


def server_png(client: TestClient, model: str, z: np.ndarray) -> np.ndarray:
    csv = ",".join(f"{v:.2f}" for v in z)
    r = client.get("/decode", params={"model": model, "z": csv})
    assert r.status_code == 200, r.text
    return np.asarray(Image.open(io.BytesIO(r.content)))


def slider_codes(dim: int, seed: int) -> np.ndarray:
    """Random z where the sliders can be: uniform over [-bound, bound], at the sliders' step."""
    z = np.random.default_rng(seed).uniform(-VIEW.bound, VIEW.bound, (RANDOM_Z, dim))
    return np.round(z, VIEW.decimals)


def worst_pixel_gap(client: TestClient, model: str, dim: int) -> int:
    r = client.get("/decoder.onnx", params={"model": model})
    assert r.status_code == 200, r.text
    z = slider_codes(dim, seed=dim)
    local = run_onnx(r.content, z).astype(int)
    server = np.stack([server_png(client, model, code) for code in z]).astype(int)
    return int(np.abs(local - server).max())


@pytest.mark.parametrize("model, dim", [("tiny-z2", 2), ("tiny-z10", 10)])
def test_decoder_file_decodes_100_random_z_within_1_of_255_of_the_server_png(
    client: TestClient, model: str, dim: int
) -> None:
    assert worst_pixel_gap(client, model, dim) <= 1


@pytest.mark.slow
@pytest.mark.parametrize("card", list_models(WEIGHTS_DIR), ids=lambda c: c.name)
def test_shipped_decoders_in_float16_stay_within_1_of_255_of_the_server_png(
    card: ModelCard, tmp_path: Path
) -> None:
    settings = Settings(weights_dir=WEIGHTS_DIR, cache_dir=tmp_path, device="cpu")
    with TestClient(create_app(settings)) as client:
        r = client.get("/decoder.onnx", params={"model": card.name})
        assert len(r.content) <= 1_500_000, "the browser downloads at most 1.5 MB per decoder"
        assert worst_pixel_gap(client, card.name, card.latent_dim) <= 1


def test_decoder_file_has_an_etag_of_the_weights_and_answers_304(client: TestClient) -> None:
    first = client.get("/decoder.onnx", params={"model": "tiny-z2"})
    tag = first.headers["ETag"]
    again = client.get("/decoder.onnx", params={"model": "tiny-z2"}, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/decoder.onnx", params={"model": "tiny-z10"})
    assert other.headers["ETag"] != tag


def test_decoder_file_linked_from_the_page_is_cached_for_a_year(client: TestClient) -> None:
    page = client.get("/", params={"model": "tiny-z2"}).text
    url = page.split('data-decoder="')[1].split('"')[0].replace("&amp;", "&")
    assert "v=" in url
    linked = client.get(url)
    assert linked.status_code == 200
    assert "immutable" in linked.headers["Cache-Control"]
    assert "max-age=31536000" in linked.headers["Cache-Control"]
    plain = client.get("/decoder.onnx", params={"model": "tiny-z2", "v": "not-these-weights"})
    assert "immutable" not in plain.headers["Cache-Control"]


def test_decoder_file_is_exported_once_and_kept_in_the_cache_folder(
    settings: Settings, tmp_path: Path
) -> None:
    with TestClient(create_app(settings.model_copy(update={"cache_dir": tmp_path}))) as client:
        body = client.get("/decoder.onnx", params={"model": "tiny-z10"}).content
    kept = list(tmp_path.glob(f"tiny-z10.*{CACHE_SUFFIX}"))
    assert len(kept) == 1 and kept[0].read_bytes() == body
    assert not list(tmp_path.glob(f"*{DECODER_SUFFIX}")), "never a name the weights folder reads as a model"
    kept[0].write_bytes(b"the cached copy")  # a restart serves the kept copy, not a new export
    with TestClient(create_app(settings.model_copy(update={"cache_dir": tmp_path}))) as client:
        assert client.get("/decoder.onnx", params={"model": "tiny-z10"}).content == b"the cached copy"


def test_decoder_file_of_an_unknown_model_is_404(client: TestClient) -> None:
    r = client.get("/decoder.onnx", params={"model": "nope"})
    assert r.status_code == 404 and "tiny-z2" in r.json()["detail"]


def test_an_onnx_model_brings_its_own_decoder_file_byte_for_byte(settings: Settings, tmp_path: Path) -> None:
    save_tiny_models(tmp_path)
    export("tiny-z2", name="own", out=tmp_path, weights=tmp_path)
    their = (tmp_path / f"own{DECODER_SUFFIX}").read_bytes()
    update = {"weights_dir": tmp_path, "cache_dir": tmp_path / "cache"}
    with TestClient(create_app(settings.model_copy(update=update))) as client:
        r = client.get("/decoder.onnx", params={"model": "own"})
        assert r.status_code == 200 and r.content == their
        page = client.get("/", params={"model": "own"}).text
        assert 'data-decoder="/decoder.onnx?model=own&amp;v=' in page


WASM = "/static/onnxruntime-web-1.30.0/ort-wasm-simd-threaded.wasm"
STATIC = Path(__file__).resolve().parents[2] / "static" / "onnxruntime-web-1.30.0"


@pytest.mark.parametrize("accept, coding", [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("", None)])
def test_the_webassembly_is_sent_compressed_as_the_client_accepts(
    client: TestClient, accept: str, coding: str | None
) -> None:
    r = client.get(WASM, headers={"Accept-Encoding": accept})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/wasm"
    assert r.headers.get("Content-Encoding") == coding
    assert r.headers["Vary"] == "Accept-Encoding"
    if coding == "br":  # this test client has no brotli decoder: the bytes are the checked-in copy
        assert r.content == (STATIC / "ort-wasm-simd-threaded.wasm.br").read_bytes()
    else:
        assert r.content[:4] == b"\0asm"  # the module, decoded from gzip by the client or sent as it is
    wire = int(r.headers["Content-Length"])
    assert wire < 5_000_000 if coding else wire > 10_000_000


def test_versioned_static_files_are_cached_for_a_year_and_the_apps_own_revalidate(client: TestClient) -> None:
    vendored = client.get(WASM)
    assert vendored.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    own = client.get("/static/app.js")
    assert own.headers["Cache-Control"] == "no-cache"
    again = client.get("/static/app.js", headers={"If-None-Match": own.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_the_page_links_each_models_decoder(client: TestClient) -> None:
    for name in ("tiny-z2", "tiny-z10"):
        page = client.get("/", params={"model": name}).text
        assert f'data-decoder="/decoder.onnx?model={name}&amp;v=' in page


def test_a_decoder_that_cannot_be_exported_is_a_404_with_the_reason_asked_once(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    async def refuse(*args: object) -> bytes:
        calls.append(args)
        raise RuntimeError("an operator ONNX has no name for")

    monkeypatch.setattr("server.web_decoder.export_in_child", refuse)
    with TestClient(create_app(settings.model_copy(update={"cache_dir": tmp_path}))) as client:
        for _ in range(2):
            r = client.get("/decoder.onnx", params={"model": "tiny-z2"})
            assert r.status_code == 404
            assert "could not be exported" in r.json()["detail"] and "no name for" in r.json()["detail"]
        assert client.get("/decode", params={"model": "tiny-z2", "z": "0,0"}).status_code == 200
        assert len(calls) == 1, "a failed export is not tried again on every request"
        monkeypatch.setattr("server.web_decoder.RETRY_S", 0.0)
        client.get("/decoder.onnx", params={"model": "tiny-z2"})
        assert len(calls) == 2, "but it is tried again later"
