"""ONNX export: a VAE's decoder (and encoder) as graphs that run without this project's code.

The one exporter: `python -m model.export` writes a model in the portable format below, and the
server exports each native model's decoder through `decoder_onnx` for the browser to run.

The format (docs/own-model.md), in the weights folder:
- `<name>.json`: the card (model/card.py): name, latent_dim, channels, image_size, output, dataset;
- `<name>.decoder.onnx`: input `z` (N, latent_dim) -> output (N, channels, size, size);
- `<name>.encoder.onnx`, optional: input `x` (N, channels, size, size) in [0, 1] -> `mu`, `logvar`.
The batch dimension is dynamic in both. The graphs are written first and the card last, each
atomically, so a server watching the folder never sees a card without its graphs.

SOURCE is a model in the weights folder, or a `.pt`/`.pth` state_dict of the classic tutorial VAE
(pytorch/examples vae/main.py: fc1, fc21, fc22, fc3, fc4). A state_dict is read with
`torch.load(weights_only=True)`, which refuses pickled objects other than tensors and containers.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from model import store
from model.card import ModelCard
from model.card import parse as parse_card

DECODER_SUFFIX = ".decoder.onnx"
ENCODER_SUFFIX = ".encoder.onnx"
OPSET = 18  # what onnxruntime-web 1.2x runs, as well as onnxruntime


class ExportError(ValueError):
    """A source that cannot be exported; the message says what was wrong."""


class _Decode(nn.Module):
    def __init__(self, vae: Any) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z)


class _Encode(nn.Module):
    def __init__(self, vae: Any) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.vae.encode(x)
        return mu, logvar


def _onnx(module: nn.Module, example: torch.Tensor, inputs: list[str], outputs: list[str]) -> bytes:
    """The module as one self-contained ONNX file (weights inside), batch dimension dynamic."""
    batch = torch.export.Dim("batch", min=1, max=65536)
    with warnings.catch_warnings(), _quiet():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module.eval(),
            (example,),
            input_names=inputs,
            output_names=outputs,
            dynamic_shapes=({0: batch},),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    assert program is not None
    return program.model_proto.SerializeToString()


class _quiet:
    """Silence torch.onnx's progress lines ("[torch.onnx] Obtain model graph ... ✅") on stdout."""

    def __enter__(self) -> None:
        self._stdout = sys.stdout
        sys.stdout = io.StringIO()
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self._stdout


def decoder_onnx(vae: nn.Module, latent_dim: int, *, float16: bool = False) -> bytes:
    """`z` (N, latent_dim) -> `x` (N, C, H, W) pixel probabilities, as ONNX bytes. `float16` stores
    the weights at half the size (the browser downloads them); inputs and outputs stay float32."""
    graph = _onnx(_Decode(vae), torch.zeros(2, latent_dim), ["z"], ["x"])
    return _halve_weights(graph) if float16 else graph


SMALL = 8192  # initializers with fewer elements stay float32


def _numel(init: Any) -> int:
    n = 1
    for d in init.dims:
        n *= d
    return n


def _halve_weights(graph: bytes) -> bytes:
    """Each float32 initializer stored as float16, then Cast back to float32 as the graph starts,
    so every operator still computes in float32 (onnxruntime folds the Casts when it loads the
    graph). Rounding the weights moves the shipped decoders' pixels by under 1/255 (a test)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(graph)
    casts, kept = [], []
    for init in model.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or _numel(init) < SMALL:
            kept.append(init)  # biases and a narrow first layer: little to save, some precision to keep
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype("float16"), f"{init.name}.f16")
        kept.append(half)
        casts.append(onnx.helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    nodes = casts + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def encoder_onnx(vae: nn.Module, channels: int, size: int) -> bytes:
    """`x` (N, C, H, W) in [0, 1] -> `mu`, `logvar` (N, latent_dim), as ONNX bytes."""
    return _onnx(_Encode(vae), torch.full((2, channels, size, size), 0.5), ["x"], ["mu", "logvar"])


class TutorialVAE(nn.Module):
    """pytorch/examples vae/main.py's VAE (784-400-20 there), sizes read from its state_dict."""

    def __init__(self, pixels: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(pixels, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, pixels)
        self.side = round(pixels**0.5)
        assert self.side**2 == pixels, f"fc1 takes {pixels} inputs: not a square image"

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> TutorialVAE:
        missing = [k for k in ("fc1.weight", "fc21.weight", "fc4.weight") if k not in state]
        if missing:
            raise ExportError(
                f"not a tutorial VAE state_dict: no {', '.join(missing)} (keys: {', '.join(list(state)[:6])})"
            )
        hidden, pixels = state["fc1.weight"].shape
        vae = cls(pixels, hidden, state["fc21.weight"].shape[0])
        try:
            vae.load_state_dict(state)
        except RuntimeError as e:
            raise ExportError(f"the state_dict does not fit the tutorial VAE: {e}") from None
        return vae.eval()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = F.relu(self.fc1(x.reshape(x.shape[0], -1)))
        return self.fc21(h1), self.fc22(h1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3)).view(z.shape[0], 1, self.side, self.side)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's tensors, never unpickling anything else (torch.load(weights_only=True))."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).split("\n\n")[0].strip().splitlines()[0]
        raise ExportError(
            f"{path} holds pickled objects, not only tensors, and is refused so that loading it "
            f"cannot run code ({first}). Save the weights with torch.save(model.state_dict(), path)."
        ) from None
    except (OSError, RuntimeError, EOFError) as e:
        raise ExportError(f"{path}: not a readable PyTorch checkpoint ({e})") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]  # Lightning-style {"state_dict": ...}
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ExportError(f"{path} is not a state_dict (a dict of tensors)")
    return loaded


def _source(source: str, weights: Path) -> tuple[nn.Module, dict[str, Any]]:
    """The network to export and the card fields it brings."""
    path = Path(source)
    if path.suffix in (".pt", ".pth"):
        if not path.is_file():
            raise ExportError(f"no such checkpoint: {path}")
        vae = TutorialVAE.from_state_dict(read_state_dict(path))
        sizes = {"latent_dim": vae.fc21.out_features, "channels": 1, "image_size": vae.side}
        return vae, {**sizes, "dataset": "mnist" if vae.side == 28 else None, "source": path.name}
    try:
        card = store.read_card(source, weights)
    except FileNotFoundError:
        raise ExportError(f"{source!r} is neither a .pt/.pth state_dict nor a model in {weights}") from None
    if not card.native:
        raise ExportError(f"{card.name} is already an ONNX model")
    fields = card.model_dump(exclude={"name", "config", "sha256", "placeholder"}, exclude_none=True)
    return store.load(source, "cpu", folder=weights), {**fields, "source": card.name}


def export(source: str, *, name: str, out: Path, weights: Path | None = None) -> ModelCard:
    """Write `<out>/<name>.decoder.onnx`, `.encoder.onnx` and `.json`; returns the card."""
    vae, fields = _source(source, weights or store.weights_dir())
    card_fields = {"name": name, **fields, "output": "probabilities"}
    base = out / name
    text = json.dumps(card_fields, indent=2) + "\n"
    card = parse_card(text, base.with_name(name + ".json"))  # validate before writing anything
    decoder = decoder_onnx(vae, card.latent_dim)
    encoder = encoder_onnx(vae, card.channels, card.image_size)
    store.atomic_write(base.with_name(name + DECODER_SUFFIX), lambda p: p.write_bytes(decoder))
    store.atomic_write(base.with_name(name + ENCODER_SUFFIX), lambda p: p.write_bytes(encoder))
    store.atomic_write(base.with_name(name + ".json"), lambda p: p.write_text(text))
    return card


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.export", description=__doc__.split("\n\n")[0])
    p.add_argument("source", help="a model in the weights folder, or a tutorial VAE's .pt/.pth state_dict")
    p.add_argument("--name", required=True, help="the exported model's name")
    p.add_argument("--out", type=Path, default=None, help="folder to write to (default: the weights folder)")
    args = p.parse_args(argv)
    out = args.out or store.weights_dir()
    try:
        card = export(args.source, name=args.name, out=out)
    except (ExportError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out / card.name}{{.json,{DECODER_SUFFIX},{ENCODER_SUFFIX}}}: z={card.latent_dim}, "
          f"{card.channels}x{card.image_size}x{card.image_size}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
