"""The typed model card (model/card.py): reading validates, and a bad card names its file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model import store
from model.card import CardError, ModelCard, read
from model.vae import VAE, VAEConfig

CONFIG = {"latent_dim": 2, "arch": "mlp", "hidden": [16], "channels": [4, 8], "image_size": 28}


ONNX_CARD = {"name": "m", "latent_dim": 20, "channels": 1, "image_size": 28, "output": "logits"}


def write(tmp_path: Path, card: Any, name: str = "m") -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(card if isinstance(card, str) else json.dumps(card))
    return path


def test_a_saved_card_reads_back_typed(tmp_path: Path) -> None:
    store.save(VAE(VAEConfig(latent_dim=3, hidden=(8,))), tmp_path / "m", {"dataset": "mnist", "epochs": 4})
    card = store.read_card("m", tmp_path)
    assert (card.name, card.dataset, card.latent_dim, card.image_size) == ("m", "mnist", 3, 28)
    assert card.network == VAEConfig(latent_dim=3, hidden=(8,))
    assert card.model_extra == {"epochs": 4}  # fields it does not know are kept, not dropped


def test_identity_is_the_name_and_the_weights_checksum() -> None:
    assert ModelCard(name="m", config=CONFIG, sha256="ab12").identity == "m:ab12"


@pytest.mark.parametrize(
    ("card", "field"),
    [
        ({"config": CONFIG}, "name"),
        ({"name": "m"}, "latent_dim"),  # neither a native config nor an ONNX card's sizes
        ({"name": "m", "config": CONFIG, "latent_dim": 3}, "the card"),  # disagrees with its config
        ({**ONNX_CARD, "channels": 2}, "channels"),
        ({**ONNX_CARD, "output": "pixels"}, "output"),
        ({**ONNX_CARD, "image_size": 0}, "image_size"),
        ({"name": "m", "config": {**CONFIG, "latent_dim": 0}}, "config"),
        ({"name": "m", "config": {**CONFIG, "arch": "transformer"}}, "config"),
        ({"name": "m", "config": {**CONFIG, "depth": 3}}, "config"),
        ({"name": "m", "config": CONFIG, "metrics": [1, 2]}, "metrics"),
        ({"name": "m", "config": CONFIG, "placeholder": "maybe"}, "placeholder"),
    ],
)
def test_a_bad_card_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, card: dict[str, Any], field: str
) -> None:
    path = write(tmp_path, card)
    with pytest.raises(CardError) as e:
        read(path)
    assert str(path) in str(e.value) and f"{field}:" in str(e.value)


def test_a_card_that_is_not_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '{"name": "m",')
    with pytest.raises(CardError, match="invalid model card") as e:
        read(path)
    assert str(path) in str(e.value)


def test_listing_models_refuses_a_bad_card_rather_than_skipping_it(tmp_path: Path) -> None:
    store.save(VAE(VAEConfig(latent_dim=2, hidden=(8,))), tmp_path / "good", {})
    bad = write(tmp_path, {"name": "bad", "config": {"latent_dim": "two"}}, name="bad")
    (tmp_path / "bad.safetensors").write_bytes(b"")
    with pytest.raises(CardError, match=str(bad)):
        store.list_models(tmp_path)


def test_an_onnx_card_needs_only_its_sizes_and_output(tmp_path: Path) -> None:
    card = read(write(tmp_path, {**ONNX_CARD, "class_names": ["a", "b"]}))
    assert not card.native and card.config is None
    assert (card.latent_dim, card.channels, card.image_size, card.output) == (20, 1, 28, "logits")
    assert card.class_names == ["a", "b"]


def test_a_native_card_takes_its_sizes_from_its_config() -> None:
    card = ModelCard(name="m", config={**CONFIG, "image_size": 32, "latent_dim": 5})
    assert card.native and (card.latent_dim, card.image_size, card.channels) == (5, 32, 1)
