"""server.query: a route called without FastAPI's request handler, and its query read by a model."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from server import query
from server.errors import install_error_handlers


class Params(BaseModel):
    n: int = Field(ge=1, description="how many")
    name: str | None = None


async def echo(request: Request) -> Response:
    q = query.read(request, Params)
    if q.name == "teapot":
        raise HTTPException(418, "short and stout")
    return Response(f"{q.n}:{q.name}", media_type="text/plain", headers={"X-Direct": "yes"})


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.router.add_api_route(
        "/echo",
        echo,
        methods=["GET"],
        route_class_override=query.DirectRoute,
        summary="Echo",
        openapi_extra=query.parameters(Params),
    )
    return TestClient(app)


def test_a_direct_route_answers_with_its_endpoints_response(client: TestClient) -> None:
    r = client.get("/echo", params={"n": 3, "name": "x"})
    assert r.status_code == 200
    assert r.text == "3:x"
    assert r.headers["x-direct"] == "yes"
    assert r.headers["content-type"].startswith("text/plain")


def test_a_direct_routes_errors_go_through_the_apps_handlers(client: TestClient) -> None:
    r = client.get("/echo", params={"n": 1, "name": "teapot"})
    assert r.status_code == 418
    assert r.json() == {"detail": "short and stout"}


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "n"), ({"n": "0"}, "n"), ({"n": "many"}, "n")],
)
def test_read_answers_bad_queries_as_fastapi_would(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    r = client.get("/echo", params=params)
    assert r.status_code == 422
    assert field in r.json()["detail"]


def test_read_takes_the_last_of_a_repeated_key(client: TestClient) -> None:
    assert client.get("/echo?n=1&n=5").text == "5:None"


def test_a_direct_route_is_documented_with_its_parameters(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/echo"]["get"]
    assert op["summary"] == "Echo"
    params = {p["name"]: p for p in op["parameters"]}
    assert params["n"]["required"] is True
    assert params["n"]["schema"]["minimum"] == 1
    assert params["name"]["required"] is False


async def with_a_parameter(request: Request, n: int) -> Response:
    return Response(str(n))


async def with_a_model(request: Request) -> Params:
    return Params(n=1)


@pytest.mark.parametrize("endpoint", [with_a_parameter, with_a_model])
def test_a_direct_route_refuses_an_endpoint_fastapi_would_have_to_resolve(endpoint: object) -> None:
    app = FastAPI()
    with pytest.raises(AssertionError, match="takes the Request and nothing else"):
        app.router.add_api_route("/x", endpoint, route_class_override=query.DirectRoute)  # type: ignore[arg-type]
