"""All configuration, from environment variables prefixed VAE_ (see the README's table)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.inference import bf16_native
from model.store import WEIGHTS_DIR


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VAE_", env_file=None)

    weights_dir: Path = Field(WEIGHTS_DIR, description="folder of <name>.safetensors + <name>.json")
    default_model: str = Field("mnist-z2", description="model used when a request names none")
    device: str = Field("auto", description="auto (CUDA when present, else CPU), cpu or cuda")
    reload_seconds: float = Field(
        1.0, ge=0, description="how often to look for models added to, changed in or removed from "
        "weights_dir; 0: never (models load at start only)"
    )
    torch_threads: int = Field(1, ge=1, description="torch CPU threads per worker process")
    conv_bf16: Literal["auto", "on", "off"] = Field(
        "off", description="bfloat16 convolutions in conv decoders on CPU (the logits stay float32): "
        "auto: where the CPU multiplies bfloat16 natively; on; off. Faster for wide conv decoders, but "
        "pixels then differ from the browser's decoder by up to 13 levels of 255 at shape edges"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, description="uvicorn worker processes")

    z_bound: float = Field(10.0, gt=0, description="largest |z| a request may ask to decode")
    max_images: int = Field(1024, ge=1, description="most images one request may decode")
    max_steps: int = Field(32, ge=2, description="most steps per axis of a grid, traversal or strip")
    max_samples: int = Field(256, ge=1, description="most prior samples in one /sample request")
    max_temperature: float = Field(5.0, gt=0, description="largest prior temperature for /sample")
    max_size: int = Field(512, ge=28, description="largest output edge in pixels for /decode")
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="largest upload in bytes")
    max_upload_pixels: int = Field(40_000_000, ge=784, description="largest upload in pixels")
    cache_max_age: int = Field(3600, ge=0, description="seconds a client may cache a deterministic GET")

    data_dir: Path | None = Field(
        default=None, description="folder holding mnist/ and fashion-mnist/ test sets, read for /encodings; "
        "default: data/<set>, or Debian's /usr/share/datasets/fashion-mnist"
    )
    cache_dir: Path | None = Field(
        default=None, description="folder of <name>.encodings.npz (test-set encodings); default: weights_dir"
    )

    def bf16(self) -> bool:
        """Whether conv decoders convolve in bfloat16 (`conv_bf16`, 'auto' resolved for this CPU)."""
        return self.conv_bf16 == "on" or (self.conv_bf16 == "auto" and bf16_native())
