"""The one way errors are answered. Every 4xx and 5xx that a route raises (HTTPException, or
FastAPI's validation error, whose default `detail` is a list of objects) carries one readable
sentence, and is answered:

- to htmx (`HX-Request: true`) as the message fragment, which htmx swaps where the user is looking
  (base.html lets htmx swap 4xx bodies); a route sends it elsewhere with `errors_to(selector)`;
- to everyone else as JSON, `{"detail": "<the sentence>"}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from server.templating import html

NO_BODY = (204, 304)


def describe(error: dict[str, Any]) -> str:
    """One pydantic error as `steps: Input should be ... (got 'abc')`."""
    loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path", "header")]
    where = ".".join(loc) or "request"
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "missing":
        return f"{where}: this parameter is required"
    got = error.get("input")
    if isinstance(got, str | int | float) and not isinstance(got, bool):
        return f"{where}: {message} (got {str(got)[:80]!r})"
    return f"{where}: {message}"


def errors_to(selector: str) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: this route's errors go to `selector` on the page instead of its target."""

    async def mark(request: Request) -> None:
        request.state.error_target = selector

    return mark


async def answer(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RequestValidationError):
        status, headers = 422, {}
        detail = "; ".join(describe(e) for e in exc.errors()) or "invalid request"
    else:
        assert isinstance(exc, HTTPException)
        status, detail, headers = exc.status_code, str(exc.detail), dict(exc.headers or {})
    if status in NO_BODY:
        return Response(status_code=status, headers=headers)
    headers.setdefault("Vary", "HX-Request")  # one URL, two answers: caches must tell them apart
    if request.headers.get("HX-Request") == "true":
        target = getattr(request.state, "error_target", None)
        if target:
            headers.update({"HX-Retarget": target, "HX-Reswap": "innerHTML"})
        return html(request, "partials/message.html", status, headers, message=detail)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, answer)
    app.add_exception_handler(HTTPException, answer)
