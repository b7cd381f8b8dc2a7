"""The variational autoencoder: its config, the network, and the loss it is trained on.

A checkpoint stores `VAEConfig` next to the weights, so `VAE(config)` rebuilds the exact network.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from model.flow import IAF

ARCHES = ("mlp", "conv")
ACTIVATIONS = ("elu", "relu")
LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class VAEConfig:
    latent_dim: int = 10
    arch: str = "mlp"  # "mlp": fully connected; "conv": strided convolutions + one hidden layer
    hidden: tuple[int, ...] = (512, 512)  # widths of the hidden fully connected layers
    # the decoder's, from z outwards, when they differ from the encoder's (default: hidden reversed)
    decoder_hidden: tuple[int, ...] | None = None
    channels: tuple[int, ...] = (32, 64)  # conv only: channels after each stride-2 convolution
    # conv only: the decoder's, in the same order, when they differ from the encoder's (a lighter
    # decoder serves grids faster; the encoder keeps its width)
    decoder_channels: tuple[int, ...] | None = None
    image_size: int = 28
    image_channels: int = 1  # 1: grey, 3: RGB
    # an inverse autoregressive flow of this many steps after the Gaussian (0: q(z|x) is the Gaussian);
    # the encoder also gives a context of flow_hidden numbers, and each step's MADE is flow_hidden wide
    flow_steps: int = 0
    flow_hidden: int = 256
    # the hidden layers' nonlinearity: "elu" (every model before 2026-12-02) or "relu", which oneDNN
    # fuses into the convolution or matmul before it when serving on CPU (model/inference.py)
    activation: str = "elu"

    def __post_init__(self) -> None:
        assert self.latent_dim >= 1, f"latent_dim must be >= 1, got {self.latent_dim}"
        assert self.arch in ARCHES, f"arch must be one of {ARCHES}, got {self.arch!r}"
        assert self.activation in ACTIVATIONS, (
            f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        assert len(self.hidden) >= 1, "need at least one hidden layer"
        assert self.decoder_hidden is None or len(self.decoder_hidden) >= 1, "decoder needs a hidden layer"
        assert self.image_channels in (1, 3), f"image_channels must be 1 or 3, got {self.image_channels}"
        if self.arch == "conv":
            assert self.image_size % (2 ** len(self.channels)) == 0, "image size must halve cleanly"
        assert self.decoder_channels is None or len(self.decoder_channels) == len(self.channels), (
            "decoder_channels must have as many entries as channels (one per halving)")
        assert self.flow_steps >= 0 and (not self.flow_steps or self.latent_dim >= 2), (
            "flow_steps must be >= 0, and a flow needs latent_dim >= 2")

    @property
    def context(self) -> int:
        """How many numbers beyond (mu, logvar) the encoder gives: the flow's context."""
        return self.flow_hidden if self.flow_steps else 0

    @property
    def decoder_widths(self) -> tuple[int, ...]:
        return self.decoder_hidden or tuple(reversed(self.hidden))

    @property
    def decoder_convs(self) -> tuple[int, ...]:
        """The decoder's conv channels, from z outwards."""
        return tuple(reversed(self.decoder_channels or self.channels))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("decoder_hidden", "decoder_channels"):
            if d[key] is None:
                del d[key]  # cards and checkpoints from before the option stay equal
        if d["image_channels"] == 1:
            del d["image_channels"]  # likewise: grey models' configs read as they always did
        if not d["flow_steps"]:
            del d["flow_steps"], d["flow_hidden"]
        if d["activation"] == "elu":
            del d["activation"]  # cards from before the option read as they always did
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VAEConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        assert not unknown, f"unknown config keys: {sorted(unknown)}"
        kw = dict(d)
        for key in ("hidden", "channels", "decoder_hidden", "decoder_channels"):
            if kw.get(key) is not None:
                kw[key] = tuple(kw[key])
        return cls(**kw)


class _Dropout:
    """Dropout with probability `p` after the activation while training (0 unless `set_dropout` says).
    It has no weights, so a network trained with dropout saves, loads and exports as one trained
    without."""

    p = 0.0
    training: bool

    def dropped(self, y: torch.Tensor) -> torch.Tensor:
        return F.dropout(y, self.p, training=True) if self.p and self.training else y


class ELU(_Dropout, nn.ELU):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropped(super().forward(x))


class ReLU(_Dropout, nn.ReLU):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropped(super().forward(x))


def activation(name: str) -> nn.Module:
    return ReLU() if name == "relu" else ELU()


def set_dropout(model: nn.Module, p: float) -> None:
    """Dropout on every hidden layer's output, encoder and decoder (Srivastava et al., 2014)."""
    assert 0 <= p < 1, f"dropout must be in [0, 1), got {p}"
    for m in model.modules():
        if isinstance(m, _Dropout):
            m.p = p


def _mlp(sizes: list[int], *, last_act: bool, act: str = "elu") -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if last_act or i < len(sizes) - 2:
            layers.append(activation(act))
    return nn.Sequential(*layers)


def _conv_encoder(c: VAEConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    ch_in = c.image_channels
    for ch in c.channels:
        layers += [nn.Conv2d(ch_in, ch, 4, stride=2, padding=1), activation(c.activation)]
        ch_in = ch
    side = c.image_size // 2 ** len(c.channels)
    layers += [nn.Flatten(), _mlp([ch_in * side * side, *c.hidden, 2 * c.latent_dim + c.context],
                                  last_act=False, act=c.activation)]
    return nn.Sequential(*layers)


def _conv_decoder(c: VAEConfig) -> nn.Sequential:
    side = c.image_size // 2 ** len(c.channels)
    chans = list(c.decoder_convs)
    layers: list[nn.Module] = [
        _mlp([c.latent_dim, *c.decoder_widths, chans[0] * side * side], last_act=True, act=c.activation),
        nn.Unflatten(1, (chans[0], side, side)),
    ]
    outs = [*chans[1:], c.image_channels]
    for i, (ch_in, ch_out) in enumerate(zip(chans, outs, strict=True)):
        layers.append(nn.ConvTranspose2d(ch_in, ch_out, 4, stride=2, padding=1))
        if i < len(outs) - 1:  # the last layer gives logits
            layers.append(activation(c.activation))
    return nn.Sequential(*layers)


class Network(Protocol):
    """What encoding and serving call on a model: `VAE` below, and model/onnx_vae.py's `OnnxVAE` for
    a model brought as ONNX graphs."""

    @property
    def device(self) -> torch.device: ...

    @property
    def latent_dim(self) -> int: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]: ...


class Forward(NamedTuple):
    """One pass of `VAE.forward`: for eps (N, d), z and kl_dims are (N, d), log_q (N,); for eps
    (K, N, d), each gains a leading K."""

    logits: torch.Tensor  # (K*N or N, C, H, W), of the decoded z
    mu: torch.Tensor  # (N, d), the Gaussian's (before any flow)
    logvar: torch.Tensor
    z: torch.Tensor  # the posterior sample
    log_q: torch.Tensor  # log q(z|x)
    kl_dims: torch.Tensor  # each dimension's part of KL(q || p): exact for the Gaussian, sampled with a flow


class VAE(nn.Module):
    """Encoder q(z|x) = N(mu, diag(exp(logvar))), or that Gaussian moved by an inverse autoregressive
    flow (model/flow.py); prior N(0, I); Bernoulli decoder p(x|z)."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        self._device: torch.device | None = None
        n = config.image_channels * config.image_size**2
        if config.arch == "mlp":
            outputs = 2 * config.latent_dim + config.context
            act = config.activation
            self.encoder = nn.Sequential(nn.Flatten(),
                                         _mlp([n, *config.hidden, outputs], last_act=False, act=act))
            self.decoder = _mlp([config.latent_dim, *config.decoder_widths, n], last_act=False, act=act)
        else:
            self.encoder = _conv_encoder(config)
            self.decoder = _conv_decoder(config)
        self.flow = (IAF(config.latent_dim, config.flow_hidden, config.flow_hidden, config.flow_steps)
                     if config.flow_steps else None)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def device(self) -> torch.device:
        # cached: walking the parameters costs ~10 us, a fifth of a batch-1 decode
        if self._device is None:
            self._device = next(self.parameters()).device
        return self._device

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]
        self._device = None  # .to(), .cuda(), .cpu() all come through here
        return super()._apply(fn, recurse)

    def _gaussian(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mu, logvar, the flow's context (N, 0 without a flow))."""
        d = self.config.latent_dim
        h = self.encoder(x)
        return h[:, :d], h[:, d:2 * d], h[:, 2 * d:]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (N, C, H, W) in [0, 1] -> (mu, logvar), each (N, latent_dim): the posterior's centre and
        spread. With a flow they summarise it: the flow's image of the Gaussian's mean, and logvar
        scaled by the flow's Jacobian there (its diagonal: the flow is triangular)."""
        mu, logvar, context = self._gaussian(x)
        if self.flow is None:
            return mu, logvar
        z, log_sigma = self.flow(mu, context)
        return z, logvar + 2 * log_sigma

    def posterior(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> Forward:
        """Samples z ~ q(z|x) = the flow of mu + sigma * eps, with log q(z|x); logits is left empty."""
        mu, logvar, context = self._gaussian(x)
        eps = torch.randn_like(mu) if eps is None else eps
        z = self.reparameterize(mu, logvar, eps)
        log_q_dims = -0.5 * (LOG_2PI + logvar + eps.pow(2))
        if self.flow is None:
            kl_dims = kl_to_standard_normal(mu, logvar).expand_as(z)
        else:
            z, log_sigma = self.flow(z, context.expand(*z.shape[:-1], -1))
            log_q_dims = log_q_dims - log_sigma
            kl_dims = log_q_dims + 0.5 * (LOG_2PI + z.pow(2))  # log q - log p, one sample, per dimension
        return Forward(z.new_empty(0), mu, logvar, z, log_q_dims.sum(-1), kl_dims)

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps, differentiable in mu and logvar. eps: (N, d), or (K, N, d) for K
        samples per image (default: one fresh draw); training passes it so that the noise does not
        depend on how a batch is split over processes."""
        return mu + torch.exp(0.5 * logvar) * (torch.randn_like(mu) if eps is None else eps)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        c, s = self.config.image_channels, self.config.image_size
        return self.decoder(z).view(z.shape[0], c, s, s)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: (N, latent_dim) -> pixel probabilities (N, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x -> (mu, logvar, decode(mu)): the deterministic reconstruction, through the mean."""
        mu, logvar = self.encode(x)
        return mu, logvar, self.decode(mu)

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> Forward:
        """x (N, C, H, W) -> a posterior sample and its decoding; logits are (K*N, C, H, W) for eps
        (K, N, d). Losses go through here, so that DistributedDataParallel sees the pass."""
        out = self.posterior(x, eps)
        return out._replace(logits=self.decode_logits(out.z.flatten(0, -2)))


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-dimension KL(N(mu, sigma^2) || N(0, 1)) = -1/2 (1 + log sigma^2 - mu^2 - sigma^2).

    Kingma & Welling (2014), appendix B. Returns (N, latent_dim) in nats.
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


def reconstruction_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Summed binary cross-entropy over pixels, per image (N,), in nats."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def loss_terms(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, KL) per image for a Gaussian posterior; their sum is the negative ELBO."""
    return reconstruction_nll(logits, x), kl_to_standard_normal(mu, logvar).sum(1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def log_weights(logits: torch.Tensor, x: torch.Tensor, z: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """log p(x|z_k) + log p(z_k) - log q(z_k|x) for z (K, N, d), log_q (K, N) and logits
    (K*N, C, H, W): (K, N).

    Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", eq. 8's w_k.
    """
    k, n = z.shape[:2]
    target = x.expand(k, *x.shape).flatten(0, 1)
    log_px_z = -reconstruction_nll(logits, target).view(k, n)
    return log_px_z + log_normal(z, torch.zeros_like(z), torch.zeros_like(z)) - log_q


def neg_elbo_loss(
    model: nn.Module, x: torch.Tensor, eps: torch.Tensor | None = None, *, beta: float = 1.0
) -> torch.Tensor:
    """Batch mean of BCE + beta * KL: the training loss, nats per image; beta = 1 is the negative
    ELBO, beta > 1 the beta-VAE objective (Higgins et al., 2017), which trades reconstruction for a
    posterior closer to the factorised prior. `model` is a VAE or its DistributedDataParallel
    wrapper (whose forward synchronises the gradients)."""
    out = model(x, eps)
    return (reconstruction_nll(out.logits, x) + beta * out.kl_dims.sum(-1)).mean()


def iw_bound_loss(model: nn.Module, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Batch mean of -log (1/K sum_k w_k) for eps (K, N, d): the IWAE bound, nats per image.

    K = 1 is the negative ELBO with a sampled KL; larger K is a tighter bound (Burda et al. 2016).
    """
    out = model(x, eps)
    lw = log_weights(out.logits, x, out.z, out.log_q)
    return -(torch.logsumexp(lw, 0) - math.log(eps.shape[0])).mean()

