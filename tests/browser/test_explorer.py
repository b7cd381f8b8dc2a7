"""The explorer page in a real browser: what a person sees after dragging, clicking, typing, uploading."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from server.uploads import megabytes
from tests.browser.conftest import UPLOAD_LIMIT

pytestmark = pytest.mark.browser

# Every new decoded image on screen (vae:shown: the server's PNG loaded, or one decoded on the page),
# with the z it shows, in page time: the image really changed on screen.
RECORD_LOADS = """() => {
  window.loads = [];
  document.addEventListener("vae:shown", (e) => window.loads.push(e.detail.z.join(",")));
}"""


def digit_png() -> bytes:
    img = Image.new("L", (40, 40), 255)
    img.paste(0, (16, 6, 24, 34))  # a dark bar on white paper: a "1"
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def png_file(data: bytes) -> dict[str, Any]:
    return {"name": "upload.png", "mimeType": "image/png", "buffer": data}


def slider_values(page: Any) -> list[str]:
    values: list[str] = page.eval_on_selector_all("#sliders [type=range]", "all => all.map(e => e.value)")
    return values


def expect_image_at_sliders(page: Any) -> None:
    """The decoded image shows exactly the z the sliders hold."""
    expect(page.locator("#decoded")).to_have_attribute("data-z", ",".join(slider_values(page)))


def test_drag_updates_the_image_during_the_drag_and_ends_at_the_final_value(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    page.evaluate(RECORD_LOADS)
    box = page.locator("#z0").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 41):  # a 40-step drag to the right, about 25 ms per step
        page.mouse.move(x + i * box["width"] * 0.4 / 40, y)
        page.wait_for_timeout(25)
    during = page.evaluate("window.loads.slice()")
    page.mouse.up()

    final = page.locator("#z0").input_value()
    assert float(final) > 1, "the drag moved the slider to the right"
    assert len(set(during)) >= 3, f"the image followed the drag while it lasted: {during}"
    expect(page.locator("#decoded")).to_have_attribute("data-z", f"{final},0")
    expect(page.locator("#z0-value")).to_have_text(f"{float(final):.2f}")
    assert during[-1] != "0,0"


def test_model_switch_changes_the_number_of_sliders(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    expect(page.locator("#sliders input[type=range]")).to_have_count(2)
    page.select_option("#model", "mnist-z10")
    expect(page.locator("#sliders input[type=range]")).to_have_count(10)
    expect(page.locator(".card")).to_contain_text("10")
    expect(page).to_have_url(re.compile(r"\?model=mnist-z10&z=0(,0){9}$"))
    page.select_option("#model", "mnist-z2")
    expect(page.locator("#sliders input[type=range]")).to_have_count(2)


def test_grid_click_sets_the_two_sliders(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    box = page.locator("#grid").bounding_box()
    cell = box["width"] / 15  # 15 x 15 cells over -3..3: cell k is at -3 + k * 6/14
    page.mouse.click(box["x"] + 2.5 * cell, box["y"] + 12.5 * cell)
    expect(page.locator("#z0")).to_have_value("-2.14")
    expect(page.locator("#z1")).to_have_value("2.14")
    expect(page.locator("#decoded")).to_have_attribute("data-z", "-2.14,2.14")
    expect(page.locator("#grid-marker")).to_be_visible()  # also after the grid's own refresh
    marker = page.locator("#grid-marker").bounding_box()
    centre = (marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2)
    assert abs(centre[0] - (box["x"] + 2.5 * cell)) < cell / 2
    assert abs(centre[1] - (box["y"] + 12.5 * cell)) < cell / 2


def test_grid_follows_the_other_dimensions(page: Any) -> None:
    page.goto("/?model=mnist-z10")
    before = page.locator("#grid").get_attribute("src")
    page.locator("#z5").fill("1.5")  # fill() sets the value and fires input, like a drag's end
    expect(page.locator("#grid")).not_to_have_attribute("src", before)
    assert "base=0%2C0%2C0%2C0%2C0%2C1.5" in page.locator("#grid").get_attribute("src")


def test_traversal_refreshes_when_z_changes(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    before = page.locator("#traversal").get_attribute("src")
    page.locator("#z1").fill("-2")
    expect(page.locator("#traversal")).not_to_have_attribute("src", before)
    expect(page.locator("#traversal")).to_have_attribute("src", re.compile("base=0%2C-2"))
    page.wait_for_function("document.querySelector('#traversal').naturalWidth > 0")


def test_sample_and_reset_buttons_move_the_sliders(page: Any) -> None:
    page.goto("/?model=mnist-z10")
    page.click("#sample")
    expect(page.locator("#sliders input[type=range]").first).not_to_have_value("0")
    expect_image_at_sliders(page)
    assert len(set(slider_values(page))) > 1
    page.click("#reset")
    expect(page.locator("#decoded")).to_have_attribute("data-z", ",".join(["0"] * 10))
    assert set(slider_values(page)) == {"0"}


def test_upload_shows_the_reconstruction_and_moves_sliders_to_the_mean(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    page.set_input_files("#upload", files=[png_file(digit_png())])
    expect(page.locator("#upload-input")).to_be_visible()
    expect(page.locator("#upload-reconstruction")).to_be_visible()
    encoding = page.request.post("/encode?model=mnist-z2", multipart={"image": png_file(digit_png())})
    mean = encoding.json()["mean"]
    expected = [f"{max(-3, min(3, m)):.2f}" for m in mean]
    expect(page.locator("#z0-value")).to_have_text(expected[0])
    expect(page.locator("#z1-value")).to_have_text(expected[1])
    expect_image_at_sliders(page)


def test_dropping_an_image_on_the_page_uploads_it(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    page.evaluate(
        """(b64) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const files = new DataTransfer();
          files.items.add(new File([bytes], "one.png", {type: "image/png"}));
          document.querySelector("#decoded").dispatchEvent(
            new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
        }""",
        base64.b64encode(digit_png()).decode(),
    )
    expect(page.locator("#upload-reconstruction")).to_be_visible()
    assert slider_values(page) != ["0", "0"]


def test_text_file_upload_shows_an_error_by_the_control(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    page.set_input_files("#upload", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}])
    message = page.locator(".upload-panel .message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("expected a PNG, JPEG, GIF, BMP or WebP image")
    assert slider_values(page) == ["0", "0"]


def test_too_large_upload_shows_an_error(page: Any) -> None:
    page.goto("/?model=mnist-z2")
    big = b"\x89PNG" + bytes(UPLOAD_LIMIT + 1000)
    page.set_input_files("#upload", files=[png_file(big)])
    expect(page.locator(".upload-panel .message")).to_contain_text(f"the limit is {megabytes(UPLOAD_LIMIT)}")


def test_url_holds_the_state_and_restores_it(page: Any) -> None:
    page.goto("/?model=mnist-z10")
    entries = page.evaluate("history.length")
    page.locator("#z3").focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"\?model=mnist-z10&z=0,0,0,0\.5(,0){6}$"))  # 5 x 0.1
    assert page.evaluate("history.length") == entries, "moving a slider does not fill the history"

    other = page.context.new_page()
    other.goto(page.url)
    expect(other.locator("#model")).to_have_value("mnist-z10")
    expect(other.locator("#z3")).to_have_value("0.5")
    expect(other.locator("#decoded")).to_have_attribute("data-z", "0,0,0,0.5,0,0,0,0,0,0")


def test_keyboard_picks_dimensions_samples_and_resets(page: Any) -> None:
    page.goto("/?model=mnist-z10")
    expect(page.locator(".keys")).to_contain_text("sample")
    page.locator("#z0").focus()
    page.keyboard.press("]")
    expect(page.locator("#z1")).to_be_focused()
    page.keyboard.press("[")
    page.keyboard.press("[")
    expect(page.locator("#z9")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#decoded")).to_have_attribute("data-z", "0,0,0,0,0,0,0,0,0,0.1")

    page.keyboard.press("s")
    expect(page.locator("#decoded")).not_to_have_attribute("data-z", re.compile(r"^0,0,0,0,0,0,0,0,0,"))
    expect_image_at_sliders(page)
    expect(page.locator("#z9")).to_be_focused()  # the new sliders keep the focus where it was
    page.keyboard.press("r")
    expect(page.locator("#decoded")).to_have_attribute("data-z", ",".join(["0"] * 10))


def test_every_control_has_an_accessible_label(page: Any) -> None:
    page.goto("/?model=mnist-z10")
    unnamed = page.evaluate("""() => [...document.querySelectorAll("input:not([type=hidden]),select,button")]
        .filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || el.textContent.trim()))
        .map((el) => el.outerHTML)""")
    assert unnamed == []
    expect(page.get_by_role("slider", name="latent dimension z3")).to_have_count(1)
    expect(page.get_by_role("combobox", name="Model")).to_have_count(1)


def test_page_is_usable_at_phone_width(phone: Any) -> None:
    phone.goto("/?model=mnist-z10")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    phone.locator("#z9").fill("1")  # scrolls the last slider into view
    expect(phone.locator("#decoded")).to_have_attribute("data-z", "0,0,0,0,0,0,0,0,0,1")
    image = phone.locator("#decoded:visible, #decoded-local:visible").bounding_box()  # server's or the page's
    assert image["y"] >= 0 and image["y"] + image["height"] <= 844, "the image stays in sight"
    assert image["width"] >= 150
