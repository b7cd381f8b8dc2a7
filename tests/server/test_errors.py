"""server/errors.py: one handler for every error; the message fragment to htmx, JSON to the rest."""

from __future__ import annotations

import pytest
from api_checks import detail_of
from fastapi.testclient import TestClient

HX = {"HX-Request": "true"}


def test_an_api_error_asked_for_by_htmx_is_the_message_fragment(client: TestClient) -> None:
    r = client.get("/grid", params={"steps": "1"}, headers=HX)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert '<p class="message" role="alert">steps: ' in r.text


def test_a_fragment_error_asked_for_without_htmx_is_json(client: TestClient) -> None:
    r = client.get("/fragments/grid", params={"model": "tiny-z10", "gx": "3", "gy": "3"})
    assert "two different dimensions" in detail_of(r, 422)


def test_an_error_varies_on_hx_request(client: TestClient) -> None:
    for headers in ({}, HX):
        assert "HX-Request" in client.get("/decode", params={"z": "x"}, headers=headers).headers["vary"]


def test_an_unknown_model_is_the_same_404_on_every_route(client: TestClient) -> None:
    paths = ["/decode?z=0,0&model=nope", "/grid?model=nope", "/fragments/traversal?model=nope",
             "/fragments/sliders?action=reset&model=nope", "/encodings?model=nope"]
    details = {detail_of(client.get(path), 404) for path in paths}
    assert details == {"unknown model 'nope'; available: tiny-z10, tiny-z2"}


def test_a_fragment_names_the_parameter_it_could_not_read(client: TestClient) -> None:
    r = client.get("/fragments/grid", params={"model": "tiny-z10", "lo": "abc"}, headers=HX)
    assert r.status_code == 422 and "lo: " in r.text and "&#39;abc&#39;" in r.text


@pytest.mark.parametrize("value", ["nan", "inf", "-infinity"])
def test_a_grid_range_that_is_not_finite_is_refused(client: TestClient, value: str) -> None:
    r = client.get("/fragments/grid", params={"model": "tiny-z10", "hi": value})
    assert "hi: " in detail_of(r, 422)


def test_slider_errors_are_sent_under_the_sliders(client: TestClient) -> None:
    r = client.get("/fragments/sliders", params={"model": "tiny-z2", "action": "jump"}, headers=HX)
    assert r.status_code == 422 and r.headers["HX-Retarget"] == "#z-message" and "action: " in r.text


def test_other_fragment_errors_stay_where_htmx_put_them(client: TestClient) -> None:
    r = client.get("/fragments/grid", params={"model": "tiny-z10", "steps": "99"}, headers=HX)
    assert r.status_code == 422 and "HX-Retarget" not in r.headers

