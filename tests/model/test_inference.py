"""model/inference.py: the serving rewrite decodes exactly what the trained network decodes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from model.inference import SubpixelConv, for_inference, supports
from model.vae import VAE, VAEConfig


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("channels", [(4, 8), (3, 5, 6)])
def test_rewritten_conv_decoder_decodes_the_same_images(batch: int, channels: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    config = VAEConfig(latent_dim=3, arch="conv", hidden=(16,), channels=channels, image_size=32)
    vae = VAE(config).eval()
    z = torch.randn(batch, 3) * 2
    with torch.inference_mode():
        before = vae.decode(z)
        fast = for_inference(vae)
        after = fast.decode(z)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in fast.modules())
    assert sum(isinstance(m, SubpixelConv) for m in fast.modules()) == len(channels)
    assert after.shape == before.shape
    assert torch.allclose(after, before, atol=1e-5)


def test_mlp_decoder_is_left_alone() -> None:
    vae = VAE(VAEConfig(latent_dim=2, arch="mlp", hidden=(8,)))
    names = [type(m).__name__ for m in vae.decoder.modules()]
    assert [type(m).__name__ for m in for_inference(vae).decoder.modules()] == names


def test_only_kernel4_stride2_padding1_is_rewritten() -> None:
    assert supports(nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1))
    assert not supports(nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1))
    assert not supports(nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1, output_padding=1))
    assert not supports(nn.Conv2d(2, 3, 4, stride=2, padding=1))
