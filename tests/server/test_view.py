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




def test_nice_ticks_are_round_values_within_the_range() -> None:
    from server.view import nice_ticks

    assert nice_ticks(-3, 3) == [-3, -2, -1, 0, 1, 2, 3]
    assert nice_ticks(-10, 10) == [-10, -5, 0, 5, 10]
    assert nice_ticks(94, 134, most=5) == [100, 110, 120, 130]


def test_grid_ticks_sit_where_their_values_are_drawn() -> None:
    ticks = dict((label, pos) for pos, label in Grid(lo=-3, hi=3, steps=15).ticks())
    assert ticks["0"] == 50 and abs(ticks["3"] - 100 * 14.5 / 15) < 1e-9  # cell centres, as the marker


def test_beyond_notice_names_the_values_held_at_the_edge() -> None:
    from server.view import beyond_notice

    assert beyond_notice([0.5, -2.9], "Sampled") is None
    assert beyond_notice([3.41, 0, -4], "Sampled at temperature 2") == (
        "Sampled at temperature 2: z0 = 3.41, z2 = -4.00 lie beyond the sliders' range ±3; "
        "they are shown at the edge."
    )
