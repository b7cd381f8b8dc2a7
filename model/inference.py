"""Serving-time rewrite of a trained VAE: the same function, computed faster on CPU.

- Transposed convolutions: PyTorch's CPU ConvTranspose2d is slow for the small decoders here (a
  20x20 grid spent most of its time in it). A stride-2, kernel-4, padding-1 transposed convolution
  equals a 3x3 convolution to 4x the channels followed by a pixel shuffle (Shi et al., "Real-Time
  Single Image and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural
  Network", 2016), which runs on the fast convolution path: about 1.5x faster decoding, at batch 1
  and at batch 400.
- Linear layers: nn.Linear calls the BLAS torch was built with (MKL). oneDNN, also inside torch,
  generates matmul code for the CPU it runs on; with each weight reordered once into its blocked
  layout, the shipped decoders' two wide Linear layers take 114 us instead of 230 us at batch 16,
  and a 20x20 grid (batch 400) decodes in 2.5 ms instead of 5.3 ms, in float32, on the dev box's AMD
  EPYC (AVX-512). But each oneDNN call costs about 10 us however small the product, so products of
  at most 2^19 multiply-adds over at most 64 rows stay on nn.Linear's path: a lone vector (55 us, not
  71) and the 2-wide first layer at batch 16 (2.5 us, not 12). These are the oneDNN operators
  torch.compile's CPU backend emits for frozen Linear layers; each layer is checked against
  nn.Linear when rewritten, and left as it is where they are missing or disagree (another torch
  build or CPU, a CUDA device).
- Memory format: a conv decoder's weights are kept channels-last (NHWC), so oneDNN runs its
  convolutions without reordering the activations, and the images come out with the colour
  channels innermost, which is the order PNG rows are in. shapes-b1's 20x20 grid (400 images of
  64x64x3): decoding 1.2x and tiling 2 to 3x faster (docs/performance.md).
- The pixel shuffle in NHWC: each sub-pixel convolution's output channels are ordered (row phase,
  column phase, channel), so that the shuffle moves runs of C contiguous values in one copy, where
  aten's pixel_shuffle on a channels-last tensor walks it value by value (docs/performance.md).
- bfloat16 convolutions, where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX, as on the
  dev box's EPYC): `for_inference(vae, bf16=True)` runs every convolution but the last in
  bfloat16, which halves the activations' memory traffic and doubles oneDNN's multiply rate; the
  last, which gives the logits, stays float32. Pixels then differ from float32's: by under 4 levels
  of 255 for small random networks (tests/model/test_inference.py), but by up to 13 at the sharp
  edges of the trained shapes models (0.2% of pixels off by more than 1). The old, wider shapes
  decoder ran 1.35x faster; the shipped, thinner one no faster. So the server's `VAE_CONV_BF16`
  setting defaults to off.
- ReLU fused: in a model trained with `--activation relu`, each ReLU after a convolution or a packed
  Linear layer becomes oneDNN's post-op on it, so no pass of its own runs over the activations
  (ELU has no such post-op in torch, and its own kernel takes about 1.5 ns a value on the dev box:
  a fifth of shapes-b1's 20x20 grid when it had ELUs, docs/performance.md).
"""

from __future__ import annotations

from typing import TypeGuard

import torch
import torch.nn.functional as F
from torch import nn

from model.vae import VAE


class SubpixelConv(nn.Module):
    """ConvTranspose2d(kernel 4, stride 2, padding 1) as Conv2d(kernel 3, padding 1) + a pixel shuffle.

    Output pixel 2m + a (a in {0, 1}) of the transposed convolution sums x[m + d] * W[a + 1 - 2d]
    over d in {-1, 0, 1} where 0 <= a + 1 - 2d < 4: a 3-tap correlation per output phase a. Each
    phase (a, b) becomes a group of C output channels, ordered (a, b, c), which the shuffle
    interleaves back into the (2H, 2W) image. `dtype` is the convolution's: its input is cast to it,
    and its output keeps it.
    """

    weight: torch.Tensor  # (4 * C_out, C_in, 3, 3), channels (a, b, c)
    bias: torch.Tensor  # (4 * C_out,)

    def __init__(self, ct: nn.ConvTranspose2d, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        assert supports(ct), f"not a kernel-4, stride-2, padding-1 transposed convolution: {ct}"
        w = ct.weight.detach()  # (C_in, C_out, 4, 4)
        c_in, c_out = w.shape[:2]
        k = torch.zeros(2, 2, c_out, c_in, 3, 3, dtype=w.dtype, device=w.device)
        for a in range(2):
            for dy in (-1, 0, 1):
                ky = a + 1 - 2 * dy
                for b in range(2):
                    for dx in (-1, 0, 1):
                        kx = b + 1 - 2 * dx
                        if 0 <= ky < 4 and 0 <= kx < 4:
                            k[a, b, :, :, dy + 1, dx + 1] = w[:, :, ky, kx].T
        self.out_channels = c_out
        dtype = dtype or w.dtype
        self.register_buffer("weight", k.reshape(4 * c_out, c_in, 3, 3).to(dtype).contiguous())
        bias = ct.bias.detach() if ct.bias is not None else torch.zeros(c_out, dtype=w.dtype, device=w.device)
        self.register_buffer("bias", bias.repeat(4).to(dtype))
        self.relu = False  # set by `fuse_relu`: a ReLU after this layer, run as oneDNN's post-op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.weight.dtype)
        if self.relu:
            y = torch.ops.mkldnn._convolution_pointwise(
                x, self.weight, self.bias, [1, 1], [1, 1], [1, 1], 1, "relu", [], "")
        else:
            y = F.conv2d(x, self.weight, self.bias, padding=1)
        n, _, h, w = y.shape
        # (N, H, W, [a, b, c]) -> (N, H, a, W, b, c): with NHWC memory the first permute is free
        # and the reshape after the transpose is the one copy
        y = y.permute(0, 2, 3, 1).reshape(n, h, w, 2, 2, self.out_channels).transpose(2, 3)
        return y.reshape(n, 2 * h, 2 * w, self.out_channels).permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        fused = ", ReLU fused" if self.relu else ""
        return f"out_channels={self.out_channels}, dtype={self.weight.dtype}{fused}"


def supports(m: nn.Module) -> TypeGuard[nn.ConvTranspose2d]:
    return (
        isinstance(m, nn.ConvTranspose2d)
        and m.kernel_size == (4, 4)
        and m.stride == (2, 2)
        and m.padding == (1, 1)
        and m.output_padding == (0, 0)
        and m.dilation == (1, 1)
        and m.groups == 1
    )


class PackedLinear(nn.Module):
    """nn.Linear through oneDNN's matmul, with the weight reordered once for it (float32, CPU);
    small products, where oneDNN's fixed cost per call outweighs its faster loops, through
    nn.Linear's own path."""

    BATCH_HINT = 64  # the batch size oneDNN lays the weight out for; 16 and 400 run as fast
    SMALL_ROWS = 64  # at most this many rows ...
    SMALL_WORK = 2**19  # ... and this many multiply-adds: F.linear (measured crossovers, dev box)

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        # plain attributes, not parameters or buffers: the blocked layout is opaque, and no state
        # dict or .to() should ever see either copy
        self.weight = linear.weight.detach()
        self.packed = torch.ops.mkldnn._reorder_linear_weight(self.weight, self.BATCH_HINT)
        self.bias = None if linear.bias is None else linear.bias.detach().clone()
        small_rows = min(self.SMALL_ROWS, self.SMALL_WORK // (self.in_features * self.out_features))
        self._small_numel = small_rows * self.in_features  # inputs up to this size take F.linear
        self.relu = False  # set by `fuse_relu`: a ReLU after this layer, run as oneDNN's post-op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() <= self._small_numel:
            y = F.linear(x, self.weight, self.bias)
            return F.relu_(y) if self.relu else y
        return self.onednn(x)

    def onednn(self, x: torch.Tensor) -> torch.Tensor:
        attr = "relu" if self.relu else "none"
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, attr, [], "")

    def extra_repr(self) -> str:
        fused = ", ReLU fused" if self.relu else ""
        return f"in_features={self.in_features}, out_features={self.out_features}, oneDNN{fused}"


def pack(linear: nn.Linear) -> nn.Module:
    """`linear` as a PackedLinear when oneDNN is there and agrees with it on random inputs, else
    `linear` itself."""
    w = linear.weight
    if w.device.type != "cpu" or w.dtype != torch.float32 or not torch.backends.mkldnn.is_available():
        return linear
    try:
        packed = PackedLinear(linear)
        with torch.inference_mode():
            x = torch.randn(5, linear.in_features, generator=torch.Generator().manual_seed(0))
            want, got = linear(x), packed.onednn(x)
    except (AttributeError, RuntimeError):  # a torch without these operators, or a refusal
        return linear
    if not torch.isfinite(want).all():
        return linear  # nothing to compare against
    scale = want.abs().max().item() + 1.0
    return packed if torch.allclose(got, want, rtol=0, atol=1e-5 * scale) else linear


def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX), where oneDNN's bfloat16
    convolutions beat float32's; elsewhere it emulates them, slower."""
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()))
    except AttributeError:  # a torch without these probes
        return False


def _bf16_convolutions() -> bool:
    """Whether oneDNN convolves bfloat16 on this CPU at all (natively or emulated)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _rewrite(module: nn.Module, conv_dtype: torch.dtype | None, last: nn.Module | None) -> None:
    for name, child in module.named_children():
        if supports(child):
            setattr(module, name, SubpixelConv(child, None if child is last else conv_dtype))
        elif isinstance(child, nn.Linear):
            setattr(module, name, pack(child))
        else:
            _rewrite(child, conv_dtype, last)


def _agrees(layer: SubpixelConv | PackedLinear, relu: nn.Module) -> bool:
    """Whether `layer` with its ReLU fused gives what the layer and then `relu` give (a random input)."""
    if isinstance(layer, SubpixelConv):
        shape: tuple[int, ...] = (2, layer.weight.shape[1], 5, 5)
    else:
        shape = (max(2, layer._small_numel // layer.in_features + 1), layer.in_features)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0)).to(layer.weight.device)
    try:
        with torch.inference_mode():
            want = relu(layer(x)).float()
            layer.relu = True
            got = layer(x).float()
    except (AttributeError, RuntimeError):  # a torch or device without the fused operator
        layer.relu = False
        return False
    scale = want.abs().max().item() + 1.0
    layer.relu = torch.allclose(got, want, rtol=0, atol=1e-2 * scale if layer.weight.dtype == torch.bfloat16
                                else 1e-5 * scale)
    return layer.relu


def fuse_relu(module: nn.Module) -> None:
    """In every Sequential, a ReLU right after a SubpixelConv or a PackedLinear becomes that layer's
    oneDNN post-op (CPU), and an nn.Identity in its place; left as it is where the fused operator is
    missing or disagrees."""
    for child in module.children():
        fuse_relu(child)
    if not isinstance(module, nn.Sequential):
        return
    names = list(module._modules)
    for before, name in zip(names[:-1], names[1:], strict=True):
        layer, relu = module._modules[before], module._modules[name]
        if (isinstance(layer, SubpixelConv | PackedLinear) and isinstance(relu, nn.ReLU)
                and layer.weight.device.type == "cpu" and _agrees(layer, relu)):
            module._modules[name] = nn.Identity()


def for_inference(vae: VAE, *, bf16: bool = False) -> VAE:
    """Rewrite `vae`'s decoder in place for serving; outputs match to float rounding (~1e-5), or
    with `bf16` (CPU with oneDNN's bfloat16 only; else ignored) to within 13 levels of 255 at the
    sharpest edges seen (module docstring). The result is for inference only: its state dict
    no longer matches the checkpoint's, and it stays on the device it was loaded on."""
    convs = [m for m in vae.decoder.modules() if supports(m)]
    # the last convolution gives the logits: it keeps the model's float32 whatever the others run in
    bf16 = bf16 and vae.device.type == "cpu" and _bf16_convolutions()  # else float32, as without
    _rewrite(vae.decoder, torch.bfloat16 if bf16 else None, convs[-1] if convs else None)
    fuse_relu(vae.decoder)
    if any(isinstance(m, nn.Conv2d | SubpixelConv) for m in vae.decoder.modules()):
        vae.decoder.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # documented, not in the stubs
    return vae.eval()
