"""model/export.py: the one ONNX exporter, from a shipped model or a tutorial VAE's state_dict."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from model import store
from model.card import read as read_card
from model.export import DECODER_SUFFIX, ENCODER_SUFFIX, ExportError, decoder_onnx, encoder_onnx, export, main
from model.vae import VAE, VAEConfig
from tests.onnx_models import train_tutorial_vae

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_mnist_z2_exports_and_decodes_and_encodes_like_the_native_model(tmp_path: Path) -> None:
    card = export("mnist-z2", name="z2-onnx", out=tmp_path, weights=ROOT / "weights")
    assert (card.latent_dim, card.channels, card.image_size, card.output) == (2, 1, 28, "probabilities")
    native = store.load("mnist-z2", folder=ROOT / "weights")
    decoder = ort.InferenceSession(str(tmp_path / f"z2-onnx{DECODER_SUFFIX}"))
    encoder = ort.InferenceSession(str(tmp_path / f"z2-onnx{ENCODER_SUFFIX}"))
    z = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32) * 2
    x = np.random.default_rng(1).random((16, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        want = native.decode(torch.from_numpy(z)).numpy()
        mu, logvar = (t.numpy() for t in native.encode(torch.from_numpy(x)))
    assert np.abs(decoder.run(None, {"z": z})[0] - want).max() <= 1e-5
    got_mu, got_logvar = encoder.run(["mu", "logvar"], {"x": x})
    assert np.abs(got_mu - mu).max() <= 1e-5 and np.abs(got_logvar - logvar).max() <= 1e-5
    written = read_card(tmp_path / "z2-onnx.json")
    assert written.name == "z2-onnx" and written.dataset == "mnist" and not written.native
    assert written.model_extra and written.model_extra["source"] == "mnist-z2"


def test_a_tutorial_state_dict_exports_with_its_sizes(tmp_path: Path) -> None:
    vae = train_tutorial_vae(steps=5)
    torch.save(vae.state_dict(), tmp_path / "vae.pth")
    assert main([str(tmp_path / "vae.pth"), "--name", "tut", "--out", str(tmp_path)]) == 0
    card = json.loads((tmp_path / "tut.json").read_text())
    assert (card["latent_dim"], card["channels"], card["image_size"]) == (20, 1, 28)
    z = torch.randn(3, 20)
    got = ort.InferenceSession(str(tmp_path / f"tut{DECODER_SUFFIX}")).run(None, {"z": z.numpy()})[0]
    with torch.no_grad():
        assert np.abs(got - vae.decode(z).numpy()).max() <= 1e-5


class Payload:
    """Anything but a tensor: what a malicious checkpoint would pickle."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this ran while loading",))


def test_a_checkpoint_holding_a_pickled_object_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"fc1.weight": torch.zeros(2, 4), "extra": Payload()}, path)
    assert main([str(path), "--name", "evil", "--out", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert "this ran while loading" not in out.out  # the payload never ran
    assert "pickled objects" in out.err and "state_dict()" in out.err
    assert not list(tmp_path.glob("evil.*.onnx")) and not (tmp_path / "evil.json").exists()


def test_a_whole_pickled_module_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "module.pt"
    with open(path, "wb") as f:
        pickle.dump(train_tutorial_vae(steps=0), f)
    with pytest.raises(ExportError, match="pickled objects|not a readable"):
        export(str(path), name="m", out=tmp_path)


def test_a_state_dict_of_another_network_is_refused_by_name(tmp_path: Path) -> None:
    torch.save({"encoder.0.weight": torch.zeros(3, 3)}, tmp_path / "other.pt")
    with pytest.raises(ExportError, match="not a tutorial VAE state_dict: no fc1.weight"):
        export(str(tmp_path / "other.pt"), name="m", out=tmp_path)


def test_an_unknown_source_says_what_it_expected(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="neither a .pt/.pth state_dict nor a model"):
        export("no-such-model", name="m", out=tmp_path, weights=tmp_path)


def test_a_relu_conv_colour_model_exports_its_decoder_and_encoder() -> None:
    torch.manual_seed(0)
    vae = VAE(VAEConfig(latent_dim=3, arch="conv", hidden=(32,), channels=(4, 8), image_size=28,
                        image_channels=3, activation="relu")).eval()
    z = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    x = np.random.default_rng(1).random((4, 3, 28, 28)).astype(np.float32)
    decoder = ort.InferenceSession(decoder_onnx(vae, 3))
    encoder = ort.InferenceSession(encoder_onnx(vae, 3, 28))
    with torch.no_grad():
        want = vae.decode(torch.from_numpy(z)).numpy()
        mu, _ = vae.encode(torch.from_numpy(x))
    assert np.abs(decoder.run(None, {"z": z})[0] - want).max() <= 1e-5
    assert np.abs(encoder.run(["mu"], {"x": x})[0] - mu.numpy()).max() <= 1e-5
