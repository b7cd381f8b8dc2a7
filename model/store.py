"""Saving and loading weights: tensors in safetensors, everything else in a JSON card.

Neither file can run code when loaded (no pickle).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from model import card as cards
from model.card import ModelCard
from model.vae import VAE

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
WEIGHTS_ENV = "VAE_WEIGHTS_DIR"


def pick_device(name: str | None = "auto") -> torch.device:
    """`auto` (or None): CUDA when present, else CPU; otherwise the named device."""
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def weights_dir() -> Path:
    return Path(os.environ.get(WEIGHTS_ENV) or WEIGHTS_DIR)


def atomic_write(path: Path, write: Any) -> None:
    """Call write(tmp_path), then rename over `path`: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; weights and cards are meant to be readable
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # again: a writer may have replaced the file (safetensors does)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _base(path: str | Path) -> Path:
    """The path without a .json or .safetensors suffix; other dots stay (`beta0.5` is a name)."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".json", ".safetensors") else p


def _with(base: Path, suffix: str) -> Path:
    return base.with_name(base.name + suffix)


def save(vae: VAE, path: str | Path, card: dict[str, Any]) -> ModelCard:
    """Write `<path>.safetensors` and `<path>.json`; returns the card as written."""
    base = _base(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in vae.state_dict().items()}
    st = _with(base, ".safetensors")
    atomic_write(st, lambda p: save_file(tensors, str(p)))
    c = vae.config
    sizes = {"latent_dim": c.latent_dim, "channels": c.image_channels, "image_size": c.image_size}
    fields = {**card, "name": base.name, **sizes, "config": c.to_dict(), "sha256": sha256(st)}
    return _write_card(_with(base, ".json"), fields)


def _write_card(path: Path, fields: dict[str, Any]) -> ModelCard:
    """The one way a card is written: checked first (never a card that would not load), atomically."""
    text = json.dumps(fields, indent=2) + "\n"
    written = cards.parse(text, path)
    atomic_write(path, lambda p: p.write_text(text))
    return written


def resolve(name_or_path: str | Path, folder: Path | None = None) -> Path:
    """A model name (`mnist-z10`) or a path, with or without suffix -> path without suffix."""
    p = _base(name_or_path)
    if _with(p, ".json").is_file():
        return p
    candidate = (folder or weights_dir()) / p.name
    if _with(candidate, ".json").is_file():
        return candidate
    raise FileNotFoundError(f"no model {str(name_or_path)!r}: no {p.name}.json in {folder or weights_dir()}")


def record_metric(name_or_path: str | Path, key: str, value: Any, folder: Path | None = None) -> ModelCard:
    """Add (or replace) `metrics[key]` in a model's card, keeping the rest of it as written."""
    path = _with(resolve(name_or_path, folder), ".json")
    fields = json.loads(path.read_text())
    fields.setdefault("metrics", {})[key] = value
    return _write_card(path, fields)


def read_card(name_or_path: str | Path, folder: Path | None = None) -> ModelCard:
    """The validated card; model.card.CardError names the file and the field when it is bad."""
    return cards.read(_with(resolve(name_or_path, folder), ".json"))


def load(
    name_or_path: str | Path, device: str | torch.device | None = None, *, folder: Path | None = None
) -> VAE:
    """Rebuild the network from its card and load its weights, in eval mode on `device`."""
    base = resolve(name_or_path, folder)
    vae = VAE(read_card(base).network)
    state = load_file(str(_with(base, ".safetensors")), device="cpu")
    vae.load_state_dict(state)
    return vae.to(device or "cpu").eval()


def list_models(folder: Path | None = None) -> list[ModelCard]:
    """The cards of every model in the weights folder (a card beside its weights), sorted by name."""
    folder = folder or weights_dir()
    found = sorted(js for js in folder.glob("*.json") if js.with_suffix(".safetensors").is_file())
    return [cards.read(js) for js in found]
