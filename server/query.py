"""A hot route without FastAPI's per-request machinery: its endpoint called directly, its query
string read by one pydantic model.

FastAPI resolves each declared query parameter and dependency in Python on every request: on the
dev box, three parameters cost 22 us and two nested dependencies another 45 us, against 40 us for
a whole /healthz. /decode, the API's hot request (one image per call), declares `request: Request` only
and reads its query with `read`, which validates the same fields with the same messages in about
2 us; `parameters` writes the OpenAPI entries FastAPI would have, so /docs and the fuzz test still
see every parameter. Even with nothing to resolve, FastAPI's request handler (body check, dependency
solving, telemetry hooks) costs about 18 us a request (/healthz: 132 us with it, 114 without, in
bench/inprocess.py); `DirectRoute` calls such an endpoint without it, inside the same exception
handling, so its errors are answered as any route's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

Q = TypeVar("Q", bound=BaseModel)


class DirectRoute(APIRoute):
    """An APIRoute whose endpoint, `async def f(request: Request) -> Response`, is called as it is:
    no parameters or dependencies to resolve, no response model to serialize. Documented in OpenAPI
    like any route; FastAPI's exception handlers still answer what it raises."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        params = list(inspect.signature(endpoint, eval_str=True).parameters.values())
        takes_request = len(params) == 1 and params[0].annotation is Request
        assert takes_request and not self.dependencies and self.response_model is None, (
            f"{path}: a DirectRoute endpoint takes the Request and nothing else, and returns a Response"
        )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # FastAPI's documented hook for a custom route class ("Custom Request and APIRoute class");
        # the handler it returns is any `async (Request) -> Response`, which the endpoint already is
        return self.endpoint


def read(request: Request, model: type[Q]) -> Q:
    """The query string as `model`; invalid or missing fields raise FastAPI's own validation error,
    so they are answered exactly like any declared parameter's (server.errors)."""
    try:
        # Starlette's own parse of the query string; a repeated key gives its last value
        return model.model_validate(dict(request.query_params.items()))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in errors]) from None


def parameters(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` that documents `model`'s fields as query parameters, as FastAPI would."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        entry: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            entry["description"] = prop["description"]
        params.append(entry)
    return {"parameters": params}
