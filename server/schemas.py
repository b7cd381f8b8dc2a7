"""Request parsing and validation (latent vectors, ranges, caps) and the JSON response models.

Every failure is an `HTTPException(422)` whose detail says what was wrong and what is accepted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch
from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field

from model.latent import Range
from server.view import VIEW, snap

NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(NUMBER)
_VECTOR = re.compile(rf"\s*{NUMBER}\s*(?:,\s*{NUMBER}\s*)*")
_RANGE = re.compile(rf"\s*({NUMBER})\s*\.\.\s*({NUMBER})\s*")
_RANGE_KEY = re.compile(r"z(\d+)")
NON_FINITE = ("nan", "inf", "infinity")  # numbers to float(), refused as not finite rather than as words


def invalid(detail: str) -> HTTPException:
    return HTTPException(422, detail=detail)


def _number(text: str, *, what: str, bound: float) -> float:
    """One finite number with |x| <= bound; `what` names it in the error ("z value 2")."""
    text = text.strip()
    if not _NUMBER.fullmatch(text) and text.lower().lstrip("+-") not in NON_FINITE:
        raise invalid(f"{what} is {text!r}, not a number; expected a decimal like -1.5 or 2e-1")
    value = float(text)
    if not math.isfinite(value):
        raise invalid(f"{what} is {text!r}, which is not finite; expected |value| <= {bound:g}")
    if abs(value) > bound:
        raise invalid(f"{what} is {text}, beyond the bound; expected |value| <= {bound:g}")
    return value


def parse_vector(text: str, *, dim: int, bound: float, name: str = "z") -> torch.Tensor:
    """`0.5,-1.2` -> a (dim,) float32 tensor; exactly `dim` finite numbers within +-bound."""
    return torch.tensor(parse_values(text, dim=dim, bound=bound, name=name), dtype=torch.float32)


def parse_values(text: str, *, dim: int, bound: float, name: str = "z") -> list[float]:
    """`0.5,-1.2` -> [0.5, -1.2]: exactly `dim` finite numbers within +-bound."""
    if _VECTOR.fullmatch(text):  # well formed, as nearly every request is: check it in bulk
        values = [float(p) for p in text.split(",")]
        if len(values) == dim and max(map(abs, values)) <= bound:  # inf fails here
            return values
    parts = text.split(",")  # something is wrong: find what, and say so
    example = f"give {dim} comma-separated numbers, e.g. {name}={','.join(['0'] * dim)}"
    for i, p in enumerate(p.strip() for p in parts):  # a word where a number belongs: say so first
        if p and not _NUMBER.fullmatch(p) and p.lower().lstrip("+-") not in NON_FINITE:
            raise invalid(f"{element(name, i)} is {p!r}, not a number; {example}")
    if len(parts) != dim:
        given = "no values" if not text.strip() else f"{len(parts)} value{'s' * (len(parts) != 1)}"
        raise invalid(
            f"{name} has {given}, but this model's latent space has {dim} dimension{'s' * (dim != 1)}: "
            f"{example.replace('give', 'give exactly')}"
        )
    for i, p in enumerate(parts):
        if not p.strip():
            raise invalid(f"{element(name, i)} is empty; {example}")
    return [_number(p, what=element(name, i), bound=bound) for i, p in enumerate(parts)]


def element(name: str, i: int) -> str:
    """Dimension i of vector `name`, counted from 0 as the sliders are: `z0`, or `from's z0`."""
    return f"z{i}" if name == "z" else f"{name}'s z{i}"


def parse_z(text: str, *, dim: int) -> list[float]:
    """`0.5,-1.2,...` (the page URL's `z`): exactly `dim` numbers within the sliders' range
    (`VIEW.bound`; beyond it is refused, never clamped), rounded to the sliders' step."""
    return [snap(v) for v in parse_values(text, dim=dim, bound=VIEW.bound)]


def slider_z(query: Mapping[str, str], *, dim: int) -> list[float]:
    """The slider form's fields `z0` .. `z{dim-1}`, as `parse_z`; a missing one is 0."""
    return parse_z(",".join(query.get(f"z{i}", "0") for i in range(dim)), dim=dim)


def parse_base(text: str | None, *, dim: int, bound: float) -> torch.Tensor:
    """The `base` latent vector: zeros when not given."""
    return torch.zeros(dim) if text is None else parse_vector(text, dim=dim, bound=bound, name="base")


def parse_range(key: str, text: str, *, bound: float) -> tuple[float, float]:
    """`-3..3` -> (-3.0, 3.0); either direction is fine, `3..-3` runs backwards."""
    m = _RANGE.fullmatch(text)
    if not m:
        raise invalid(
            f"{key}={text!r} is not a range; expected <start>..<stop> with two numbers, e.g. {key}=-3..3"
        )
    start = _number(m.group(1), what=f"the start of {key}", bound=bound)
    stop = _number(m.group(2), what=f"the end of {key}", bound=bound)
    return start, stop


def parse_ranges(params: list[tuple[str, str]], *, dim: int, bound: float) -> list[Range]:
    """The `z<k>=<start>..<stop>` query parameters, in the order written; the first is x, the
    second y. None given: z0 (and z1, when there is one) over -3..3."""
    ranges: list[Range] = []
    for key, value in params:
        m = _RANGE_KEY.fullmatch(key)
        if not m:
            continue
        k = int(m.group(1))
        if k >= dim:
            raise invalid(f"{key} is not a latent dimension of this model; it has z0..z{dim - 1}")
        if any(k == r[0] for r in ranges):
            raise invalid(f"{key} is given twice; give each dimension at most once")
        ranges.append((k, *parse_range(key, value, bound=bound)))
    if len(ranges) > 2:
        keys = ", ".join(f"z{r[0]}" for r in ranges)
        raise invalid(f"at most two ranges (x, then y) are accepted; got {len(ranges)}: {keys}")
    if not ranges:
        ranges = [(k, -VIEW.bound, VIEW.bound) for k in range(min(dim, 2))]
    return ranges


def check_cap(name: str, value: int, limit: int) -> None:
    if value > limit:
        raise invalid(f"{name}={value} is beyond this server's limit; expected {name} <= {limit}")


def check_images(count: int, limit: int) -> None:
    """No request may decode more than `limit` images."""
    if count > limit:
        raise invalid(
            f"this request would decode {count} images; this server decodes at most {limit} per request"
        )


class Encoding(BaseModel):
    mean: list[float] = Field(description="the encoder's mean of q(z|x)")
    logvar: list[float] = Field(description="the encoder's log-variance of q(z|x)")


class Reconstruction(Encoding):
    input: str = Field(description="the preprocessed 28x28 input, as a PNG data URL")
    reconstruction: str = Field(description="the decoded mean, as a PNG data URL")


class ModelEntry(BaseModel):
    """One model of the weights folder in /models: its card when it is served, else why not."""

    model_config = ConfigDict(extra="allow")

    name: str
    available: bool = Field(description="served; when false, `reason` says why not")
    reason: str | None = Field(None, description="why the model is not served (a bad card or file)")
    format: str | None = Field(None, description="safetensors (a native network) or onnx")
    can_encode: bool | None = Field(
        None, description="false for an ONNX model exported without its encoder: no uploads or map"
    )


class Status(BaseModel):
    status: str
    models: list[str] = Field(default_factory=list)


class ErrorDetail(BaseModel):
    detail: str = Field(description="what was wrong and what is accepted")
