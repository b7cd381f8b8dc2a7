"""The VAE: `load` a trained model by name, `list_models` in `weights/` (their typed cards)."""

from model.card import ModelCard
from model.store import list_models, load, read_card
from model.vae import VAE, VAEConfig

__all__ = ["VAE", "ModelCard", "VAEConfig", "list_models", "load", "read_card"]
