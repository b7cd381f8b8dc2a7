"""The VAE: `load` a trained model by name, `list_models` in `weights/`."""

from model.store import list_models, load
from model.vae import VAE, VAEConfig

__all__ = ["VAE", "VAEConfig", "list_models", "load"]
