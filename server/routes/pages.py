"""HTML pages and htmx fragments (filled in by the UI work)."""

from fastapi import APIRouter

router = APIRouter(tags=["pages"])
