"""The web app: FastAPI routes over the VAE in `model/`."""
