"""The loaded models, held in the app's lifespan state (never a module global)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from model.vae import VAE


@dataclass
class Registry:
    models: dict[str, VAE]
    default: str

    def __post_init__(self) -> None:
        if self.default not in self.models:
            self.default = sorted(self.models)[0]

    def get(self, name: str | None) -> VAE:
        """The model called `name` (the default when None); KeyError when unknown."""
        return self.models[name or self.default]

    def cards(self) -> list[dict[str, Any]]:
        return [self.models[n].card for n in sorted(self.models)]  # type: ignore[misc]
