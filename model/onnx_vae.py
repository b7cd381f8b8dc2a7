"""A VAE brought as ONNX graphs (model/export.py's format), run with onnxruntime: no project code
and no pickle, whatever code trained it.

`OnnxVAE` has the verbs the server uses on a native `VAE` (decode, encode, reconstruct, device,
latent_dim), taking and returning torch tensors, so every endpoint treats both alike. Loading checks
each graph against the card before anything is served: input and output names and shapes, and a
probe decode that must be finite and, when the card says probabilities, inside [0, 1]. A file that
fails is refused with an `OnnxModelError` that says which check and why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.card import ModelCard
from model.export import DECODER_SUFFIX, ENCODER_SUFFIX

PROBES = 16  # z vectors decoded at load: zeros and seeded draws at up to 3 standard deviations
SLACK = 1e-5  # float32 rounding around [0, 1] that a sigmoid output may show


class OnnxModelError(ValueError):
    """An ONNX model that cannot be served; the message names the file and the problem."""


def _session(data: bytes, path: Path, device: torch.device) -> Any:
    import onnxruntime as ort  # imported when an ONNX model is loaded, not with model/

    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: a refused file gets our one log line, not ORT's
    # as many threads as torch uses (the server sets 1 per worker): ORT's default, one per core,
    # would contend with the other workers and with torch (a 20x20 grid took 2x as long, pinned)
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(data, sess_options=options, providers=providers)
    except Exception as e:  # onnxruntime raises its own exception types for every kind of bad file
        raise OnnxModelError(f"{path.name}: not a loadable ONNX model ({_first_line(e)})") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines() or [type(e).__name__])[0][:200]


def _expect(path: Path, what: str, got: list[Any], want: tuple[int | None, ...]) -> None:
    """A graph's declared shape against the card's; symbolic or missing dims are checked by probing."""
    if len(got) != len(want):
        raise OnnxModelError(f"{path.name}: {what} has {len(got)} dimensions, expected {len(want)}: {want}")
    for have, need in zip(got, want, strict=True):
        if need is not None and isinstance(have, int) and have != need:
            raise OnnxModelError(f"{path.name}: {what} has shape {got}, the card needs {want}")


@dataclass(eq=False)
class OnnxVAE:
    card: ModelCard
    decoder: Any  # onnxruntime.InferenceSession
    encoder: Any | None
    sha256: str  # of the graphs' bytes: the model's identity
    device: torch.device = torch.device("cpu")  # tensors are handed over as numpy arrays

    @property
    def latent_dim(self) -> int:
        return self.card.latent_dim

    @property
    def has_encoder(self) -> bool:
        return self.encoder is not None

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: (N, latent_dim) -> pixel probabilities (N, C, H, W) in [0, 1]."""
        feed = {"z": np.ascontiguousarray(z.detach().cpu().numpy(), dtype=np.float32)}
        (out,) = self.decoder.run(None, feed)
        x = torch.from_numpy(out)
        return torch.sigmoid(x) if self.card.output == "logits" else x.clamp_(0, 1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (N, C, H, W) in [0, 1] -> (mu, logvar), each (N, latent_dim)."""
        if self.encoder is None:
            raise OnnxModelError(f"{self.card.name} has no encoder: it was exported with its decoder only")
        feed = {"x": np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)}
        mu, logvar = self.encoder.run(["mu", "logvar"], feed)
        return torch.from_numpy(mu), torch.from_numpy(logvar)

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return mu, logvar, self.decode(mu)


def _check_decoder(session: Any, path: Path, card: ModelCard) -> None:
    (inputs, outputs) = session.get_inputs(), session.get_outputs()
    if [i.name for i in inputs] != ["z"] or len(outputs) != 1:
        names = f"inputs {[i.name for i in inputs]}, {len(outputs)} outputs"
        raise OnnxModelError(f"{path.name}: expected one input named 'z' and one output; it has {names}")
    size, c, d = card.image_size, card.channels, card.latent_dim
    _expect(path, "input z", inputs[0].shape, (None, d))
    _expect(path, "its output", outputs[0].shape, (None, c, size, size))


def _probe_decoder(model: OnnxVAE, path: Path) -> None:
    card = model.card
    z = np.random.default_rng(0).normal(size=(PROBES, card.latent_dim)).clip(-3, 3).astype(np.float32)
    z[0] = 0
    try:
        (out,) = model.decoder.run(None, {"z": z})
    except Exception as e:
        raise OnnxModelError(f"{path.name}: decoding a probe z failed ({_first_line(e)})") from None
    want = (PROBES, card.channels, card.image_size, card.image_size)
    if out.shape != want:
        raise OnnxModelError(f"{path.name}: decodes {PROBES} z to shape {out.shape}, the card needs {want}")
    if not np.isfinite(out).all():
        raise OnnxModelError(f"{path.name}: the decoder outputs NaN or infinity")
    if card.output == "probabilities" and (out.min() < -SLACK or out.max() > 1 + SLACK):
        raise OnnxModelError(
            f"{path.name}: outputs values in [{out.min():.3g}, {out.max():.3g}] but the card says "
            "probabilities, which lie in [0, 1]; set \"output\": \"logits\" if they are logits"
        )


def _check_encoder(session: Any, path: Path, card: ModelCard) -> None:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    names = sorted(o.name for o in outputs)
    if [i.name for i in inputs] != ["x"] or names != ["logvar", "mu"]:
        got = f"inputs {[i.name for i in inputs]}, outputs {[o.name for o in outputs]}"
        raise OnnxModelError(f"{path.name}: expected input 'x' and outputs 'mu', 'logvar'; it has {got}")
    size = card.image_size
    _expect(path, "input x", inputs[0].shape, (None, card.channels, size, size))
    x = np.full((2, card.channels, size, size), 0.5, dtype=np.float32)
    try:
        mu, logvar = session.run(["mu", "logvar"], {"x": x})
    except Exception as e:
        raise OnnxModelError(f"{path.name}: encoding a probe image failed ({_first_line(e)})") from None
    for name, out in (("mu", mu), ("logvar", logvar)):
        if out.shape != (2, card.latent_dim):
            raise OnnxModelError(
                f"{path.name}: {name} has shape {out.shape} for 2 images; the card needs "
                f"(2, {card.latent_dim})"
            )
        if not np.isfinite(out).all():
            raise OnnxModelError(f"{path.name}: the encoder outputs NaN or infinity in {name}")


def load(base: Path, card: ModelCard, device: str | torch.device = "cpu") -> OnnxVAE:
    """`<base>.decoder.onnx` (and `<base>.encoder.onnx` when present), checked against the card."""
    on = torch.device(device)
    dec_path = base.with_name(base.name + DECODER_SUFFIX)
    enc_path = base.with_name(base.name + ENCODER_SUFFIX)
    try:
        dec_bytes = dec_path.read_bytes()
        enc_bytes = enc_path.read_bytes() if enc_path.is_file() else None
    except OSError as e:
        raise OnnxModelError(f"{dec_path.name}: cannot read it ({e.strerror})") from None
    decoder = _session(dec_bytes, dec_path, on)
    _check_decoder(decoder, dec_path, card)
    encoder = None
    if enc_bytes is not None:
        encoder = _session(enc_bytes, enc_path, on)
        _check_encoder(encoder, enc_path, card)
    digest = hashlib.sha256(dec_bytes + (enc_bytes or b"")).hexdigest()
    model = OnnxVAE(card.model_copy(update={"sha256": digest}), decoder, encoder, digest)
    _probe_decoder(model, dec_path)
    return model
