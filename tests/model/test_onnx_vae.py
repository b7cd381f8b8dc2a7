"""model/onnx_vae.py: an ONNX model is checked against its card when it loads, and then decodes and
encodes like a native one; every bad file is refused with a message naming the file and the check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model.card import read as read_card
from model.export import DECODER_SUFFIX, ENCODER_SUFFIX
from model.onnx_vae import OnnxModelError, load
from tests.onnx_models import linear_decoder, write_card, write_colour_model


def onnx_model(folder: Path, graph: bytes, *, name: str = "m", **card: object) -> Path:
    (folder / f"{name}{DECODER_SUFFIX}").write_bytes(graph)
    fields = {"latent_dim": 3, "channels": 1, "image_size": 8, "output": "probabilities", **card}
    return write_card(folder, name, **fields)


def load_from(card_path: Path):  # type: ignore[no-untyped-def]
    return load(card_path.with_suffix(""), read_card(card_path))


def test_a_colour_model_decodes_and_encodes_with_its_shapes(tmp_path: Path) -> None:
    model = load_from(write_colour_model(tmp_path))
    x = model.decode(torch.zeros(5, 4))
    assert x.shape == (5, 3, 32, 32) and float(x.min()) >= 0 and float(x.max()) <= 1
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 4)
    assert model.has_encoder and len(model.sha256) == 64 and model.card.sha256 == model.sha256


def test_a_decoder_only_model_loads_and_refuses_to_encode(tmp_path: Path) -> None:
    model = load_from(write_colour_model(tmp_path, encoder=False))
    assert not model.has_encoder
    with pytest.raises(OnnxModelError, match="no encoder"):
        model.encode(torch.zeros(1, 3, 32, 32))


def test_logits_are_turned_into_probabilities(tmp_path: Path) -> None:
    model = load_from(onnx_model(tmp_path, linear_decoder(3, 1, 8, sigmoid=False), output="logits"))
    x = model.decode(torch.randn(4, 3) * 3)
    assert float(x.min()) >= 0 and float(x.max()) <= 1


@pytest.mark.parametrize(
    ("graph", "card", "message"),
    [
        (b"not an onnx file at all", {}, "not a loadable ONNX model"),
        (linear_decoder(3, 1, 8)[:200], {}, "not a loadable ONNX model"),  # truncated
        (linear_decoder(3, 1, 8, input_name="latent"), {}, "expected one input named 'z'"),
        (linear_decoder(3, 1, 8), {"latent_dim": 5}, r"input z has shape .* needs \(None, 5\)"),
        (linear_decoder(3, 1, 8), {"image_size": 16}, "the card needs"),
        (linear_decoder(3, 1, 8), {"channels": 3}, "the card needs"),
        (linear_decoder(3, 1, 8, fill=float("nan")), {}, "NaN"),
        (linear_decoder(3, 1, 8, sigmoid=False), {}, "but the card says probabilities"),
    ],
)
def test_a_bad_decoder_is_refused_naming_the_file_and_the_check(
    tmp_path: Path, graph: bytes, card: dict[str, object], message: str
) -> None:
    with pytest.raises(OnnxModelError, match=message) as e:
        load_from(onnx_model(tmp_path, graph, **card))
    assert str(e.value).startswith(f"m{DECODER_SUFFIX}: ")


def test_an_encoder_with_the_wrong_outputs_is_refused(tmp_path: Path) -> None:
    card = write_colour_model(tmp_path)
    wrong = linear_decoder(3, 1, 8, input_name="x", output_name="y")
    (tmp_path / f"colour-c3{ENCODER_SUFFIX}").write_bytes(wrong)
    with pytest.raises(OnnxModelError, match="expected input 'x' and outputs 'mu', 'logvar'"):
        load_from(card)


def test_decoding_a_batch_agrees_with_decoding_one_at_a_time(tmp_path: Path) -> None:
    model = load_from(write_colour_model(tmp_path))
    z = torch.from_numpy(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    one_by_one = torch.cat([model.decode(z[i : i + 1]) for i in range(6)])
    assert torch.allclose(model.decode(z), one_by_one, atol=1e-6)
