"""The model card: everything about a trained model except its tensors, as `weights/<name>.json`.

One typed description that every reader shares (the server's registry, the page, the encodings
cache, the training script's output). Reading a card validates it: a bad card is refused with a
`CardError` that names the file and the field, never a KeyError deep inside a request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, field_validator

from model.vae import VAEConfig


class CardError(ValueError):
    """A card that cannot be read or is not valid; the message names the file and the field."""


class ModelCard(BaseModel):
    """What `weights/<name>.json` says. Unknown fields (epochs, seconds, command ...) are kept as
    they are, so that a card written by a newer trainer still loads."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(min_length=1, description="the model's name, as the API's `model` parameter takes it")
    config: dict[str, Any] = Field(description="the network's VAEConfig: rebuilds the exact network")
    dataset: str | None = Field(None, description="data set it was trained on: mnist, fashion-mnist, ...")
    sha256: str = Field("", description="checksum of the weights file; empty when unknown")
    placeholder: bool = Field(False, description="untrained weights, shipped to keep the app runnable")
    metrics: dict[str, Any] = Field(default_factory=dict, description="test-set metrics and history")

    @field_validator("config")
    @classmethod
    def _builds_a_network(cls, config: dict[str, Any]) -> dict[str, Any]:
        try:
            VAEConfig.from_dict(config)
        except (AssertionError, TypeError, ValueError) as e:
            raise ValueError(f"not a valid network config ({e})") from None
        return config

    @property
    def network(self) -> VAEConfig:
        return VAEConfig.from_dict(self.config)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def latent_dim(self) -> int:
        return int(self.config["latent_dim"])

    @property
    def image_size(self) -> int:
        return self.network.image_size

    @property
    def identity(self) -> str:
        """What determines every answer this model gives: its name and its weights' checksum."""
        return f"{self.name}:{self.sha256}"


def describe(error: ValidationError) -> str:
    """The first problem as `field.sub: message`."""
    first = error.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "the card"
    return f"{where}: {first['msg']}"


def parse(text: str | bytes, path: Path) -> ModelCard:
    """A card from its JSON text; CardError naming `path` and the field when it is not valid."""
    try:
        return ModelCard.model_validate_json(text)
    except ValidationError as e:
        raise CardError(f"{path}: invalid model card: {describe(e)}") from None


def read(path: Path) -> ModelCard:
    try:
        text = path.read_bytes()
    except OSError as e:
        raise CardError(f"{path}: cannot read the model card ({e.strerror})") from None
    return parse(text, path)
