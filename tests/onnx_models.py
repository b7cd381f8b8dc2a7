"""ONNX models for the tests, made in the test: a tutorial VAE trained a few steps, a colour conv VAE,
and hand-built graphs (onnx.helper) for every way a brought model can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from model.export import DECODER_SUFFIX, ENCODER_SUFFIX, TutorialVAE, decoder_onnx, encoder_onnx
from model.vae import loss_terms


def synthetic_batch(n: int, side: int = 28, seed: int = 0) -> torch.Tensor:
    """(n, 1, side, side) blobs in [0, 1] whose position varies: something to learn."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    cy, cx = (torch.rand(n, generator=g) * side * 0.5 + side * 0.25 for _ in range(2))
    d2 = (yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2
    return torch.exp(-d2 / 18).unsqueeze(1)


def train_tutorial_vae(steps: int = 20, seed: int = 0) -> TutorialVAE:
    """pytorch/examples' VAE (784-400-20), trained `steps` Adam steps on synthetic blobs."""
    torch.manual_seed(seed)
    vae = TutorialVAE(784, 400, 20)
    opt = torch.optim.Adam(vae.parameters(), lr=1e-3)
    x = synthetic_batch(128, seed=seed)
    for _ in range(steps):
        mu, logvar = vae.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        logits = vae.fc4(torch.relu(vae.fc3(z))).view(-1, 1, 28, 28)
        rec, kl = loss_terms(logits, x, mu, logvar)
        opt.zero_grad()
        (rec + kl).mean().backward()
        opt.step()
    return vae.eval()


class ColourVAE(nn.Module):
    """A small conv VAE on 3 x 32 x 32 images."""

    def __init__(self, latent_dim: int = 4) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(3, 8, 4, 2, 1), nn.ELU(), nn.Conv2d(8, 16, 4, 2, 1), nn.ELU(), nn.Flatten(),
            nn.Linear(16 * 8 * 8, 2 * latent_dim),
        )
        self.dec = nn.Sequential(
            nn.Linear(latent_dim, 16 * 8 * 8), nn.ELU(), nn.Unflatten(1, (16, 8, 8)),
            nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.ELU(), nn.ConvTranspose2d(8, 3, 4, 2, 1),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.enc(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.dec(z))


def write_card(folder: Path, name: str, **fields: Any) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"name": name, **fields}))
    return path


def write_colour_model(folder: Path, name: str = "colour-c3", *, encoder: bool = True, seed: int = 0) -> Path:
    """A colour conv VAE at 32 px in the ONNX format; without its encoder when `encoder` is False."""
    torch.manual_seed(seed)
    vae = ColourVAE().eval()
    (folder / f"{name}{DECODER_SUFFIX}").write_bytes(decoder_onnx(vae, 4))
    if encoder:
        (folder / f"{name}{ENCODER_SUFFIX}").write_bytes(encoder_onnx(vae, 3, 32))
    card = {"latent_dim": 4, "channels": 3, "image_size": 32, "output": "probabilities", "dataset": "shapes"}
    return write_card(folder, name, **card)


def linear_decoder(
    latent_dim: int, channels: int, size: int, *,
    input_name: str = "z", output_name: str = "x", fill: float | None = None, sigmoid: bool = True,
    seed: int = 0,
) -> bytes:
    """z -> sigmoid(z W) reshaped to (N, C, S, S), built by hand; `fill` puts that value
    (NaN, say) in every weight, `sigmoid=False` leaves raw values outside [0, 1]."""
    w = np.random.default_rng(seed).normal(0, 3, (latent_dim, channels * size * size)).astype(np.float32)
    if fill is not None:
        w[:] = fill
    nodes = [
        helper.make_node("MatMul", [input_name, "w"], ["h"]),
        helper.make_node("Sigmoid" if sigmoid else "Identity", ["h"], ["s"]),
        helper.make_node("Reshape", ["s", "shape"], [output_name]),
    ]
    graph = helper.make_graph(
        nodes, "decoder",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", latent_dim])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", channels, size, size])],
        [numpy_helper.from_array(w, "w"),
         numpy_helper.from_array(np.array([-1, channels, size, size], np.int64), "shape")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_onnx_models(folder: Path) -> Path:
    """Beside whatever `folder` holds: `tutorial` (the tutorial VAE trained 20 steps and exported by
    `python -m model.export`'s function from its .pth), `colour` and the decoder-only `decoder-only`."""
    from model.export import export

    pt = folder.parent / f"{folder.name}-tutorial.pth"
    torch.save(train_tutorial_vae(steps=20).state_dict(), pt)
    export(str(pt), name="tutorial", out=folder)
    write_colour_model(folder, "colour")
    write_colour_model(folder, "decoder-only", encoder=False, seed=1)
    return folder
