"""server/view.py: the defaults that the API's parameters and the page share."""

from __future__ import annotations

from api_checks import image_of
from fastapi.testclient import TestClient

from server.view import VIEW, Grid, snap


def test_the_api_grid_defaults_to_the_pages_grid(client: TestClient) -> None:
    size = image_of(client.get("/grid", params={"model": "tiny-z2"})).size
    assert size == (VIEW.grid_steps * 28,) * 2 and Grid().steps == VIEW.grid_steps
    assert (Grid().lo, Grid().hi) == (-VIEW.bound, VIEW.bound)


def test_the_api_traversal_defaults_to_the_pages_traversal(client: TestClient) -> None:
    figure = image_of(client.get("/traverse", params={"model": "tiny-z10"}))
    assert figure.size == (VIEW.traverse_steps * 28, 10 * 28)  # a row per dimension
    page = client.get("/fragments/traversal", params={"model": "tiny-z10"}).text
    assert f"steps={VIEW.traverse_steps}" in page and "span=3" in page


def test_the_api_sample_and_interpolate_default_to_the_pages_counts(client: TestClient) -> None:
    cols = -(-VIEW.samples // int(VIEW.samples**0.5))
    assert image_of(client.get("/sample", params={"seed": 1})).size[0] == cols * 28
    path = client.get("/interpolate", params={"from": "0,0", "to": "1,1"})
    assert image_of(path).size == (VIEW.interpolate_steps * 28, 28)


def test_snap_keeps_values_on_the_sliders() -> None:
    assert [snap(v) for v in (0.123456, 7.0, -9.0, -0.0001)] == [0.12, VIEW.bound, -VIEW.bound, 0.0]
    assert str(snap(-0.0001)) == "0.0"  # no "-0" in a URL or a slider


