"""A colour model trained in the test on a small generated shapes folder (model/shapes.py), with its
card pointing at the folder: what the server and browser tests of folder models explore."""

from __future__ import annotations

import json
from pathlib import Path

from model.shapes import generate
from model.train import main as train

SIDE = 32  # the shapes are drawn at 64 px; trained at 32 to stay fast


def shapes_model(root: Path, *, name: str = "shapes-tiny", n: int = 240) -> Path:
    """Generate `n` shapes into root/shapes, train a tiny conv VAE on them into root/weights; returns
    the weights folder. Its card records the folder, its classes and its factors' MIG."""
    data = root / "shapes"
    generate(data, n=n, seed=0, workers=1)
    weights = root / "weights"
    train(
        [
            "--data",
            str(data),
            "--image-size",
            str(SIDE),
            "--arch",
            "conv",
            "--conv-channels",
            "8,16",
            "--hidden",
            "32",
            "--latent-dim",
            "4",
            "--epochs",
            "2",
            "--batch-size",
            "24",
            "--iw-samples",
            "2",
            "--threads",
            "1",
            "--name",
            name,
            "--out",
            str(weights),
            "--checkpoint-dir",
            str(root / "checkpoints"),
        ]
    )
    card = json.loads((weights / f"{name}.json").read_text())
    assert card["channels"] == 3 and "factors" in card, card.keys()
    return weights
