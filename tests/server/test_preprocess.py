"""server/preprocess.py: any upload becomes an MNIST-style 28x28 digit, or a clear UploadError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from api_checks import as_mode, digit, encoded, png_claiming
from PIL import Image

from server.preprocess import INK_THRESHOLD, UploadError, open_image, preprocess

MAX_PIXELS = 40_000_000


def prepared(data: bytes) -> np.ndarray:
    return preprocess(open_image(data, max_pixels=MAX_PIXELS))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """The test digit as a person draws it: dark ink on white, off-centre, 300x300."""
    return prepared(encoded(digit()))


def test_output_is_28x28_in_unit_range(reference: np.ndarray) -> None:
    assert reference.shape == (28, 28)
    assert reference.dtype == np.float32
    assert reference.min() == 0 and reference.max() == pytest.approx(1, abs=0.05)


def test_ink_is_scaled_to_fit_a_20x20_box(reference: np.ndarray) -> None:
    rows, cols = np.nonzero(reference > INK_THRESHOLD)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 in (19, 20, 21)


def test_centre_of_mass_is_at_the_centre(reference: np.ndarray) -> None:
    yy, xx = np.mgrid[0:28, 0:28]
    mass = reference.sum()
    assert abs((yy * reference).sum() / mass - 14) <= 0.5
    assert abs((xx * reference).sum() / mass - 14) <= 0.5


def test_light_background_is_inverted_to_white_ink_on_black(reference: np.ndarray) -> None:
    assert reference[0, 0] == 0 and reference[-1, -1] == 0
    light_ink_on_black = prepared(encoded(digit(ink=255, paper=0)))
    assert similarity(reference, light_ink_on_black) > 0.99


def test_an_mnist_style_digit_passes_through_nearly_unchanged() -> None:
    mnist_like = preprocess(digit(28, ink=255, paper=0, box=(6, 4, 20, 23)))
    again = preprocess(Image.fromarray((mnist_like * 255).astype(np.uint8)))
    assert similarity(mnist_like, again) > 0.95


def test_position_and_scale_of_the_upload_do_not_matter(reference: np.ndarray) -> None:
    small_centred = prepared(encoded(digit(300, box=(120, 110, 180, 190))))
    assert similarity(reference, small_centred) > 0.85


def test_faint_grey_ink_is_stretched_to_full_contrast(reference: np.ndarray) -> None:
    faint = prepared(encoded(digit(ink=170, paper=230)))
    assert faint.max() == pytest.approx(1, abs=0.05)
    assert similarity(reference, faint) > 0.98


@pytest.mark.parametrize("ink", [0, 255])
def test_transparent_background_is_composited_behind_either_ink(reference: np.ndarray, ink: int) -> None:
    alpha = Image.eval(digit(), lambda v: 255 - v)  # opaque where the ink is
    img = Image.new("LA", alpha.size, ink)
    img.putalpha(alpha)
    assert similarity(reference, prepared(encoded(img))) > 0.95


def test_exif_orientation_is_applied(reference: np.ndarray) -> None:
    stored = digit().transpose(Image.Transpose.ROTATE_90)  # a phone stores it sideways...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and tags "rotate 90 degrees clockwise to display"
    upright = prepared(encoded(stored, "JPEG", exif=exif.tobytes(), quality=95))
    assert similarity(reference, upright) > 0.9


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("L", "PNG"), ("RGB", "JPEG"), ("RGBA", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("P", "GIF"),
     ("I;16", "PNG"), ("CMYK", "JPEG"), ("1", "PNG"), ("1", "BMP"), ("RGB", "WEBP")],
)  # fmt: skip
def test_every_mode_gives_the_same_digit(reference: np.ndarray, mode: str, fmt: str) -> None:
    img = as_mode(digit(), mode)
    assert similarity(reference, prepared(encoded(img, fmt))) > 0.9


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (10000, 10), (10, 10000), (3, 500)])
def test_degenerate_sizes_give_a_valid_input(size: tuple[int, int]) -> None:
    img = Image.new("L", size, 255)
    img.putpixel((0, 0), 0)
    x = prepared(encoded(img))
    assert x.shape == (28, 28) and x.min() >= 0 and x.max() <= 1


def test_a_blank_image_gives_a_blank_input() -> None:
    assert not prepared(encoded(Image.new("RGB", (64, 64), "white"))).any()


def test_a_large_photo_is_shrunk_before_processing(reference: np.ndarray) -> None:
    big = digit(3000)
    assert similarity(reference, prepared(encoded(big, "JPEG"))) > 0.9


def rejected(data: bytes, max_pixels: int = MAX_PIXELS) -> UploadError:
    with pytest.raises(UploadError) as e:
        open_image(data, max_pixels=max_pixels)
    return e.value


def test_empty_upload_is_rejected() -> None:
    e = rejected(b"")
    assert e.status == 422 and "empty" in e.detail


def test_non_image_is_rejected_naming_the_accepted_formats() -> None:
    e = rejected(b"hello, this is text, not a picture")
    assert e.status == 415 and "PNG, JPEG, GIF, BMP or WebP" in e.detail


def test_unsupported_format_is_named() -> None:
    e = rejected(encoded(digit(64), "TIFF"))
    assert e.status == 415 and "TIFF images are not accepted" in e.detail


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_truncated_image_is_rejected(fmt: str) -> None:
    data = encoded(Image.effect_noise((200, 200), 60).convert("L"), fmt)
    e = rejected(data[: len(data) // 2])
    assert e.status in (415, 422)
    assert "complete" in e.detail or "not a recognised image" in e.detail


def test_pixel_cap_refuses_a_bomb_before_decoding_it() -> None:
    e = rejected(png_claiming(100_000, 100_000))
    assert e.status == 413 and "10,000,000,000 pixels" in e.detail and "limit is 40,000,000" in e.detail
    smaller = rejected(png_claiming(10_000, 5_000))  # under PIL's own cap, over ours
    assert smaller.status == 413 and "10000x5000" in smaller.detail


def test_pixel_cap_is_configurable() -> None:
    assert rejected(encoded(digit(100)), max_pixels=9_999).status == 413
    assert open_image(encoded(digit(100)), max_pixels=10_000).size == (100, 100)


def test_animated_gif_uses_its_first_frame(reference: np.ndarray) -> None:
    frames = [digit(), Image.new("L", (300, 300), 255)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    assert similarity(reference, prepared(buf.getvalue())) > 0.9
