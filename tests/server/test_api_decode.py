"""/decode and /sample, and the caching headers of deterministic answers."""

from __future__ import annotations

import asyncio

import httpx2 as httpx
import numpy as np
import pytest
from api_checks import detail_of, image_of, in_own_loop
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings


def test_decode_returns_a_28x28_png(client: TestClient) -> None:
    img = image_of(client.get("/decode", params={"z": "0.5,-1.2"}))
    assert img.size == (28, 28)
    assert img.mode == "L"


def test_decode_upscales_to_size_with_nearest_neighbour(client: TestClient) -> None:
    small = np.asarray(image_of(client.get("/decode", params={"z": "0.5,-1.2"})))
    big = np.asarray(image_of(client.get("/decode", params={"z": "0.5,-1.2", "size": 112})))
    assert big.shape == (112, 112)
    assert (big[::4, ::4] == small).all()


def test_decode_picks_the_model(client: TestClient) -> None:
    img = image_of(client.get("/decode", params={"model": "tiny-z10", "z": ",".join(["0.1"] * 10)}))
    assert img.size == (28, 28)


def test_decode_depends_on_z(client: TestClient) -> None:
    a = client.get("/decode", params={"z": "0,0"}).content
    b = client.get("/decode", params={"z": "3,-3"}).content
    assert a != b


def test_decode_rejects_unknown_model(client: TestClient) -> None:
    detail = detail_of(client.get("/decode", params={"model": "nope", "z": "0,0"}), 404)
    assert "nope" in detail and "tiny-z2" in detail and "tiny-z10" in detail


@pytest.mark.parametrize("z", ["0.5", "1,2,3", ""])
def test_decode_rejects_wrong_number_of_values(client: TestClient, z: str) -> None:
    detail = detail_of(client.get("/decode", params={"z": z}), 422)
    assert "exactly 2" in detail


@pytest.mark.parametrize("z", ["0.5,", ",0.5", "0.5, "])
def test_decode_rejects_a_missing_value_rather_than_using_zero(client: TestClient, z: str) -> None:
    assert "is empty" in detail_of(client.get("/decode", params={"z": z}), 422)


@pytest.mark.parametrize("z", ["nan,0", "0,inf", "-Infinity,0", "1e999,0"])
def test_decode_rejects_non_finite_values(client: TestClient, z: str) -> None:
    assert "not finite" in detail_of(client.get("/decode", params={"z": z}), 422)


@pytest.mark.parametrize("z", ["10.5,0", "0,-11", "1e3,0"])
def test_decode_rejects_values_beyond_the_bound(client: TestClient, z: str) -> None:
    assert "|value| <= 10" in detail_of(client.get("/decode", params={"z": z}), 422)


def test_decode_accepts_values_on_the_bound(client: TestClient) -> None:
    image_of(client.get("/decode", params={"z": "10,-10"}))


@pytest.mark.parametrize("z", ["a,0", "0,1..2", "0x10,0", "1 2,0"])
def test_decode_rejects_values_that_are_not_numbers(client: TestClient, z: str) -> None:
    assert "not a number" in detail_of(client.get("/decode", params={"z": z}), 422)


def test_decode_requires_z(client: TestClient) -> None:
    assert "z" in detail_of(client.get("/decode"), 422)


@pytest.mark.parametrize("size", [513, 100000])
def test_decode_rejects_size_beyond_the_cap(client: TestClient, size: int) -> None:
    assert "size <= 512" in detail_of(client.get("/decode", params={"z": "0,0", "size": size}), 422)


def test_decode_rejects_a_size_that_is_not_an_integer(client: TestClient) -> None:
    assert "size" in detail_of(client.get("/decode", params={"z": "0,0", "size": "big"}), 422)


def test_decode_carries_an_etag_and_cache_control(client: TestClient) -> None:
    r = client.get("/decode", params={"z": "0.5,-1.2"})
    assert r.headers["etag"].startswith('"')
    assert "max-age" in r.headers["cache-control"]
    assert client.get("/decode", params={"z": "0.5,-1.2"}).headers["etag"] == r.headers["etag"]
    assert client.get("/decode", params={"z": "0.5,-1.1"}).headers["etag"] != r.headers["etag"]


def test_decode_answers_304_when_the_etag_matches(client: TestClient) -> None:
    tag = client.get("/decode", params={"z": "1,1"}).headers["etag"]
    r = client.get("/decode", params={"z": "1,1"}, headers={"If-None-Match": f'"other", {tag}'})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == tag
    stale = client.get("/decode", params={"z": "1,1"}, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200


def test_sample_returns_a_grid_of_n_images(client: TestClient) -> None:
    assert image_of(client.get("/sample", params={"n": 16, "seed": 7})).size == (4 * 28, 4 * 28)
    assert image_of(client.get("/sample", params={"n": 5, "seed": 7})).size == (3 * 28, 2 * 28)


def test_sample_with_the_same_seed_gives_the_same_bytes(client: TestClient) -> None:
    a = client.get("/sample", params={"n": 9, "seed": 7})
    b = client.get("/sample", params={"n": 9, "seed": 7})
    c = client.get("/sample", params={"n": 9, "seed": 8})
    assert a.content == b.content != c.content
    assert a.headers["etag"] == b.headers["etag"]


def test_sample_without_seed_is_fresh_and_not_cached(client: TestClient) -> None:
    r = client.get("/sample", params={"n": 4})
    image_of(r)
    assert r.headers["cache-control"] == "no-store"
    assert "etag" not in r.headers
    replay = client.get("/sample", params={"n": 4, "seed": r.headers["x-seed"]})
    assert replay.content == r.content


def test_sample_at_temperature_zero_decodes_the_origin(client: TestClient) -> None:
    grid = np.asarray(image_of(client.get("/sample", params={"n": 4, "seed": 1, "temperature": 0})))
    origin = np.asarray(image_of(client.get("/decode", params={"z": "0,0"})))
    assert (grid[:28, :28] == origin).all() and (grid[28:, 28:] == origin).all()


@pytest.mark.parametrize("n", [257, 10**9])
def test_sample_rejects_n_beyond_the_cap(client: TestClient, n: int) -> None:
    assert "n <= 256" in detail_of(client.get("/sample", params={"n": n}), 422)


@pytest.mark.parametrize("params", [{"n": 0}, {"n": -1}, {"seed": -1}, {"temperature": -1}])
def test_sample_rejects_negative_parameters(client: TestClient, params: dict[str, int]) -> None:
    detail = detail_of(client.get("/sample", params=params), 422)
    assert next(iter(params)) in detail


def test_sample_rejects_temperature_beyond_the_cap(client: TestClient) -> None:
    assert "temperature <= 5" in detail_of(client.get("/sample", params={"temperature": 50}), 422)


def test_concurrent_decodes_share_a_batch_and_each_get_their_own_image(settings: Settings) -> None:
    app = create_app(settings)
    zs = ["0,0", "1,-1", "2,2", "-3,1", "0.5,9"]

    async def decode_alone_then_together() -> tuple[list[httpx.Response], list[httpx.Response], int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                alone = [await c.get("/decode", params={"z": z}) for z in zs]
                before = app.state.decoder.batcher.batches
                together = await asyncio.gather(*(c.get("/decode", params={"z": z}) for z in zs))
                return alone, together, app.state.decoder.batcher.batches - before

    alone, together, batches = in_own_loop(decode_alone_then_together())
    assert batches < len(zs)
    for one, answer in zip(alone, together, strict=True):
        assert np.abs(np.asarray(image_of(answer)).astype(int) - np.asarray(image_of(one))).max() <= 1


def test_openapi_documents_the_decode_parameters(client: TestClient) -> None:
    params = client.get("/openapi.json").json()["paths"]["/decode"]["get"]["parameters"]
    by_name = {p["name"]: p for p in params}
    assert set(by_name) == {"z", "size", "model"}
    assert all(p["in"] == "query" and p["description"] for p in params)
    assert by_name["z"]["required"] and not by_name["size"]["required"]
    assert by_name["size"]["schema"]["anyOf"][0] == {"type": "integer", "minimum": 1}


def test_decode_takes_the_last_of_repeated_parameters(client: TestClient) -> None:
    a = client.get("/decode?z=5,5&z=0,0").content
    assert a == client.get("/decode", params={"z": "0,0"}).content
