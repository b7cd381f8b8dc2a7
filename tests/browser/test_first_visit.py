"""What a first-time user stumbles on (issue 18), at desktop and phone size: one z range everywhere,
a tap that draws nothing, sampling that says when it clamps, and the rest of the issue's list."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import app_env, open_page
from tests.browser.harness import draw_stroke, serve
from tests.browser.test_beyond import HISTORY, KL_Z10, write_models
from tests.browser.test_explorer import digit_png, png_file, slider_values

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Iterator[str]:
    """Tiny models whose cards have a training history and KL per dimension (z2 and z5 of mnist-z10
    inactive), the synthetic test set, and a fashion-z2 without its test set."""
    weights = write_models(tmp_path_factory.mktemp("first-visit-weights"))
    with serve(app_env(tmp_path_factory, weights, data_root)) as url:
        yield url


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    yield from open_page(browser, server, 1280, 800)


@pytest.fixture
def touch(browser: Any, server: str) -> Iterator[Any]:
    """A phone: 390x844, touch events, a mobile viewport."""
    yield from open_page(browser, server, 390, 844, has_touch=True, is_mobile=True)


@pytest.fixture(params=["desktop", "phone"])
def any_page(request: pytest.FixtureRequest) -> Any:
    """The same test at 1280x800 with a mouse and at 390x844 with touch."""
    return request.getfixturevalue("page" if request.param == "desktop" else "touch")


def settle(page: Any) -> None:
    """Until the grid and traversal have been asked for again after the last move (250 ms later) and
    no htmx request is in flight."""
    page.wait_for_timeout(400)
    page.wait_for_function("!document.querySelector('.htmx-request')")


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
    settle(any_page)  # the grid is redrawn around the new z
    expect(any_page.locator("#grid-marker")).to_be_visible()
    box = grid.bounding_box()
    marker = any_page.evaluate("""(() => { const r = document.querySelector('#grid-marker')
        .getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; })()""")
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
        with any_page.expect_response(re.compile(r"/fragments/sliders\?")):
            any_page.click("#sample")
        any_page.wait_for_timeout(50)  # the swap after the answer
        if notice.count():
            break
    expect(notice).to_be_visible()
    expect(any_page.locator("#decoded")).to_have_attribute("data-z", ",".join(slider_values(any_page)))
    text = notice.text_content()
    assert text.startswith("Sampled at temperature 2: ")
    for dim in re.findall(r"(z\d+) = ", text):
        assert abs(float(any_page.locator(f"#{dim}").input_value())) == 3


# ---- 4. errors count from 0, as the sliders do ------------------------------------------------


@pytest.mark.parametrize(("z", "said"), [("abc", "z0 is 'abc', not a number"), ("0,NaN", "z1 is 'NaN'")])
def test_a_bad_url_z_is_named_as_the_sliders_name_it(any_page: Any, z: str, said: str) -> None:
    any_page.goto(f"/?model=mnist-z2&z={z}")
    expect(any_page.locator(".explorer > .notice")).to_contain_text(said)


# ---- 5, 6. numbers on the axes; traversal rows labelled ---------------------------------------


def centre(box: dict[str, float]) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_grid_axes_carry_numbers_where_those_values_fall(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    grid = any_page.locator("#grid")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    xs, ys = any_page.locator(".grid-axes .ticks-x li"), any_page.locator(".grid-axes .ticks-y li")
    expect(xs).to_have_text(["-3", "-2", "-1", "0", "1", "2", "3"])
    expect(ys).to_have_text(["-3", "-2", "-1", "0", "1", "2", "3"])
    cell = box["width"] / 15  # 15 cells over -3..3: the value 0 is the centre of cell 7, 3 of cell 14
    assert abs(centre(xs.nth(3).bounding_box())[0] - (box["x"] + 7.5 * cell)) < 2
    assert abs(centre(xs.nth(6).bounding_box())[0] - (box["x"] + 14.5 * cell)) < 2
    assert abs(centre(ys.nth(0).bounding_box())[1] - (box["y"] + 0.5 * cell)) < 2
    expect(any_page.locator(".grid-axes .axis-name-x")).to_have_text("z0 →")
    expect(any_page.locator(".grid-axes .axis-name-y")).to_have_text("z1 ↓")
    any_page.select_option("#grid-form [name=gx]", "1")
    any_page.select_option("#grid-form [name=gy]", "0")
    expect(any_page.locator(".grid-axes .axis-name-x")).to_have_text("z1 →")


def test_training_curve_has_numbers_on_both_axes_and_says_what_is_off_the_top(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z10")
    chart = any_page.locator(".curve-chart")
    chart.scroll_into_view_if_needed()
    labels = chart.locator(".ticks-y li")
    ys = [float(t) for t in labels.all_text_contents()]
    heights = [labels.nth(k).bounding_box()["y"] for k in range(len(ys))]
    assert len(ys) >= 2 and sorted(ys, key=lambda v: heights[ys.index(v)]) == sorted(ys, reverse=True)
    assert min(HISTORY["train"] + HISTORY["test"]) - 5 <= ys[-1] and ys[0] <= max(HISTORY["train"][1:]) + 5
    xs = chart.locator(".ticks-x li").all_text_contents()
    assert xs[0] == "1" and int(xs[-1]) <= len(HISTORY["train"])
    expect(chart.locator(".axis-name-x")).to_have_text("epoch")
    note = any_page.locator(".curve-note")
    expect(note).to_contain_text("Epoch 1 (200 train, 160 test) is above the chart")
    svg, label = chart.locator("svg").bounding_box(), chart.locator(".ticks-y li").first.bounding_box()
    assert label["x"] + label["width"] <= svg["x"] + 1, "the numbers sit beside the chart, not on it"


def test_traversal_rows_are_labelled_with_dimension_kl_and_inactive(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z10")
    image = any_page.locator("#traversal")
    image.scroll_into_view_if_needed()
    any_page.wait_for_function("document.querySelector('#traversal').naturalWidth > 0")
    rows = any_page.locator(".traversal-rows li")
    expect(rows).to_have_count(10)
    expect(rows.locator(".row-dim")).to_have_text([f"z{k}" for k in range(10)])
    for k, kl in enumerate(KL_Z10):
        expect(rows.nth(k).locator(".row-kl")).to_have_text("inactive" if kl < 0.05 else f"KL {kl:.1f}")
    expect(any_page.locator(".traversal-rows li.inactive")).to_have_count(2)
    box = image.bounding_box()
    for k in (0, 5, 9):  # each label beside its row of the picture
        assert abs(centre(rows.nth(k).bounding_box())[1] - (box["y"] + (k + 0.5) * box["height"] / 10)) < 3
    offsets = any_page.locator(".traversal-figure .ticks-x li")
    expect(offsets).to_have_text(["-3", "-2", "-1", "0", "+1", "+2", "+3"])


# ---- 7. a glossary on the page, and three things to try -------------------------------------

GLOSSARY = ["nats", "−ELBO", "reconstruction", "KL", "NLL", "inactive dimension", "temperature"]


def test_the_glossary_is_on_the_page_not_in_tooltips(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z10")
    glossary = any_page.locator("#glossary")
    glossary.scroll_into_view_if_needed()
    expect(glossary).to_be_visible()
    expect(glossary.locator("dt")).to_have_text(GLOSSARY)
    expect(glossary).to_contain_text("lower is better")
    for k in range(len(GLOSSARY)):
        expect(glossary.locator("dd").nth(k)).to_be_visible()


def test_try_this_shows_on_a_first_visit_and_stays_closed_once_closed(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    box = any_page.locator("#try-this")
    expect(box.locator("li")).to_have_count(3)
    expect(box.locator("li").first).to_be_visible()
    box.locator("summary").click()
    expect(box.locator("li").first).to_be_hidden()
    any_page.reload()
    expect(any_page.locator("#try-this li").first).to_be_hidden()
    any_page.select_option("#model", "mnist-z10")
    expect(any_page.locator("#sliders input[type=range]")).to_have_count(10)
    expect(any_page.locator("#try-this li").first).to_be_hidden()


# ---- 8. the PCA view's outline explained ---------------------------------------------------


def test_the_pca_view_explains_its_outline(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z10")
    any_page.locator("#map-panel").scroll_into_view_if_needed()
    expect(any_page.locator("#map-panel")).to_have_attribute("data-state", "ready")
    note = any_page.locator(".map-pca-note")
    expect(note).to_be_hidden()
    any_page.select_option("#map-view", "pca")
    expect(note).to_be_visible()
    expect(note).to_contain_text("projected onto the principal plane")
    any_page.select_option("#map-view", "axes")
    expect(note).to_be_hidden()


# ---- 9, 10. GIFs and PNGs at a readable size -----------------------------------------------


def download(page: Any, selector: str) -> tuple[str, Image.Image]:
    with page.expect_download() as info:
        page.click(selector)
    return info.value.suggested_filename, Image.open(io.BytesIO(Path(info.value.path()).read_bytes()))


def test_gifs_default_to_8x_with_a_size_choice_and_play_as_the_page_does(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    any_page.locator("#interp-panel").scroll_into_view_if_needed()
    expect(any_page.locator("#gif-size")).to_have_value("224")
    _, gif = download(any_page, "#gif-path")
    frame_ms = int(any_page.locator("#interp-panel").get_attribute("data-frame-ms"))
    assert gif.size == (224, 224) and gif.info["duration"] == frame_ms
    any_page.select_option("#gif-size", "112")
    expect(any_page.locator("#gif-sweep")).to_have_attribute("href", re.compile(r"size=112"))
    _, sweep = download(any_page, "#gif-sweep")
    assert sweep.size == (112, 112)


def test_save_png_is_the_decoded_image_at_the_chosen_scale(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2&z=1.5,-0.5")
    expect(any_page.locator("#save-size")).to_have_value("224")
    name, png = download(any_page, "#save-png")
    assert name == "mnist-z2_z=1.5,-0.5_224px.png" and png.size == (224, 224)
    small = any_page.request.get("/decode?model=mnist-z2&z=1.5,-0.5").body()
    native = Image.open(io.BytesIO(small)).convert("L")
    assert png.convert("L").tobytes() == native.resize((224, 224), Image.Resampling.NEAREST).tobytes()
    any_page.select_option("#save-size", "448")
    any_page.locator("#z0").focus()
    any_page.keyboard.press("Home")  # z0 to -3: the link follows
    expect(any_page.locator("#save-png")).to_have_attribute("href", re.compile(r"z=-3,-0.5&size=448$"))
    assert download(any_page, "#save-png")[1].size == (448, 448)


# ---- 11, 12. the link keeps everything; switching models --------------------------------------


def test_the_link_keeps_grid_temperature_and_interpolation(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z10")
    any_page.select_option("#grid-form [name=gx]", "2")
    any_page.select_option("#grid-form [name=gy]", "5")
    for name, value in (("lo", "-2"), ("hi", "2.5"), ("steps", "9")):
        any_page.fill(f"#grid-form [name={name}]", value)
        any_page.locator(f"#grid-form [name={name}]").dispatch_event("change")
    expect(any_page.locator(".grid-frame")).to_have_attribute("data-steps", "9")
    any_page.locator("#temperature").fill("1.5")
    any_page.locator("#z4").focus()
    any_page.keyboard.press("End")
    any_page.click("[data-end=a][data-source=current]")
    any_page.check("#interp-form [value=slerp]")
    expect(any_page).to_have_url(re.compile(r"gx=2&gy=5&lo=-2&hi=2.5&steps=9&t=1.5&from=0,0,0,0,3(,0){5}&method=slerp"))

    other = any_page.context.new_page()
    other.goto(any_page.url)
    frame = other.locator(".grid-frame")
    asked = {"x": "2", "y": "5", "lo": "-2.0", "hi": "2.5", "steps": "9"}
    for attr, value in asked.items():
        expect(frame).to_have_attribute(f"data-{attr}", value)
    expect(other.locator("#temperature")).to_have_value("1.5")
    expect(other.locator("#interp-form [value=slerp]")).to_be_checked()
    expect(other.locator("#interp-a-label")).to_contain_text("from the link (0.00, 0.00, 0.00, …)")
    strip = re.compile(r"from=0%2C0%2C0%2C0%2C3%2C.*method=slerp")
    expect(other.locator("#interp-strip")).to_have_attribute("src", strip)
    expect(other.locator("#z4")).to_have_value("3")


def test_a_bad_link_part_is_explained_and_the_rest_kept(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2&z=1,1&gx=0&gy=0&t=9&method=cubic")
    notice = any_page.locator(".explorer > .notice")
    expect(notice).to_contain_text("both grid axes are z0")
    expect(notice).to_contain_text("t is '9'")
    expect(notice).to_contain_text("method is 'cubic'")
    expect(any_page.locator("#z0")).to_have_value("1")


def test_switching_models_keeps_z_of_the_same_size_and_back_returns(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2&z=1.25,-0.5")
    any_page.select_option("#model", "fashion-z2")
    expect(any_page.locator(".card")).to_contain_text("Fashion-MNIST")
    expect(any_page.locator("#decoded")).to_have_attribute("data-z", "1.25,-0.5")
    expect(any_page).to_have_url(re.compile(r"model=fashion-z2&z=1.25,-0.5"))
    any_page.select_option("#model", "mnist-z10")
    expect(any_page.locator("#sliders input[type=range]")).to_have_count(10)
    expect(any_page.locator("#decoded")).to_have_attribute("data-z", ",".join(["0"] * 10))
    settle(any_page)  # a person does not press Back within 100 ms
    any_page.go_back()
    expect(any_page.locator("#model")).to_have_value("fashion-z2")
    expect(any_page.locator("#decoded")).to_have_attribute("data-z", "1.25,-0.5")
    settle(any_page)
    any_page.go_back()
    expect(any_page.locator("#model")).to_have_value("mnist-z2")
    expect(any_page.locator(".card")).to_contain_text("MNIST")
    settle(any_page)
    any_page.go_forward()
    expect(any_page.locator("#model")).to_have_value("fashion-z2")


def test_switching_models_encodes_the_upload_again(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    any_page.set_input_files("#upload", files=[png_file(digit_png())])
    expect(any_page.locator("#upload-reconstruction")).to_be_visible()
    any_page.select_option("#model", "fashion-z2")
    expect(any_page.locator("#upload-reconstruction")).to_be_visible()
    upload = {"image": png_file(digit_png())}
    mean = any_page.request.post("/encode?model=fashion-z2", multipart=upload).json()["mean"]
    expect(any_page.locator("#decoded")).to_have_attribute(
        "data-z", ",".join(f"{max(-3, min(3, v)):.2f}".rstrip("0").rstrip(".") for v in mean)
    )


def test_switching_models_encodes_the_drawing_again(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    page.locator("#draw").scroll_into_view_if_needed()
    draw_stroke(page, [(0.5, 0.2), (0.5, 0.8)])
    expect(page.locator("#draw-reconstruction")).to_be_visible()
    page.select_option("#model", "fashion-z2")
    expect(page.locator(".card")).to_contain_text("Fashion-MNIST")
    expect(page.locator("#draw-reconstruction")).to_be_visible()
    expect(page.locator("#draw-undo")).to_be_enabled()
    assert page.locator("#draw-result").get_attribute("data-z")
    expect(page.locator("#decoded")).not_to_have_attribute("data-z", "0,0")


# ---- 16. interpolation: tall frames, a named sweep, named endpoints, clickable frames -----------


def test_interpolation_frames_stay_tall_and_a_click_goes_there(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    panel = any_page.locator("#interp-panel")
    panel.scroll_into_view_if_needed()
    expect(any_page.locator("#interp-a-label")).to_contain_text("a draw from the prior")
    any_page.fill("#interp-form [name=steps]", "32")
    any_page.locator("#interp-form [name=steps]").dispatch_event("change")
    any_page.wait_for_function("document.querySelector('#interp-strip').naturalWidth === 32 * 28")
    assert any_page.locator("#interp-strip").bounding_box()["height"] >= 39
    with any_page.expect_response(re.compile(r"format=json")) as answer:
        any_page.locator("#interp-strip").click(position={"x": 5 * 40 + 20, "y": 20})  # frame 5
    path = answer.value.json()["path"]
    expect(any_page.locator("#decoded")).to_have_attribute(
        "data-z", ",".join(f"{v:.2f}".rstrip("0").rstrip(".") or "0" for v in path[5])
    )


def test_the_sweep_names_its_dimension(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z10")
    sweep = any_page.locator("#gif-sweep")
    expect(sweep).to_have_text("GIF: sweep z0")
    any_page.locator("#z7").focus()
    expect(any_page.locator("#sweep-dim")).to_have_value("7")
    expect(sweep).to_have_text("GIF: sweep z7")
    any_page.select_option("#sweep-dim", "3")
    expect(sweep).to_have_text("GIF: sweep z3")
    expect(sweep).to_have_attribute("download", "mnist-z10-z3-sweep.gif")


# ---- 13, 14. keys you can see; the keyboard reaches the grid and the traversals ---------------


def test_arrow_keys_move_a_slider_by_a_visible_step_and_shift_by_a_coarse_one(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    page.locator("#z0").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#decoded")).to_have_attribute("data-z", "0.1,0")
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#decoded")).to_have_attribute("data-z", "0.6,0")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#decoded")).to_have_attribute("data-z", "0,0")
    page.keyboard.press("End")
    page.keyboard.press("Shift+ArrowRight")  # at the end it stays there
    expect(page.locator("#decoded")).to_have_attribute("data-z", "3,0")
    legend = page.locator(".keys")
    for key in ("←", "→", "Shift", "Home", "End", "Enter", "[", "]", "s", "r"):
        expect(legend.locator("kbd", has_text=key).first).to_be_visible()
    expect(legend).to_contain_text("by 0.1, with Shift by 0.5")


def test_the_keyboard_goes_to_a_grid_cell(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    frame = page.locator(".grid-frame")
    frame.focus()
    outline = page.locator(".grid-frame .cell-focus")
    expect(outline).to_be_visible()  # on the cell under the marker: z = (0, 0), cell (7, 7)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    # 15 cells over -3..3: cell 9 is -3 + 9 * 6/14 = 0.857, cell 6 is -0.43
    expect(page.locator("#decoded")).to_have_attribute("data-z", "0.86,-0.43")
    settle(page)  # the grid is redrawn around the new z
    expect(page.locator(".grid-frame")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press(" ")
    expect(page.locator("#decoded")).to_have_attribute("data-z", "0.43,-0.43")


def test_the_keyboard_and_a_click_go_to_a_traversal_cell(page: Any) -> None:
    page.goto("/?model=mnist-z10&z=0,0,0,0,0,0,0,0,0,0")
    frame = page.locator(".traversal-frame")
    frame.focus()
    expect(page.locator(".traversal-frame .cell-focus")).to_be_visible()  # row z0, middle column
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # z2 one column right of its value: +0.75 (9 columns over ±3)
    expect(page.locator("#decoded")).to_have_attribute("data-z", "0,0,0.75,0,0,0,0,0,0,0")
    settle(page)
    image = page.locator("#traversal")
    box = image.bounding_box()
    image.click(position={"x": box["width"] * 0.5 / 9, "y": box["height"] * 4.5 / 10})  # z4, first column
    expect(page.locator("#decoded")).to_have_attribute("data-z", "0,0,0.75,0,-3,0,0,0,0,0")


# ---- 15. phone -------------------------------------------------------------------------------


def test_phone_tap_targets_are_24_px_or_more_and_no_key_legend(touch: Any) -> None:
    touch.goto("/?model=mnist-z10")
    expect(touch.locator(".keys")).to_be_hidden()
    small = touch.evaluate("""() => [...document.querySelectorAll(
        "#sliders input[type=range], .sources button, #interp-form input[type=radio], button, select")]
      .filter((el) => el.offsetParent !== null)
      .map((el) => [el.id || el.textContent.trim() || el.name, el.getBoundingClientRect().height])
      .filter(([, h]) => h < 24)""")
    assert small == [], small


def test_phone_captions_fit_their_boxes(touch: Any) -> None:
    touch.goto("/?model=mnist-z2")
    touch.set_input_files("#upload", files=[png_file(digit_png())])
    draw = touch.locator("#draw")
    draw.scroll_into_view_if_needed()
    draw_stroke(touch, [(0.5, 0.2), (0.5, 0.8)])
    expect(touch.locator("#draw-reconstruction")).to_be_visible()
    over = touch.evaluate("""() => [...document.querySelectorAll("figcaption")]
      .filter((f) => f.offsetParent !== null && f.scrollWidth > f.clientWidth + 1)
      .map((f) => f.textContent)""")
    assert over == []


def test_phone_sticky_image_lets_the_panels_below_the_sliders_show(touch: Any) -> None:
    touch.goto("/?model=mnist-z10")
    image = touch.locator(".decoded-panel")
    touch.locator("#z9").scroll_into_view_if_needed()
    box = image.bounding_box()
    assert box["y"] <= 1, "while the sliders scroll, the image stays at the top"
    for heading in ("#grid-title", "#traversal-title"):
        touch.locator(heading).scroll_into_view_if_needed()
        touch.evaluate(f"document.querySelector('{heading}').scrollIntoView()")
        touch.wait_for_timeout(200)
        top = touch.locator(heading).bounding_box()
        covering = image.bounding_box()
        assert covering["y"] + covering["height"] <= top["y"] + 1, f"{heading} is not under the image"
    controls = touch.locator("#grid-form")
    controls.evaluate("(el) => el.scrollIntoView()")
    touch.wait_for_timeout(200)
    assert image.bounding_box()["y"] + image.bounding_box()["height"] <= controls.bounding_box()["y"] + 1


# ---- 17. uploads ---------------------------------------------------------------------------


def test_a_failed_upload_keeps_the_last_good_result(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    any_page.set_input_files("#upload", files=[png_file(digit_png())])
    expect(any_page.locator("#upload-reconstruction")).to_be_visible()
    z = slider_values(any_page)
    text = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}
    any_page.set_input_files("#upload", files=[text])
    expect(any_page.locator("#upload-message .message")).to_contain_text("expected a PNG")
    expect(any_page.locator("#upload-reconstruction")).to_be_visible()
    assert slider_values(any_page) == z
    any_page.set_input_files("#upload", files=[png_file(digit_png())])
    expect(any_page.locator("#upload-message .message")).to_have_count(0)


def test_a_blank_upload_is_shown_with_a_warning(any_page: Any) -> None:
    any_page.goto("/?model=mnist-z2")
    white = io.BytesIO()
    Image.new("L", (40, 40), 255).save(white, format="PNG")
    any_page.set_input_files("#upload", files=[png_file(white.getvalue())])
    expect(any_page.locator("#upload-result .notice")).to_contain_text("all one shade")
    expect(any_page.locator("#upload-reconstruction")).to_be_visible()
