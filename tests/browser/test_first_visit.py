"""What a first-time user stumbles on (issue 18), at desktop and phone size: one z range everywhere,
a tap that draws nothing, sampling that says when it clamps, and the rest of the issue's list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_page
from tests.browser.test_explorer import slider_values

pytestmark = pytest.mark.browser


@pytest.fixture
def touch(browser: Any, live_server: str) -> Iterator[Any]:
    """A phone: 390x844, touch events, a mobile viewport."""
    yield from open_page(browser, live_server, 390, 844, has_touch=True, is_mobile=True)


def views(page: Any, phone: Any) -> list[Any]:
    return [page, phone]


@pytest.fixture(params=["desktop", "phone"])
def any_page(request: pytest.FixtureRequest) -> Any:
    """The same test at 1280x800 with a mouse and at 390x844 with touch."""
    return request.getfixturevalue("page" if request.param == "desktop" else "touch")


# ---- 1. one z range: sliders, grid, URL, map ------------------------------------------------


def test_grid_range_beyond_the_sliders_is_refused_visibly(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    before = any_page.locator("#grid").get_attribute("src")
    hi = any_page.locator("#grid-form [name=hi]")
    hi.fill("10")
    hi.dispatch_event("change")
    expect(any_page.locator("#grid-form [name=hi]:invalid")).to_have_count(1)
    message = any_page.evaluate("document.querySelector('#grid-form [name=hi]').validationMessage")
    assert "3" in message, message  # the browser says the limit
    any_page.wait_for_timeout(300)
    assert any_page.locator("#grid").get_attribute("src") == before, "no grid beyond the sliders' range"


def test_a_click_on_the_grids_corner_lands_on_that_cell(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    grid = any_page.locator("#grid")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    cell = box["width"] / 15
    grid.click(position={"x": box["width"] - cell / 2, "y": cell / 2})  # the top-right cell
    expect(any_page.locator("#decoded")).to_have_attribute("data-z", "3,-3")
    marker = any_page.locator("#grid-marker").bounding_box()
    assert abs(marker["x"] + marker["width"] / 2 - (box["x"] + box["width"] - cell / 2)) < cell / 2
    assert abs(marker["y"] + marker["height"] / 2 - (box["y"] + cell / 2)) < cell / 2


def test_a_url_beyond_the_sliders_range_is_refused_with_a_notice(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2&z=5,-7")
    notice = any_page.locator(".explorer > .notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("z0 is 5")
    assert slider_values(any_page) == ["0", "0"]


def test_a_point_beyond_the_sliders_is_shown_at_the_edge_and_said(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    any_page.evaluate("""document.dispatchEvent(new CustomEvent("vae:set-z",
        {detail: {z: [4.25, -1], source: "This map point"}}))""")
    notice = any_page.locator("#z-message .notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_text(
        "This map point: z0 = 4.25 lies beyond the sliders' range ±3; it is shown at the edge."
    )
    expect(any_page.locator("#decoded")).to_have_attribute("data-z", "3,-1")
    any_page.locator("#z1").focus()
    any_page.keyboard.press("ArrowRight")  # the next move of a slider: the notice is stale
    expect(notice).to_have_count(0)


# ---- 2. a tap on the drawing pad ----------------------------------------------------------


def test_a_tap_on_the_drawing_pad_draws_and_counts_nothing(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    any_page.locator("#draw").scroll_into_view_if_needed()
    sent: list[str] = []
    any_page.on("request", lambda r: sent.append(r.url) if "/reconstruct" in r.url else None)
    if any_page.context.browser and any_page.viewport_size["width"] < 500:
        any_page.locator("#draw").tap()
    else:
        any_page.locator("#draw").click()
    expect(any_page.locator("#draw-hint")).to_contain_text("A tap draws nothing")
    expect(any_page.locator("#draw-undo")).to_be_disabled()
    any_page.wait_for_timeout(300)
    assert sent == [] and slider_values(any_page) == ["0", "0"]
    ink = any_page.evaluate("""() => {
        const c = document.querySelector("#draw");
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        return px.some((v, i) => i % 4 !== 3 && v < 250);
    }""")
    assert not ink, "the pad is blank"


# ---- 3. sampling that clamps says so -------------------------------------------------------


def test_sampling_hot_says_which_values_are_held_at_the_edge(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z10")
    any_page.locator("#temperature").fill("2")
    notice = any_page.locator("#z-message .notice")
    for _ in range(30):  # at t = 2 a draw of ten has a value beyond ±3 three times in four
        any_page.click("#sample")
        expect(any_page.locator("#decoded")).to_have_attribute("data-z", ",".join(slider_values(any_page)))
        if notice.count():
            break
    expect(notice).to_be_visible()
    text = notice.text_content()
    assert text.startswith("Sampled at temperature 2: ")
    for dim in re.findall(r"(z\d+) = ", text):
        assert abs(float(any_page.locator(f"#{dim}").input_value())) == 3


# ---- 4. errors count from 0, as the sliders do ------------------------------------------------


@pytest.mark.parametrize(("z", "said"), [("abc", "z0 is 'abc', not a number"), ("0,NaN", "z1 is 'NaN'")])
def test_a_bad_url_z_is_named_as_the_sliders_name_it(page: Any, z: str, said: str) -> None:
    page.goto(f"/?model=mnist-z2&z={z}")
    expect(page.locator(".explorer > .notice")).to_contain_text(said)
