"""Inverse autoregressive flow (Kingma et al., 2016): a richer posterior q(z|x) than a diagonal
Gaussian, at no cost to decoding. Each step moves a sample z as

    z' = sigma * z + (1 - sigma) * m,    (m, log sigma) = MADE(z, h),

where output i of the MADE (Germain et al., 2015) sees only the dimensions before i in the step's
order, plus the encoder's context h. Its Jacobian is triangular with diagonal sigma, so
log q(z') = log q(z) - sum(log sigma). Steps alternate the order of the dimensions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def log_sigmoid(s: torch.Tensor) -> torch.Tensor:
    """log sigmoid(s) = min(s, 0) - log(1 + exp(-|s|)): finite for every s, in torch and in the ONNX
    graph the encoder exports to (which writes F.logsigmoid as log(sigmoid(s)), -inf below s ~ -88)."""
    return torch.minimum(s, torch.zeros_like(s)) - torch.log1p(torch.exp(-s.abs()))


class MaskedLinear(nn.Linear):
    def __init__(self, n_in: int, n_out: int, mask: torch.Tensor) -> None:
        super().__init__(n_in, n_out)
        self.mask: torch.Tensor
        self.register_buffer("mask", mask.to(torch.float32), persistent=False)  # rebuilt from the config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class IAFStep(nn.Module):
    def __init__(self, latent_dim: int, context: int, hidden: int, *, reverse: bool) -> None:
        super().__init__()
        d = latent_dim
        degree = torch.arange(d, 0, -1) if reverse else torch.arange(1, d + 1)  # of each z dimension
        hidden_degree = torch.arange(hidden) % max(1, d - 1) + 1  # 1 .. d-1
        self.z_in = MaskedLinear(d, hidden, hidden_degree[:, None] >= degree[None, :])
        self.h_in = nn.Linear(context, hidden, bias=False)
        out_mask = degree[:, None] > hidden_degree[None, :]  # output i sees hidden units below its degree
        self.out = MaskedLinear(hidden, 2 * d, torch.cat([out_mask, out_mask]))
        self.h_out = nn.Linear(context, 2 * d)  # the context reaches every output, the first one too
        with torch.no_grad():  # start near the identity: small m, sigma = sigmoid(2) ~ 0.88
            self.out.weight.mul_(0.01)
            self.h_out.weight.mul_(0.01)
            self.h_out.bias.zero_()
            self.h_out.bias[d:] = 2.0

    def forward(self, z: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z (..., d), h (..., context) -> (z', log sigma (..., d))."""
        a = F.elu(self.z_in(z) + self.h_in(h))
        m, s = (self.out(a) + self.h_out(h)).chunk(2, dim=-1)
        sigma = torch.sigmoid(s)
        return sigma * z + (1 - sigma) * m, log_sigmoid(s)


class IAF(nn.Module):
    def __init__(self, latent_dim: int, context: int, hidden: int, steps: int) -> None:
        super().__init__()
        assert latent_dim >= 2, "an autoregressive flow needs at least 2 latent dimensions"
        self.steps = nn.ModuleList(IAFStep(latent_dim, context, hidden, reverse=i % 2 == 1)
                                   for i in range(steps))

    def forward(self, z: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z (..., d) -> (z after every step, the sum of the steps' log sigma, (..., d))."""
        log_sigma = torch.zeros_like(z)
        for step in self.steps:
            z, ls = step(z, h)
            log_sigma = log_sigma + ls
        return z, log_sigma
