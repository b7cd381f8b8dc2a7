"""server/schemas.py: parsing latent vectors and ranges into tensors, or a precise 422."""

from __future__ import annotations

import pytest
import torch
from fastapi import HTTPException

from server.schemas import check_cap, check_images, parse_base, parse_range, parse_ranges, parse_vector


def rejection(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(HTTPException) as e:
        call(*args, **kwargs)
    assert e.value.status_code == 422
    return str(e.value.detail)


@pytest.mark.parametrize(
    ("text", "values"),
    [("0.5,-1.2", [0.5, -1.2]), (" 1 , +2 ", [1, 2]), (".5,5.", [0.5, 5]), ("1e-1,-2E0", [0.1, -2])],
)
def test_parse_vector_reads_decimal_numbers(text: str, values: list[float]) -> None:
    z = parse_vector(text, dim=2, bound=10)
    assert z.dtype == torch.float32
    assert z.tolist() == pytest.approx(values)


def test_parse_vector_names_the_expected_count_and_an_example() -> None:
    detail = rejection(parse_vector, "1,2,3", dim=2, bound=10)
    assert "3 values" in detail and "exactly 2" in detail and "z=0,0" in detail


def test_parse_vector_uses_the_parameter_name() -> None:
    assert rejection(parse_vector, "1", dim=2, bound=10, name="from").startswith("from has 1 value")


@pytest.mark.parametrize("text", ["nan,0", "0,-inf", "INF,0", "0,1e400"])
def test_parse_vector_rejects_non_finite_numbers(text: str) -> None:
    assert "not finite" in rejection(parse_vector, text, dim=2, bound=10)


def test_parse_vector_rejects_values_beyond_the_bound() -> None:
    assert "expected |value| <= 2.5" in rejection(parse_vector, "0,2.6", dim=2, bound=2.5)
    assert parse_vector("0,-2.5", dim=2, bound=2.5).tolist() == [0, -2.5]


@pytest.mark.parametrize("text", ["0x1,0", "1_000,0", "one,0", "1 2,0", "--1,0"])
def test_parse_vector_rejects_what_is_not_a_plain_decimal(text: str) -> None:
    assert "not a number" in rejection(parse_vector, text, dim=2, bound=10)


def test_parse_base_defaults_to_the_origin() -> None:
    assert parse_base(None, dim=3, bound=10).tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("text", "pair"),
    [("-3..3", (-3, 3)), ("3..-3", (3, -3)), (" 0.5 .. 1e0 ", (0.5, 1)), ("-.5..+.5", (-0.5, 0.5))],
)
def test_parse_range_reads_either_direction(text: str, pair: tuple[float, float]) -> None:
    assert parse_range("z0", text, bound=10) == pytest.approx(pair)


@pytest.mark.parametrize("text", ["a..b", "1..", "..", "..1", "1", "1..2..3", "1.-2", "", "1,2"])
def test_parse_range_rejects_malformed_text(text: str) -> None:
    assert "expected <start>..<stop>" in rejection(parse_range, "z1", text, bound=10)


def test_parse_ranges_keeps_the_order_written_and_ignores_other_parameters() -> None:
    params = [("model", "x"), ("z3", "0..1"), ("steps", "4"), ("z1", "-1..1")]
    assert parse_ranges(params, dim=4, bound=10) == [(3, 0, 1), (1, -1, 1)]


def test_parse_ranges_defaults_to_the_first_two_dimensions() -> None:
    assert parse_ranges([], dim=10, bound=10) == [(0, -3, 3), (1, -3, 3)]
    assert parse_ranges([], dim=1, bound=10) == [(0, -3, 3)]


def test_caps_name_the_limit() -> None:
    assert "steps <= 32" in rejection(check_cap, "steps", 33, 32)
    check_cap("steps", 32, 32)
    assert "1025 images" in rejection(check_images, 1025, 1024)


def test_parse_vector_counts_dimensions_from_0_as_the_sliders_do() -> None:
    assert rejection(parse_vector, "0,NaN", dim=2, bound=10).startswith("z1 is 'NaN', which is not finite")
    assert rejection(parse_vector, "0,", dim=2, bound=10).startswith("z1 is empty")
    detail = rejection(parse_vector, "x,0", dim=2, bound=10, name="to")
    assert detail.startswith("to's z0 is 'x', not a number")


def test_parse_vector_calls_a_word_a_word_before_counting() -> None:
    assert rejection(parse_vector, "abc", dim=2, bound=10).startswith("z0 is 'abc', not a number")
