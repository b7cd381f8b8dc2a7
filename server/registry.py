"""The loaded models, held in the app's lifespan state (never a module global), and how the weights
folder becomes them.

A model in the folder is `<name>.json` (its card) beside either `<name>.safetensors` (a native
network) or `<name>.decoder.onnx` (an ONNX model, maybe with `<name>.encoder.onnx`). A model that
cannot be loaded (a bad card, a truncated or half-copied file, a graph that disagrees with its card)
is not served: it is listed in `Registry.unavailable` with the reason, and one log line says why.

`refresh` rebuilds the registry when the folder changes, reusing every model whose files did not
change; server/reload.py runs it in the background, so models appear and go without a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from model import onnx_vae
from model.card import CardError, ModelCard
from model.card import read as read_card
from model.export import DECODER_SUFFIX, ENCODER_SUFFIX
from model.inference import for_inference
from model.store import load, pick_device
from model.vae import Network

log = logging.getLogger("server.registry")


@dataclass(frozen=True, eq=False)  # eq=False: hashed by identity, a key for the decode batcher
class LoadedModel:
    """A model as the server holds it: the network ready to serve, and its typed card."""

    vae: Network
    card: ModelCard
    # read from the card once: every /decode needs them, and a property chain costs microseconds
    name: str = field(init=False)
    latent_dim: int = field(init=False)
    identity: str = field(init=False)  # name and weights checksum: part of every ETag of its answers
    can_encode: bool = field(init=False)  # False for an ONNX model exported without its encoder

    def __post_init__(self) -> None:
        for key in ("name", "latent_dim", "identity"):
            object.__setattr__(self, key, getattr(self.card, key))
        object.__setattr__(self, "can_encode", getattr(self.vae, "has_encoder", True))


@dataclass(frozen=True)
class Unavailable:
    """A model in the folder that is not served, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class Found:
    """A model's files in the folder, and their (size, mtime) when scanned."""

    name: str
    card: Path
    weights: Path  # <name>.safetensors or <name>.decoder.onnx
    stamp: tuple[tuple[str, int, int], ...]


@dataclass
class Registry:
    models: dict[str, LoadedModel]
    default: str
    unavailable: dict[str, Unavailable] = field(default_factory=dict)
    stamps: dict[str, tuple[tuple[str, int, int], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.default not in self.models and self.models:
            self.default = sorted(self.models)[0]

    def get(self, name: str | None) -> LoadedModel:
        """The model called `name` (the default when None); KeyError when unknown."""
        return self.models[name or self.default]

    def cards(self) -> list[ModelCard]:
        return [self.models[n].card for n in sorted(self.models)]


def _stamp(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((p.name, st.st_size, st.st_mtime_ns))
    return tuple(out)


def scan(folder: Path) -> dict[str, Found]:
    """Every card in `folder` with a weights file beside it. Cheap (stat calls only): run each second."""
    found = {}
    for card in sorted(folder.glob("*.json")):
        name = card.name[: -len(".json")]
        for suffix in (".safetensors", DECODER_SUFFIX):
            weights = folder / (name + suffix)
            if weights.is_file():
                files = [card, weights, folder / (name + ENCODER_SUFFIX)]
                found[name] = Found(name, card, weights, _stamp(files))
                break
    return found


def load_one(found: Found, device: torch.device, *, bf16: bool = False) -> LoadedModel:
    """One model from its files; CardError, OnnxModelError or OSError/ValueError when it cannot be.
    `bf16`: a native conv decoder convolves in bfloat16 on CPU (model/inference.py)."""
    card = read_card(found.card)
    if card.name != found.name:
        raise CardError(f"{found.card}: the card's name is {card.name!r}, the file's is {found.name!r}")
    base = found.card.with_name(found.name)
    if found.weights.name.endswith(DECODER_SUFFIX):
        onnx = onnx_vae.load(base, card, device)
        return LoadedModel(onnx, onnx.card)  # its card carries the graphs' checksum
    if not card.native:
        raise CardError(f"{found.card}: a .safetensors model's card needs its network `config`")
    vae = for_inference(load(found.name, device, folder=found.card.parent), bf16=bf16)
    return LoadedModel(vae, card)


def _reason(e: Exception) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:300]


def refresh(old: Registry | None, folder: Path, *, device: str, default: str, bf16: bool = False) -> Registry:
    """The registry for the folder as it is now; unchanged models are reused from `old`, not reloaded."""
    on = pick_device(device)
    models: dict[str, LoadedModel] = {}
    unavailable: dict[str, Unavailable] = {}
    stamps = {}
    for name, found in scan(folder).items():
        stamps[name] = found.stamp
        if old is not None and old.stamps.get(name) == found.stamp:
            if name in old.models:
                models[name] = old.models[name]
            elif name in old.unavailable:
                unavailable[name] = old.unavailable[name]
            continue
        try:
            loaded = load_one(found, on, bf16=bf16)
        except Exception as e:  # any failure keeps this model out, never the others
            unavailable[name] = Unavailable(name, _reason(e))
            log.warning("model %s is not served: %s", name, unavailable[name].reason)
            continue
        models[name] = loaded
        if old is not None:
            log.info("model %s loaded", name)
    return Registry(models, default=default, unavailable=unavailable, stamps=stamps)


def load_registry(weights_dir: Path, *, device: str, default: str, bf16: bool = False) -> Registry:
    """Every model in the weights folder, on `device`; starting with none that loads is an error."""
    registry = refresh(None, weights_dir, device=device, default=default, bf16=bf16)
    if not registry.models:
        why = "".join(f"; {u.name}: {u.reason}" for u in registry.unavailable.values())
        raise RuntimeError(
            f"no models in {weights_dir}: expected <name>.json beside <name>.safetensors or "
            f"<name>.decoder.onnx{why}"
        )
    return registry
