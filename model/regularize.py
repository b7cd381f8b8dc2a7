"""Training-time regularizers that leave the network and the loss's meaning alone: random shifts of
the training images and a KL warm-up. (Dropout lives in the network: `model.vae.set_dropout`.)"""

from __future__ import annotations

import torch


def shift_images(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Move image i of x (N, C, H, W) down dy[i] and right dx[i] pixels (negative: up, left); what
    comes in at the edges is 0 (black paper), nothing wraps round."""
    n, _, h, w = x.shape
    rows = torch.arange(h, device=x.device)[None, :] - dy[:, None]  # the source row of each output row
    cols = torch.arange(w, device=x.device)[None, :] - dx[:, None]
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    picked = x[torch.arange(n, device=x.device)[:, None, None], :,
               rows.clamp(0, h - 1)[:, :, None], cols.clamp(0, w - 1)[:, None, :]]  # (N, H, W, C)
    return (picked * inside[..., None].to(x.dtype)).permute(0, 3, 1, 2).contiguous()


def random_shifts(n: int, most: int, generator: torch.Generator,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(dy, dx), each n integers drawn uniformly from [-most, most]."""
    d = torch.randint(-most, most + 1, (2, n), generator=generator, device=device)
    return d[0], d[1]


def kl_weight(step: int, warmup_steps: int) -> float:
    """The KL term's weight at a step: rising linearly from 1 / warmup_steps to 1, then 1 (Bowman et al.,
    2016; Sønderby et al., 2016). warmup_steps 0: always 1."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
