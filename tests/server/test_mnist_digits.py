"""Real digits through the real model: a reconstruction resembles its MNIST test digit, and the same
digit drawn as a person would upload it (dark ink on white, off-centre, 300x300, JPEG) encodes
near the MNIST original.

Needs the MNIST test set (the `real_data` fixture: VAE_DATA_DIR) and trained mnist-z10 weights (the
shipped file, or VAE_WEIGHTS_DIR); skipped otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from api_checks import encoded, image_of
from fastapi.testclient import TestClient
from PIL import Image

from model.data import Split, load_split
from model.store import read_card
from server.app import create_app
from server.settings import Settings

MODEL = "mnist-z10"
DIGITS = 20  # test digits uploaded per test
OTHERS = 1000  # test digits whose codes the drawn digit's code is compared against


def skip_reason(settings: Settings) -> str | None:
    try:
        card = read_card(MODEL, settings.weights_dir)
    except FileNotFoundError:
        return f"no {MODEL} in {settings.weights_dir}"
    if card.placeholder:
        return f"{settings.weights_dir}/{MODEL} is an untrained placeholder; train it to run this test"
    return None


@pytest.fixture(scope="module")
def real(real_data: Path) -> Iterator[TestClient]:
    settings = Settings(device="cpu", data_dir=real_data)  # the shipped weights
    reason = skip_reason(settings)
    if reason:
        pytest.skip(reason)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def mnist(real_data: Path) -> Split:
    return load_split(real_data / "mnist", "test")


def as_drawn(digit: np.ndarray, seed: int) -> bytes:
    """An MNIST digit as a person would photograph or draw it: dark on white, 140-220 px tall,
    somewhere on a 300x300 page, saved as JPEG."""
    rng = np.random.default_rng(seed)
    side = int(rng.integers(140, 220))
    ink = Image.fromarray(255 - digit).resize((side, side), Image.Resampling.BICUBIC)
    page = Image.new("L", (300, 300), 255)
    page.paste(ink, (int(rng.integers(0, 300 - side)), int(rng.integers(0, 300 - side))))
    return encoded(page.convert("RGB"), "JPEG", quality=85)


def test_reconstruction_of_a_real_digit_is_close_to_it(real: TestClient, mnist: Split) -> None:
    originals = mnist.images[:DIGITS].astype(np.float32) / 255
    for i in range(DIGITS):
        upload = {"image": ("d.png", encoded(Image.fromarray(mnist.images[i])), "image/png")}
        r = real.post(f"/reconstruct?model={MODEL}", files=upload)
        recon = np.asarray(image_of(r), dtype=np.float32) / 255
        assert np.abs(recon - originals[i]).mean() < 0.1, f"test digit {i}"
        errors = ((originals - recon) ** 2).mean(axis=(1, 2))
        assert errors.argmin() == i, (
            f"test digit {i}'s reconstruction looks more like digit {errors.argmin()}"
        )


def test_a_digit_drawn_like_an_upload_encodes_near_its_mnist_original(real: TestClient, mnist: Split) -> None:
    vae = real.app.state.registry.get(MODEL).vae  # type: ignore[attr-defined]
    with torch.inference_mode():
        codes = vae.encode(mnist.tensor()[:OTHERS])[0].numpy()  # the MNIST-form originals
    for i in range(DIGITS):
        upload = {"image": ("d.jpg", as_drawn(mnist.images[i], i), "image/jpeg")}
        r = real.post(f"/encode?model={MODEL}", files=upload)
        assert r.status_code == 200, r.text
        distance = np.linalg.norm(codes - np.array(r.json()["mean"]), axis=1)
        farther = (np.delete(distance, i) > distance[i]).mean()
        assert farther >= 0.95, (
            f"drawn test digit {i}: closer to its original than to only {farther:.0%} of others"
        )
