"""The model card: everything about a trained model except its tensors, as `weights/<name>.json`.

One typed description that every reader shares (the server's registry, the page, the encodings
cache, the training script's output). Reading a card validates it: a bad card is refused with a
`CardError` that names the file and the field, never a KeyError deep inside a request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from model.vae import VAEConfig


class CardError(ValueError):
    """A card that cannot be read or is not valid; the message names the file and the field."""


class ModelCard(BaseModel):
    """What `weights/<name>.json` says. Unknown fields (epochs, seconds, command ...) are kept as
    they are, so that a card written by a newer trainer still loads.

    Two kinds of model share it. A native model (`<name>.safetensors`) has `config`, from which
    latent_dim, image_size and channels follow. An ONNX model (`<name>.decoder.onnx`, docs/own-model.md)
    has no config: its card states latent_dim, channels, image_size and output itself.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(min_length=1, description="the model's name, as the API's `model` parameter takes it")
    config: dict[str, Any] | None = Field(
        None, description="a native model's VAEConfig: rebuilds the exact network; absent for ONNX models"
    )
    latent_dim: int = Field(ge=1, le=1024, description="size of z; follows from config when there is one")
    channels: Literal[1, 3] = Field(1, description="1 (grey) or 3 (RGB)")
    image_size: int = Field(ge=4, le=512, description="images are image_size x image_size pixels")
    output: Literal["probabilities", "logits"] = Field(
        "probabilities", description="what the decoder outputs: pixel values in [0, 1], or their logits"
    )
    dataset: str | None = Field(None, description="data set it was trained on: mnist, fashion-mnist, ...")
    class_names: list[str] | None = Field(None, description="label names, in label order")
    preprocessing: Literal["mnist", "resize-crop"] | None = Field(
        None,
        description="how an upload becomes an input: `mnist` centres the ink MNIST-style, `resize-crop` "
        "resizes the shorter side and crops the centre; default: mnist for grey, resize-crop for colour",
    )
    sha256: str = Field("", description="checksum of the weights file; empty when unknown")
    placeholder: bool = Field(False, description="untrained weights, shipped to keep the app runnable")
    metrics: dict[str, Any] = Field(default_factory=dict, description="test-set metrics and history")

    @field_validator("config")
    @classmethod
    def _builds_a_network(cls, config: dict[str, Any] | None) -> dict[str, Any] | None:
        if config is None:
            return None
        try:
            VAEConfig.from_dict(config)
        except (AssertionError, TypeError, ValueError) as e:
            raise ValueError(f"not a valid network config ({e})") from None
        return config

    @model_validator(mode="before")
    @classmethod
    def _sizes_from_config(cls, data: Any) -> Any:
        """A native card's sizes come from its config; stated ones must agree with it."""
        if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
            return data
        config = data["config"]
        derived = {"latent_dim": config.get("latent_dim", 10), "image_size": config.get("image_size", 28)}
        derived["channels"] = config.get("image_channels", 1)
        out = dict(data)
        for key, value in derived.items():
            if key in out and out[key] != value:
                raise ValueError(f"{key} is {out[key]!r} but the config says {value!r}")
            out[key] = value
        return out

    @property
    def classes(self) -> list[str]:
        """Label names: the card's, else the known data set's; empty when the data has no labels."""
        from model.data import CLASS_NAMES  # data reads files; the card itself needs none of it

        return self.class_names or CLASS_NAMES.get(self.dataset or "", [])

    @property
    def prepare(self) -> str:
        """The preprocessing uploads get: the card's, else by channels."""
        return self.preprocessing or ("mnist" if self.channels == 1 else "resize-crop")

    @property
    def native(self) -> bool:
        """A network this project rebuilds from `config` (weights in safetensors), not an ONNX graph."""
        return self.config is not None

    @property
    def network(self) -> VAEConfig:
        assert self.config is not None, f"{self.name} is an ONNX model: it has no network config"
        return VAEConfig.from_dict(self.config)

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
