"""model/inference.py: the serving rewrite decodes exactly what the trained network decodes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from model.inference import PackedLinear, SubpixelConv, bf16_native, for_inference, pack, supports
from model.vae import VAE, VAEConfig

BF16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def decoded_before_and_after(
    config: VAEConfig, n: int, *, bf16: bool = False
) -> tuple[torch.Tensor, VAE, torch.Tensor]:
    """(the trained network's images of n random z, the served rewrite, its images of the same z)."""
    torch.manual_seed(0)
    vae = VAE(config).eval()
    z = torch.randn(n, config.latent_dim) * 2
    with torch.inference_mode():
        before = vae.decode(z)
        fast = for_inference(vae, bf16=bf16)
        return before, fast, fast.decode(z)


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("channels", [(4, 8), (3, 5, 6)])
def test_rewritten_conv_decoder_decodes_the_same_images(batch: int, channels: tuple[int, ...]) -> None:
    config = VAEConfig(latent_dim=3, arch="conv", hidden=(16,), channels=channels, image_size=32)
    before, fast, after = decoded_before_and_after(config, batch)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in fast.modules())
    assert sum(isinstance(m, SubpixelConv) for m in fast.modules()) == len(channels)
    assert after.shape == before.shape
    assert torch.allclose(after, before, atol=1e-5)
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in fast.modules()
               if isinstance(m, SubpixelConv))
    assert after.is_contiguous(memory_format=torch.channels_last)  # channels innermost, as PNG rows


@pytest.mark.skipif(not BF16, reason="oneDNN has no bfloat16 convolutions on this CPU")
def test_bf16_convolutions_decode_within_a_few_levels_and_keep_float32_logits() -> None:
    config = VAEConfig(latent_dim=4, arch="conv", hidden=(32,), channels=(4, 8, 16), image_size=32,
                       image_channels=3)
    exact, fast, approx = decoded_before_and_after(config, 50, bf16=True)
    convs = [m for m in fast.modules() if isinstance(m, SubpixelConv)]
    assert [m.weight.dtype for m in convs] == [torch.bfloat16, torch.bfloat16, torch.float32]
    assert approx.dtype == torch.float32 and approx.shape == exact.shape
    levels = (approx - exact).abs() * 255
    assert levels.max() < 4 and levels.mean() < 0.5  # a few levels of 255 at worst, most pixels none
    assert approx.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="oneDNN is not in this torch")
@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("arch", ["conv", "mlp"])
def test_relus_are_fused_into_the_layer_before_them(arch: str, bf16: bool) -> None:
    if bf16 and not BF16:
        pytest.skip("oneDNN has no bfloat16 convolutions on this CPU")
    shape = dict(channels=(4, 8, 16), image_size=32, image_channels=3) if arch == "conv" else {}
    config = VAEConfig(latent_dim=4, arch=arch, hidden=(64,) if arch == "conv" else (256, 256),
                       activation="relu", **shape)  # type: ignore[arg-type]
    exact, fast, got = decoded_before_and_after(config, 40, bf16=bf16)
    assert not any(isinstance(m, nn.ReLU) for m in fast.decoder.modules())  # each became a post-op
    fused = [m for m in fast.decoder.modules() if isinstance(m, SubpixelConv | PackedLinear) and m.relu]
    assert len(fused) == (2 + 2 if arch == "conv" else 2)  # every hidden layer; never the logits
    levels = (got - exact).abs().max() * 255
    assert levels < (4 if bf16 and arch == "conv" else 1e-3)


def test_bf16_native_answers_for_this_cpu() -> None:
    assert isinstance(bf16_native(), bool)


def test_the_pixel_shuffle_interleaves_phases_like_pytorchs() -> None:
    """The (a, b, c) channel order and the NHWC shuffle give the transposed convolution's pixels,
    for NCHW and NHWC inputs alike."""
    torch.manual_seed(0)
    ct = nn.ConvTranspose2d(5, 3, 4, stride=2, padding=1)
    sub = SubpixelConv(ct)
    x = torch.randn(2, 5, 6, 7)
    with torch.inference_mode():
        want = ct(x)
        for got in (sub(x), sub(x.contiguous(memory_format=torch.channels_last))):
            assert got.shape == want.shape == (2, 3, 12, 14)
            assert torch.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("batch", [1, 4, 64, 400])
def test_rewritten_mlp_decoder_decodes_the_same_images(batch: int) -> None:
    torch.manual_seed(0)
    vae = VAE(VAEConfig(latent_dim=2, arch="mlp", hidden=(512, 512))).eval()
    z = torch.randn(batch, 2) * 3
    with torch.inference_mode():
        before = vae.decode(z)
        after = for_inference(vae).decode(z)
    assert after.shape == before.shape
    assert (after - before).abs().max() < 1e-5


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="oneDNN is not in this torch")
def test_linear_layers_run_through_onednn_whatever_the_batch() -> None:
    torch.manual_seed(0)
    fast = for_inference(VAE(VAEConfig(latent_dim=2, arch="mlp", hidden=(64, 32))))
    assert [type(m).__name__ for m in fast.decoder] == [
        "PackedLinear",
        "ELU",
        "PackedLinear",
        "ELU",
        "PackedLinear",
    ]
    assert not list(fast.decoder.parameters()) and not fast.decoder.state_dict()
    z = torch.randn(64, 2)
    with torch.inference_mode():
        together = fast.decode(z)
        alone = torch.cat([fast.decode(z[i : i + 1]) for i in range(64)])
    assert (together - alone).abs().max() < 1e-6


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="oneDNN is not in this torch")
def test_small_products_skip_onednn_and_large_ones_take_it(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    wide, thin = nn.Linear(512, 784), nn.Linear(2, 512)
    calls: list[tuple[int, int]] = []
    real = PackedLinear.onednn

    def counted(self: PackedLinear, x: torch.Tensor) -> torch.Tensor:
        calls.append((self.in_features, x.shape[0]))
        return real(self, x)

    monkeypatch.setattr(PackedLinear, "onednn", counted)
    packed_wide, packed_thin = pack(wide), pack(thin)
    calls.clear()  # pack's own check runs oneDNN once per layer
    with torch.inference_mode():
        for layer, plain, rows, small in [
            (packed_wide, wide, 1, True),
            (packed_thin, thin, 64, True),
            (packed_wide, wide, 2, False),
        ]:
            x = torch.randn(rows, plain.in_features)
            if small:
                assert torch.equal(layer(x), plain(x))  # nn.Linear's own path: the same bits
            else:
                assert torch.allclose(layer(x), plain(x), atol=1e-4)
        packed_thin(torch.randn(65, 2))
    assert calls == [(512, 2), (2, 65)]  # a lone vector and a 64-row 2-wide product stayed on F.linear


def test_a_linear_layer_that_onednn_cannot_take_is_left_alone() -> None:
    half = nn.Linear(4, 3).to(torch.float64)
    assert pack(half) is half
    linear = nn.Linear(4, 3)
    with torch.no_grad():
        linear.weight[0, 0] = float("nan")  # nothing to agree on: kept as it is
    assert pack(linear) is linear


def test_only_kernel4_stride2_padding1_is_rewritten() -> None:
    assert supports(nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1))
    assert not supports(nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1))
    assert not supports(nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1, output_padding=1))
    assert not supports(nn.Conv2d(2, 3, 4, stride=2, padding=1))
