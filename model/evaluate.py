"""Test-set metrics: negative ELBO, importance-weighted NLL, KL per latent dimension."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from model.vae import VAE, kl_to_standard_normal, log_weights, reconstruction_nll


@dataclass(frozen=True)
class Metrics:
    neg_elbo: float  # nats per image
    reconstruction: float
    kl: float
    kl_per_dim: list[float]


@torch.inference_mode()
def evaluate(vae: VAE, x: torch.Tensor, *, batch_size: int = 1000) -> Metrics:
    """One-sample ELBO over x (N, 1, 28, 28); KL is exact, reconstruction is a single draw."""
    rec_sum, kl_dims = 0.0, torch.zeros(vae.latent_dim)
    for xb in x.split(batch_size):
        xb = xb.to(vae.device)
        logits, mu, logvar = vae(xb)
        rec_sum += reconstruction_nll(logits, xb).sum().item()
        kl_dims += kl_to_standard_normal(mu, logvar).sum(0).cpu()
    n = len(x)
    kl_per_dim = (kl_dims / n).tolist()
    rec = rec_sum / n
    return Metrics(rec + sum(kl_per_dim), rec, sum(kl_per_dim), kl_per_dim)


@torch.inference_mode()
def iw_nll(
    vae: VAE, x: torch.Tensor, *, k: int = 100, batch_size: int = 100, max_rows: int = 20_000,
    generator: torch.Generator | None = None,
) -> float:
    """Importance-weighted estimate of -log p(x), nats per image (Burda et al. 2016, eq. 8).

    -log p(x) ~= -logsumexp_i [log p(x|z_i) + log p(z_i) - log q(z_i|x)] + log k, z_i ~ q(z|x).
    The k samples are decoded in chunks of at most `max_rows` images, so k = 5000 fits in memory;
    `generator` (on the model's device) makes the draws repeatable.
    """
    total = 0.0
    for xb in x.split(batch_size):
        xb = xb.to(vae.device)
        n = xb.shape[0]
        mu, logvar = vae.encode(xb)  # (n, d)
        chunk = max(1, max_rows // n)
        lw = []
        for start in range(0, k, chunk):
            eps = torch.randn(min(chunk, k - start), *mu.shape, device=mu.device, generator=generator)
            z = vae.reparameterize(mu, logvar, eps)  # (c, n, d)
            lw.append(log_weights(vae.decode_logits(z.flatten(0, 1)), xb, z, mu, logvar))  # (c, n)
        total += -(torch.logsumexp(torch.cat(lw), 0) - math.log(k)).sum().item()
    return total / len(x)
