"""/reconstruct and /encode: both forms of upload, JSON on request, and every class of bad upload."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from api_checks import as_mode, detail_of, digit, encoded, image_of, png_claiming
from fastapi.testclient import TestClient
from PIL import Image

DIGIT = encoded(digit(), "JPEG")


def test_reconstruct_a_multipart_upload_returns_a_28x28_png(client: TestClient) -> None:
    r = client.post("/reconstruct", files={"image": ("digit.jpg", DIGIT, "image/jpeg")})
    assert image_of(r).size == (28, 28)
    assert r.headers["vary"] == "Accept"


def test_reconstruct_a_raw_image_body(client: TestClient) -> None:
    r = client.post("/reconstruct", content=DIGIT, headers={"Content-Type": "image/jpeg"})
    multipart = client.post("/reconstruct", files={"image": ("digit.jpg", DIGIT, "image/jpeg")})
    assert image_of(r).size == (28, 28)
    assert r.content == multipart.content


def test_reconstruct_answers_json_when_asked(client: TestClient) -> None:
    r = client.post(
        "/reconstruct?model=tiny-z10",
        files={"image": ("digit.jpg", DIGIT, "image/jpeg")},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"mean", "logvar", "input", "reconstruction"}
    assert len(body["mean"]) == len(body["logvar"]) == 10
    for key in ("input", "reconstruction"):
        prefix, b64 = body[key].split(",", 1)
        assert prefix == "data:image/png;base64"
        assert Image.open(io.BytesIO(base64.b64decode(b64))).size == (28, 28)
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["input"].split(",")[1]))))
    assert shown[0, 0] == 0 and shown.max() > 200  # the preprocessed digit: white ink on black


def test_reconstruct_prefers_png_unless_json_ranks_higher(client: TestClient) -> None:
    files = {"image": ("digit.jpg", DIGIT, "image/jpeg")}
    for accept in ("*/*", "image/png, application/json", "application/json;q=0.5, image/*"):
        r = client.post("/reconstruct", files=files, headers={"Accept": accept})
        assert r.headers["content-type"] == "image/png", accept


def test_encode_returns_mean_and_logvar_only(client: TestClient) -> None:
    r = client.post("/encode", files={"image": ("digit.jpg", DIGIT, "image/jpeg")})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"mean", "logvar"} and len(body["mean"]) == 2
    assert all(np.isfinite(body["mean"])) and all(np.isfinite(body["logvar"]))


def test_encode_agrees_with_reconstruct(client: TestClient) -> None:
    files = {"image": ("digit.jpg", DIGIT, "image/jpeg")}
    enc = client.post("/encode", files=files).json()
    rec = client.post("/reconstruct", files=files, headers={"Accept": "application/json"}).json()
    assert enc["mean"] == rec["mean"]


def test_upload_rejects_unknown_model(client: TestClient) -> None:
    r = client.post("/encode?model=nope", files={"image": ("digit.jpg", DIGIT, "image/jpeg")})
    assert "unknown model" in detail_of(r, 404)


@pytest.mark.parametrize("path", ["/reconstruct", "/encode"])
def test_upload_rejects_an_empty_file(client: TestClient, path: str) -> None:
    assert "empty" in detail_of(client.post(path, files={"image": ("x.png", b"", "image/png")}), 422)
    assert "empty" in detail_of(client.post(path, content=b"", headers={"Content-Type": "image/png"}), 422)


def test_upload_rejects_a_file_that_is_not_an_image(client: TestClient) -> None:
    r = client.post("/reconstruct", files={"image": ("notes.txt", b"just some text\n" * 20, "text/plain")})
    assert "PNG, JPEG, GIF, BMP or WebP" in detail_of(r, 415)


def test_upload_rejects_an_unsupported_format_by_name(client: TestClient) -> None:
    r = client.post("/reconstruct", files={"image": ("d.tiff", encoded(digit(64), "TIFF"), "image/tiff")})
    detail = detail_of(r, 415)
    assert "TIFF" in detail and "PNG, JPEG, GIF, BMP or WebP" in detail


def test_upload_rejects_a_truncated_image(client: TestClient) -> None:
    data = encoded(Image.effect_noise((300, 300), 60).convert("L"), "PNG")
    r = client.post("/reconstruct", files={"image": ("t.png", data[: len(data) * 2 // 3], "image/png")})
    assert "complete" in detail_of(r, 422)


def test_upload_rejects_a_body_of_another_type(client: TestClient) -> None:
    r = client.post("/reconstruct", json={"image": "digit.png"})
    assert "got a application/json body" in detail_of(r, 415)


def test_upload_rejects_multipart_without_the_image_field(client: TestClient) -> None:
    r = client.post("/reconstruct", files={"picture": ("d.jpg", DIGIT, "image/jpeg")})
    assert "'image'" in detail_of(r, 422)


def test_upload_rejects_malformed_multipart(client: TestClient) -> None:
    r = client.post("/reconstruct", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"})
    assert "multipart" in detail_of(r, 422)


def test_upload_beyond_the_byte_cap_is_413(client_with: Callable[..., TestClient]) -> None:
    with client_with(max_upload_bytes=2048) as capped:
        big = encoded(Image.effect_noise((100, 100), 60).convert("L"))
        assert len(big) > 2048
        multipart = capped.post("/reconstruct", files={"image": ("big.png", big, "image/png")})
        assert "limit is 2 KB" in detail_of(multipart, 413)
        raw = capped.post("/encode", content=big, headers={"Content-Type": "image/png"})
        assert "limit is 2 KB" in detail_of(raw, 413)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
            yield from (big[i : i + 500] for i in range(0, len(big), 500))

        streamed = capped.post("/encode", content=chunks(), headers={"Content-Type": "image/png"})
        assert "more than 2 KB" in detail_of(streamed, 413)


def test_upload_beyond_the_pixel_cap_is_413(client_with: Callable[..., TestClient]) -> None:
    with client_with(max_upload_pixels=1000) as capped:
        r = capped.post("/reconstruct", files={"image": ("d.png", encoded(digit(40)), "image/png")})
        assert "40x40 = 1,600 pixels; the limit is 1,000" in detail_of(r, 413)


def test_upload_of_a_decompression_bomb_is_refused(client: TestClient) -> None:
    r = client.post("/reconstruct", files={"image": ("bomb.png", png_claiming(60_000, 60_000), "image/png")})
    assert "the limit is 40,000,000 pixels" in detail_of(r, 413)


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "CMYK", "1", "LA"])
def test_upload_of_odd_modes_works(client: TestClient, mode: str) -> None:
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    r = client.post("/reconstruct", files={"image": ("d", encoded(as_mode(digit(), mode), fmt), "image/png")})
    assert image_of(r).size == (28, 28)


@pytest.mark.parametrize("size", [(1, 1), (10000, 10), (10, 10000)])
def test_upload_of_odd_sizes_works(client: TestClient, size: tuple[int, int]) -> None:
    r = client.post("/encode", files={"image": ("d.png", encoded(Image.new("L", size, 128)), "image/png")})
    assert r.status_code == 200 and len(r.json()["mean"]) == 2


def test_sizes_are_said_in_megabytes() -> None:
    from server.uploads import megabytes

    sizes = (48_029_547, 10 * 2**20, 100_000, 12)
    assert [megabytes(n) for n in sizes] == ["45.8 MB", "10 MB", "97.7 KB", "12 bytes"]
