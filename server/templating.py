"""The Jinja2 environment of the page and its fragments, and `html` to answer with one of them.

Built on first use, not at import. Its globals are the view's shared values and the helpers the
templates call; the templates read everything else from the values a route passes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from server import insight, link, view
from server.preprocess import ACCEPTED_TEXT
from server.web_decoder import decoder_url

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@cache
def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=TEMPLATES)
    t.env.globals.update(
        view=view.VIEW, accepted=ACCEPTED_TEXT, fmt=view.fmt, csv=view.csv, traverse_url=view.traverse_url,
        traverse_offsets=view.traverse_offsets, path_ends=link.path_ends,
        model_label=view.model_label, dataset_label=view.dataset_label, kl_bars=insight.kl_bars,
        training_curve=insight.training_curve, factor_map=insight.factor_map, losses=insight.losses,
        class_names=insight.class_names,
        decoder_url=decoder_url,
    )
    return t


def html(request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    """Template `name` rendered with `context`."""
    return templates().TemplateResponse(request, name, context, status_code=status, headers=headers)
