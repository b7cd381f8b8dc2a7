"""PNG and JSON endpoints (filled in by the API work)."""

from fastapi import APIRouter

router = APIRouter(tags=["api"])
