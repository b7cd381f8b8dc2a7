"""server.decoding: decodes of one event-loop turn share a batch, and each gets its own image."""

from __future__ import annotations

import asyncio
import base64
import re

import numpy as np
import pytest
import torch
from api_checks import digit, encoded, own_loop
from fastapi.testclient import TestClient

from model.vae import VAE, VAEConfig
from server import render
from server.decoding import DecodeBatcher


@pytest.fixture(scope="module")
def vae() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=2, arch="mlp", hidden=(16,))).eval()


def alone(vae: VAE, code: list[float]) -> np.ndarray:
    with torch.inference_mode():
        return render.to_uint8(vae.decode(torch.tensor([code])))[0]


CODES = [[0.0, 0.0], [1.5, -2.0], [-3.0, 3.0], [0.25, 0.75], [9.0, -9.0]]


@own_loop
async def test_decodes_of_one_turn_run_as_one_batch_with_the_same_images(vae: VAE) -> None:
    batcher = DecodeBatcher()
    images = await asyncio.gather(*(batcher.decode(vae, c) for c in CODES))
    assert (batcher.batches, batcher.images) == (1, len(CODES))
    for code, image in zip(CODES, images, strict=True):
        assert image.shape == (28, 28) and image.dtype == np.uint8
        assert np.abs(image.astype(int) - alone(vae, code)).max() <= 1  # batched float sums may round apart


@own_loop
async def test_a_lone_decode_runs_once_a_turn_passes_without_others(vae: VAE) -> None:
    batcher = DecodeBatcher()
    image = await asyncio.wait_for(batcher.decode(vae, [0.5, 0.5]), timeout=1)
    assert (image == alone(vae, [0.5, 0.5])).all()
    assert batcher.batches == 1


@own_loop
async def test_a_batch_stays_open_while_each_turn_adds_to_it(vae: VAE) -> None:
    batcher = DecodeBatcher()
    futures = [batcher.decode(vae, CODES[0])]
    for code in CODES[1:3]:
        await asyncio.sleep(0)  # a turn passes in which the batch grew: it waits another
        futures.append(batcher.decode(vae, code))
    await asyncio.gather(*futures)
    assert (batcher.batches, batcher.images) == (1, 3)


@own_loop
async def test_decodes_of_later_turns_get_batches_of_their_own(vae: VAE) -> None:
    batcher = DecodeBatcher()
    for code in CODES[:3]:
        await batcher.decode(vae, code)
    assert (batcher.batches, batcher.images) == (3, 3)


@own_loop
async def test_a_full_batch_runs_at_once(vae: VAE) -> None:
    batcher = DecodeBatcher(max_batch=2)
    futures = [batcher.decode(vae, c) for c in CODES]
    assert [f.done() for f in futures] == [True, True, True, True, False]
    await asyncio.gather(*futures)
    assert (batcher.batches, batcher.images) == (3, 5)


@own_loop
async def test_each_model_gets_its_own_batch(vae: VAE) -> None:
    other = VAE(VAEConfig(latent_dim=3, arch="mlp", hidden=(8,))).eval()
    batcher = DecodeBatcher()
    a, b = await asyncio.gather(batcher.decode(vae, [0.0, 0.0]), batcher.decode(other, [0.0, 0.0, 0.0]))
    assert batcher.batches == 2
    assert (a == alone(vae, [0.0, 0.0])).all() and (b == alone(other, [0.0, 0.0, 0.0])).all()


@own_loop
async def test_a_failed_decode_fails_every_request_of_its_batch(vae: VAE) -> None:
    batcher = DecodeBatcher()
    wrong = [batcher.decode(vae, [0.0, 0.0, 0.0]) for _ in range(2)]  # 3 values for a 2-D model
    results = await asyncio.gather(*wrong, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert (await batcher.decode(vae, [0.0, 0.0])).shape == (28, 28)  # the batcher still works


@own_loop
async def test_a_cancelled_request_does_not_disturb_its_batch(vae: VAE) -> None:
    batcher = DecodeBatcher()
    gone = batcher.decode(vae, CODES[0])
    kept = batcher.decode(vae, CODES[1])
    gone.cancel()
    image = await kept
    assert np.abs(image.astype(int) - alone(vae, CODES[1])).max() <= 1
    assert batcher.images == 2


def test_the_slider_fragment_shows_the_image_that_decode_serves(client: TestClient) -> None:
    z = {"z0": "1.25", "z1": "-0.5"}
    fragment = client.get("/fragments/decoded", params={"model": "tiny-z2", **z}).text
    src = re.search(r'src="data:image/png;base64,([^"]+)"', fragment)
    assert src is not None
    served = client.get("/decode", params={"model": "tiny-z2", "z": "1.25,-0.5"})
    assert served.status_code == 200 and base64.b64decode(src.group(1)) == served.content


def test_the_upload_fragment_shows_the_reconstruction_that_reconstruct_serves(client: TestClient) -> None:
    files = {"image": ("d.png", encoded(digit(60)))}
    fragment = client.post("/fragments/upload", params={"model": "tiny-z2"}, files=files)
    src = re.search(r'id="upload-reconstruction" src="data:image/png;base64,([^"]+)"', fragment.text)
    assert src is not None
    served = client.post("/reconstruct", params={"model": "tiny-z2"}, files=files)
    assert served.status_code == 200 and base64.b64decode(src.group(1)) == served.content


def test_many_decodes_a_large_batch_in_parts_with_the_same_images(monkeypatch: pytest.MonkeyPatch) -> None:
    from model.card import ModelCard
    from server.decoding import Decoder
    from server.registry import LoadedModel

    torch.manual_seed(0)
    config = VAEConfig(latent_dim=2, arch="conv", hidden=(8,), channels=(4, 4), image_size=16,
                       image_channels=3)
    net = VAE(config).eval()
    card = ModelCard.model_validate({"name": "colour", "config": config.to_dict(), "sha256": "0" * 64})
    model = LoadedModel(net, card)
    calls: list[int] = []
    decode = net.decode
    monkeypatch.setattr(net, "decode", lambda z: calls.append(len(z)) or decode(z))
    monkeypatch.setattr(Decoder, "CHUNK_VALUES", 3 * 16 * 16 * 7)  # 7 images of 16x16 colour a part
    z = torch.randn(20, 2)
    images = Decoder.many(model, z)
    assert calls == [7, 7, 6]
    with torch.inference_mode():
        assert torch.allclose(images, decode(z), atol=1e-6)  # batch sizes round differently
    calls.clear()
    assert Decoder.many(model, z[:7]).shape == (7, 3, 16, 16) and calls == [7]
