"""/models, /healthz, /readyz and the OpenAPI description at /docs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_checks import detail_of
from fastapi.testclient import TestClient


def test_models_lists_the_loaded_cards(client: TestClient) -> None:
    r = client.get("/models")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    cards = {c["name"]: c for c in r.json()}
    assert set(cards) == {"tiny-z2", "tiny-z10"}
    assert cards["tiny-z10"]["latent_dim"] == 10 and cards["tiny-z2"]["dataset"] == "mnist"
    assert "metrics" in cards["tiny-z2"] and cards["tiny-z2"]["config"]["arch"] == "mlp"


def test_models_is_cacheable(client: TestClient) -> None:
    tag = client.get("/models").headers["etag"]
    assert client.get("/models", headers={"If-None-Match": tag}).status_code == 304


def test_healthz_answers_while_the_process_is_up(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_lists_the_models_once_loaded(client: TestClient) -> None:
    assert client.get("/readyz").json() == {"status": "ready", "models": ["tiny-z10", "tiny-z2"]}


def test_readyz_is_503_before_the_models_are_loaded(client_with: Callable[..., TestClient]) -> None:
    unstarted = client_with()  # no `with`: the lifespan has not run
    assert unstarted.get("/healthz").status_code == 200
    r = unstarted.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "loading"
    assert "not loaded" in detail_of(unstarted.get("/decode?z=0,0"), 503)


def test_unknown_path_has_a_string_detail(client: TestClient) -> None:
    assert detail_of(client.get("/nowhere"), 404) == "Not Found"
    assert detail_of(client.delete("/decode"), 405) == "Method Not Allowed"


def test_docs_are_served(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


@pytest.mark.parametrize(
    ("path", "method", "media_types"),
    [
        ("/decode", "get", {"image/png"}),
        ("/sample", "get", {"image/png"}),
        ("/grid", "get", {"image/png"}),
        ("/traverse", "get", {"image/png"}),
        ("/interpolate", "get", {"image/png", "image/gif"}),
        ("/reconstruct", "post", {"image/png", "application/json"}),
        ("/encode", "post", {"application/json"}),
        ("/models", "get", {"application/json"}),
        ("/healthz", "get", {"application/json"}),
        ("/readyz", "get", {"application/json"}),
    ],
)
def test_openapi_describes_each_endpoint_and_its_media_types(
    client: TestClient, path: str, method: str, media_types: set[str]
) -> None:
    op = client.get("/openapi.json").json()["paths"][path][method]
    assert set(op["responses"]["200"]["content"]) == media_types
    for status, response in op["responses"].items():
        if status.startswith("4"):  # errors are JSON with a string detail, not images
            schema = response["content"]["application/json"]["schema"]
            assert list(response["content"]) == ["application/json"], (path, status)
            assert schema["properties"]["detail"]["type"] == "string", (path, status)


def test_openapi_documents_both_forms_of_upload(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/reconstruct"]["post"]["requestBody"]
    assert set(body["content"]) == {"multipart/form-data", "image/*"}


def test_start_up_tunes_the_garbage_collector_for_serving(client: TestClient) -> None:
    import gc

    assert gc.get_freeze_count() > 10_000  # torch, FastAPI and the models: never walked again
    assert gc.get_threshold()[0] == 10_000
