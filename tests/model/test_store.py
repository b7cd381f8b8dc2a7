"""Saving and loading models: exact round trips, name resolution, and no code run on load."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from model import store
from model.vae import VAE, VAEConfig

CONFIGS = {
    "mlp": VAEConfig(latent_dim=3, arch="mlp", hidden=(32,)),
    "conv": VAEConfig(latent_dim=3, arch="conv", hidden=(32,), channels=(4, 8)),
}


@pytest.fixture(params=list(CONFIGS))
def saved(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[VAE, Path]:
    """A random tiny model saved as tmp_path/tiny-<arch>; returns it and the folder."""
    torch.manual_seed(0)
    vae = VAE(CONFIGS[request.param]).eval()
    store.save(vae, tmp_path / f"tiny-{request.param}", {"dataset": "synthetic"})
    return vae, tmp_path


def test_load_reproduces_outputs_exactly(saved: tuple[VAE, Path]) -> None:
    vae, folder = saved
    loaded = store.load(f"tiny-{vae.config.arch}", folder=folder)
    x, z = torch.rand(4, 1, 28, 28), torch.randn(4, 3)
    with torch.inference_mode():
        assert torch.equal(loaded.decode(z), vae.decode(z))
        for a, b in zip(loaded.encode(x), vae.encode(x), strict=True):
            assert torch.equal(a, b)


def test_load_rebuilds_config_and_returns_eval_mode(saved: tuple[VAE, Path]) -> None:
    vae, folder = saved
    loaded = store.load(f"tiny-{vae.config.arch}", folder=folder)
    assert loaded.config == vae.config
    assert not loaded.training
    assert store.read_card(f"tiny-{vae.config.arch}", folder=folder).dataset == "synthetic"


@pytest.mark.parametrize("suffix", ["", ".json", ".safetensors"])
def test_load_accepts_a_path_with_or_without_suffix(tmp_path: Path, suffix: str) -> None:
    store.save(VAE(CONFIGS["mlp"]), tmp_path / "tiny", {})
    assert store.load(str(tmp_path / "tiny") + suffix).config == CONFIGS["mlp"]


def test_load_finds_a_name_in_the_weights_dir_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(VAE(CONFIGS["mlp"]), tmp_path / "tiny", {})
    monkeypatch.setenv(store.WEIGHTS_ENV, str(tmp_path))
    assert store.load("tiny").config == CONFIGS["mlp"]


def test_load_unknown_name_raises_file_not_found_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        store.load("no-such-model", folder=tmp_path)


def test_save_keeps_dots_in_names(tmp_path: Path) -> None:
    store.save(VAE(CONFIGS["mlp"]), tmp_path / "beta0.5", {})
    assert {p.name for p in tmp_path.iterdir()} == {"beta0.5.json", "beta0.5.safetensors"}
    assert store.read_card("beta0.5", folder=tmp_path).name == "beta0.5"


def test_list_models_returns_the_cards_sorted_by_name(tmp_path: Path) -> None:
    for name in ("b-model", "a-model"):
        store.save(VAE(CONFIGS["mlp"]), tmp_path / name, {"dataset": "synthetic"})
    (tmp_path / "notes.json").write_text("{}")  # a JSON file without weights is not a model
    cards = store.list_models(tmp_path)
    assert [c.name for c in cards] == ["a-model", "b-model"]
    assert all(c.dataset == "synthetic" for c in cards)


def test_card_holds_config_and_weights_hash(saved: tuple[VAE, Path]) -> None:
    vae, folder = saved
    name = f"tiny-{vae.config.arch}"
    card = json.loads((folder / f"{name}.json").read_text())
    assert VAEConfig.from_dict(card["config"]) == vae.config
    assert card["sha256"] == store.sha256(folder / f"{name}.safetensors")


def test_weights_file_is_safetensors(saved: tuple[VAE, Path]) -> None:
    vae, folder = saved
    with safe_open(str(folder / f"tiny-{vae.config.arch}.safetensors"), framework="pt") as f:
        keys = set(f.keys())
    assert keys == set(vae.state_dict())


def test_load_does_not_attach_the_card_to_the_network(saved: tuple[VAE, Path]) -> None:
    vae, folder = saved
    assert not hasattr(store.load(f"tiny-{vae.config.arch}", folder=folder), "card")


def test_load_never_unpickles(saved: tuple[VAE, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load must not unpickle")

    for module, attr in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(module, attr, refuse)
    vae, folder = saved
    assert store.load(f"tiny-{vae.config.arch}", folder=folder).config == vae.config


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text("old")

    def fail(p: Path) -> None:
        p.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.atomic_write(path, fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]  # no temporary file left behind
