"""/grid, /traverse and /interpolate: layout, sizes, caps and malformed ranges."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from api_checks import detail_of, image_of
from fastapi.testclient import TestClient
from PIL import Image, ImageSequence


def tile(img: Image.Image, row: int, col: int) -> np.ndarray:
    return np.asarray(img)[row * 28 : (row + 1) * 28, col * 28 : (col + 1) * 28]


def decoded(client: TestClient, z: str, model: str = "tiny-z2") -> np.ndarray:
    return np.asarray(image_of(client.get("/decode", params={"model": model, "z": z})))


def test_grid_is_steps_by_steps_images(client: TestClient) -> None:
    img = image_of(client.get("/grid?z0=-3..3&z1=-3..3&steps=5"))
    assert img.size == (5 * 28, 5 * 28)


def test_grid_puts_the_first_range_along_x_and_the_second_down_y(client: TestClient) -> None:
    img = image_of(client.get("/grid?z1=-2..2&z0=-1..1&steps=3"))  # z1 written first: z1 is x
    assert (tile(img, 0, 0) == decoded(client, "-1,-2")).all()
    assert (tile(img, 0, 2) == decoded(client, "-1,2")).all()  # along x: z1 grows
    assert (tile(img, 2, 0) == decoded(client, "1,-2")).all()  # down y: z0 grows


def test_grid_accepts_a_descending_range(client: TestClient) -> None:
    img = image_of(client.get("/grid?z0=3..-3&z1=2..-2&steps=2"))
    assert (tile(img, 0, 0) == decoded(client, "3,2")).all()


def test_grid_with_one_range_is_a_single_row_around_base(client: TestClient) -> None:
    z = ",".join(["0.5"] * 10)
    img = image_of(client.get(f"/grid?model=tiny-z10&z7=-2..2&steps=4&base={z}"))
    assert img.size == (4 * 28, 28)
    assert (tile(img, 0, 3) == decoded(client, "0.5,0.5,0.5,0.5,0.5,0.5,0.5,2,0.5,0.5", "tiny-z10")).all()


def test_grid_without_ranges_sweeps_the_first_two_dimensions(client: TestClient) -> None:
    assert image_of(client.get("/grid?steps=3")).size == (84, 84)


@pytest.mark.parametrize("text", ["a..b", "1..", "..", "..2", "1-2", "1...", "nan..1", "1..inf", "-3..3..4"])
def test_grid_rejects_malformed_ranges(client: TestClient, text: str) -> None:
    detail = detail_of(client.get("/grid", params={"z0": text}), 422)
    assert "z0" in detail


def test_grid_rejects_a_range_beyond_the_bound(client: TestClient) -> None:
    assert "|value| <= 10" in detail_of(client.get("/grid?z0=-30..30"), 422)


def test_grid_rejects_a_dimension_the_model_lacks(client: TestClient) -> None:
    assert "z0..z1" in detail_of(client.get("/grid?z2=-1..1"), 422)


def test_grid_rejects_more_than_two_ranges(client: TestClient) -> None:
    assert "at most two" in detail_of(client.get("/grid?model=tiny-z10&z0=0..1&z1=0..1&z2=0..1"), 422)


def test_grid_rejects_the_same_dimension_twice(client: TestClient) -> None:
    assert "twice" in detail_of(client.get("/grid?z0=0..1&z0=0..2"), 422)


def test_grid_rejects_a_base_of_the_wrong_length(client: TestClient) -> None:
    assert "base" in detail_of(client.get("/grid?base=0,0,0"), 422)


@pytest.mark.parametrize("steps", [33, 1000])
def test_grid_rejects_steps_beyond_the_cap(client: TestClient, steps: int) -> None:
    assert "steps <= 32" in detail_of(client.get("/grid", params={"steps": steps}), 422)


def test_grid_rejects_a_request_that_would_decode_too_many_images(
    client_with: Callable[..., TestClient],
) -> None:
    with client_with(max_images=100) as capped:
        assert "at most 100" in detail_of(capped.get("/grid?steps=11"), 422)
        image_of(capped.get("/grid?steps=10"))


def test_traverse_has_one_row_per_dimension(client: TestClient) -> None:
    img = image_of(client.get("/traverse?model=tiny-z10&steps=7"))
    assert img.size == (7 * 28, 10 * 28)


def test_traverse_sweeps_each_dimension_around_base(client: TestClient) -> None:
    img = image_of(client.get("/traverse?base=1,-1&span=2&steps=3"))
    assert (tile(img, 0, 0) == decoded(client, "-1,-1")).all()
    assert (tile(img, 1, 2) == decoded(client, "1,1")).all()
    assert (tile(img, 1, 1) == decoded(client, "1,-1")).all()


@pytest.mark.parametrize("query", ["span=11", "span=-1", "steps=1", "steps=40", "base=0", "base=nan,0"])
def test_traverse_rejects_bad_parameters(client: TestClient, query: str) -> None:
    detail_of(client.get(f"/traverse?{query}"), 422)


def test_interpolate_is_a_strip_from_one_end_to_the_other(client: TestClient) -> None:
    img = image_of(client.get("/interpolate?from=-2,1&to=2,-1&steps=6"))
    assert img.size == (6 * 28, 28)
    assert (tile(img, 0, 0) == decoded(client, "-2,1")).all()
    assert (tile(img, 0, 5) == decoded(client, "2,-1")).all()


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolate_gif_goes_there_and_back(client: TestClient, method: str) -> None:
    img = image_of(
        client.get(f"/interpolate?from=-2,1&to=2,-1&steps=5&method={method}&format=gif"), "image/gif"
    )
    frames = [np.asarray(f.convert("L")) for f in ImageSequence.Iterator(img)]
    assert len(frames) == 2 * 5 - 2
    assert img.info.get("loop") == 0
    assert (frames[1] == frames[-1]).all() and (frames[2] == frames[-2]).all()
    assert frames[0].shape == (28, 28)


@pytest.mark.parametrize(
    "query",
    ["from=0,0", "to=0,0", "from=0&to=0,0", "from=0,0&to=1,nan", "from=0,0&to=1,1&method=cubic",
     "from=0,0&to=1,1&format=jpeg", "from=0,0&to=1,1&steps=100", "from=0,0&to=1,1&steps=1"],
)  # fmt: skip
def test_interpolate_rejects_bad_parameters(client: TestClient, query: str) -> None:
    detail_of(client.get(f"/interpolate?{query}"), 422)


def test_interpolate_names_the_accepted_methods(client: TestClient) -> None:
    assert "'linear' or 'slerp'" in detail_of(client.get("/interpolate?from=0,0&to=1,1&method=x"), 422)


@pytest.mark.parametrize(
    "url",
    [
        "/grid?steps=3",
        "/traverse?steps=3",
        "/interpolate?from=0,0&to=1,1",
        "/interpolate?from=0,0&to=1,1&format=gif",
    ],
)
def test_deterministic_images_are_cacheable(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 200 and "max-age" in r.headers["cache-control"]
    assert client.get(url, headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_interpolate_gif_at_a_chosen_size_plays_at_the_pages_frame_rate(client: TestClient) -> None:
    from server.view import VIEW

    r = client.get("/interpolate?from=-2,1&to=2,-1&steps=4&format=gif&size=224")
    img = image_of(r, "image/gif")
    assert img.size == (224, 224) and img.info["duration"] == VIEW.frame_ms
    big = np.asarray(img.convert("L"))
    assert (big[::8, ::8] == decoded(client, "-2,1")).all(), "nearest neighbour: every pixel an 8x8 block"


def test_interpolate_strip_at_a_chosen_size(client: TestClient) -> None:
    assert image_of(client.get("/interpolate?from=-2,1&to=2,-1&steps=5&size=56")).size == (5 * 56, 56)
    detail_of(client.get("/interpolate?from=0,0&to=1,1&size=5000"), 422)


def test_interpolate_as_json_is_the_paths_latent_vectors(client: TestClient) -> None:
    linear = client.get("/interpolate?from=-2,1&to=2,-1&steps=5&format=json").json()["path"]
    assert linear[0] == [-2, 1] and linear[-1] == [2, -1] and linear[2] == [0, 0]
    arc = client.get("/interpolate?from=2,0&to=0,2&steps=3&method=slerp&format=json").json()["path"]
    assert abs(arc[1][0] - 2**0.5) < 1e-4 and abs(arc[1][1] - 2**0.5) < 1e-4  # on the circle, not the chord
