"""The loaded models, held in the app's lifespan state (never a module global)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from model.card import ModelCard
from model.inference import for_inference
from model.store import list_models, load, pick_device
from model.vae import VAE


@dataclass(frozen=True, eq=False)  # eq=False: hashed by identity, a key for the decode batcher
class LoadedModel:
    """A model as the server holds it: the network rewritten for serving, and its typed card."""

    vae: VAE
    card: ModelCard
    # read from the card once: every /decode needs them, and a property chain costs microseconds
    name: str = field(init=False)
    latent_dim: int = field(init=False)
    identity: str = field(init=False)  # name and weights checksum: part of every ETag of its answers

    def __post_init__(self) -> None:
        for key in ("name", "latent_dim", "identity"):
            object.__setattr__(self, key, getattr(self.card, key))


@dataclass
class Registry:
    models: dict[str, LoadedModel]
    default: str

    def __post_init__(self) -> None:
        if self.default not in self.models:
            self.default = sorted(self.models)[0]

    def get(self, name: str | None) -> LoadedModel:
        """The model called `name` (the default when None); KeyError when unknown."""
        return self.models[name or self.default]

    def cards(self) -> list[ModelCard]:
        return [self.models[n].card for n in sorted(self.models)]


def load_registry(weights_dir: Path, *, device: str, default: str) -> Registry:
    """Every model in the weights folder, on `device`; a bad card stops the start, naming its file."""
    on = pick_device(device)
    models = {}
    for card in list_models(weights_dir):
        vae = for_inference(load(card.name, on, folder=weights_dir))
        models[card.name] = LoadedModel(vae, card)
    if not models:
        raise RuntimeError(f"no models in {weights_dir}: expected <name>.safetensors + <name>.json")
    return Registry(models, default=default)
