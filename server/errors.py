"""Every 4xx answers `{"detail": "<one readable sentence>"}`, including FastAPI's validation errors,
whose default `detail` is a list of objects."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


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


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = "; ".join(describe(e) for e in exc.errors()) or "invalid request"
    return JSONResponse({"detail": detail}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
