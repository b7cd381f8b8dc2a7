"""The network's shapes and ranges, and the loss it is trained on."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from model.data import load_split
from model.vae import VAE, VAEConfig, iw_bound_loss, kl_to_standard_normal, neg_elbo_loss, set_dropout

CONFIGS = {
    "mlp": VAEConfig(latent_dim=3, arch="mlp", hidden=(32,)),
    "conv": VAEConfig(latent_dim=3, arch="conv", hidden=(32,), channels=(4, 8)),
}


@pytest.fixture(params=list(CONFIGS))
def vae(request: pytest.FixtureRequest) -> VAE:
    torch.manual_seed(0)
    return VAE(CONFIGS[request.param])


@pytest.fixture(scope="module")
def batch(synthetic_data_dir) -> torch.Tensor:
    return load_split(synthetic_data_dir, "train").tensor()[:32]  # (32, 1, 28, 28)


def test_encode_gives_mu_and_logvar_of_latent_dim(vae: VAE, batch: torch.Tensor) -> None:
    mu, logvar = vae.encode(batch)
    assert mu.shape == logvar.shape == (32, vae.latent_dim)


def test_decode_gives_images_in_unit_interval(vae: VAE) -> None:
    x = vae.decode(3 * torch.randn(16, vae.latent_dim))
    assert x.shape == (16, 1, 28, 28)
    assert x.min() >= 0 and x.max() <= 1


def test_encode_and_decode_work_under_inference_mode(vae: VAE, batch: torch.Tensor) -> None:
    vae.eval()
    with torch.inference_mode():
        mu, _ = vae.encode(batch)
        x = vae.decode(mu)
    assert x.shape == batch.shape
    assert torch.isfinite(x).all()


def test_forward_gives_logits_and_posterior(vae: VAE, batch: torch.Tensor) -> None:
    logits, mu, logvar = vae(batch)[:3]
    assert logits.shape == batch.shape
    assert mu.shape == logvar.shape == (32, vae.latent_dim)


def test_loss_is_finite_and_positive(vae: VAE, batch: torch.Tensor) -> None:
    loss = neg_elbo_loss(vae, batch)
    assert loss.ndim == 0
    assert math.isfinite(loss.item()) and loss.item() > 0


def test_optimizer_steps_lower_the_loss_on_a_fixed_batch(vae: VAE, batch: torch.Tensor) -> None:
    def loss_with_fixed_noise() -> torch.Tensor:
        torch.manual_seed(1)  # the same reparameterization noise each time
        return neg_elbo_loss(vae, batch)

    before = loss_with_fixed_noise().item()
    opt = torch.optim.Adam(vae.parameters(), lr=1e-3)
    for _ in range(5):
        opt.zero_grad()
        loss_with_fixed_noise().backward()
        opt.step()
    assert loss_with_fixed_noise().item() < before


def test_kl_is_zero_for_the_prior_itself() -> None:
    zeros = torch.zeros(4, 3)
    assert torch.equal(kl_to_standard_normal(zeros, zeros), zeros)


def test_kl_matches_monte_carlo_estimate() -> None:
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    logvar = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    s = 200_000
    std = torch.exp(0.5 * logvar)
    eps = torch.randn(s, *mu.shape, generator=gen, dtype=torch.float64)  # (s, 5, 3)
    z = mu + std * eps
    # log q(z) - log p(z), summed over dimensions; the 2 pi terms cancel
    log_ratio = (-0.5 * eps.pow(2) - 0.5 * logvar + 0.5 * z.pow(2)).sum(-1)  # (s, 5)
    mc, se = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(s)
    closed = kl_to_standard_normal(mu, logvar).sum(1)
    assert ((mc - closed).abs() < 5 * se).all(), (mc, closed, se)


def test_config_survives_a_json_round_trip() -> None:
    for config in CONFIGS.values():
        assert VAEConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_the_decoder_can_be_narrower_than_the_encoder(arch: str) -> None:
    config = VAEConfig(latent_dim=2, arch=arch, hidden=(64, 32), channels=(4, 8), decoder_hidden=(16, 8))
    vae = VAE(config)
    widths = [m.out_features for m in vae.decoder.modules() if isinstance(m, nn.Linear)]
    assert widths[:2] == [16, 8]
    assert [m.out_features for m in vae.encoder.modules() if isinstance(m, nn.Linear)][:2] == [64, 32]
    assert vae.decode(torch.zeros(3, 2)).shape == (3, 1, 28, 28)
    assert VAEConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_conv_decoder_can_have_fewer_channels_than_the_encoder() -> None:
    config = VAEConfig(latent_dim=2, arch="conv", hidden=(16,), channels=(8, 16), decoder_channels=(3, 4),
                       image_size=32, image_channels=3)
    vae = VAE(config)
    ups = [(m.in_channels, m.out_channels) for m in vae.decoder.modules()
           if isinstance(m, nn.ConvTranspose2d)]
    assert ups == [(4, 3), (3, 3)]  # from z outwards: 4 channels at 8x8, 3 at 16x16, the image at 32x32
    assert [m.out_channels for m in vae.encoder.modules() if isinstance(m, nn.Conv2d)] == [8, 16]
    assert vae.decode(torch.zeros(2, 2)).shape == (2, 3, 32, 32)
    assert VAEConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert "decoder_channels" not in VAEConfig(arch="conv").to_dict()  # older cards keep their form
    with pytest.raises(AssertionError, match="one per halving"):
        VAEConfig(arch="conv", channels=(8, 16), decoder_channels=(4,))


def test_a_config_without_decoder_widths_mirrors_the_encoder_and_keeps_its_old_form() -> None:
    config = VAEConfig(latent_dim=2, hidden=(64, 32))
    assert config.decoder_widths == (32, 64)
    assert "decoder_hidden" not in config.to_dict()  # cards written before the option still match


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(AssertionError, match="unknown config keys"):
        VAEConfig.from_dict({"latent_dim": 2, "depth": 3})


def test_config_rejects_unknown_arch() -> None:
    with pytest.raises(AssertionError, match="arch must be one of"):
        VAEConfig(arch="transformer")


def test_device_follows_the_model_when_it_moves() -> None:
    vae = VAE(VAEConfig(latent_dim=2, hidden=(8,)))
    assert vae.device == torch.device("cpu")
    vae.to("meta")  # a move must not leave a stale cached device behind
    assert vae.device == torch.device("meta")


def test_reconstruct_decodes_the_posterior_mean() -> None:
    vae = VAE(VAEConfig(latent_dim=3, hidden=(16,))).eval()
    x = torch.rand(4, 1, 28, 28)
    with torch.inference_mode():
        mu, logvar, recon = vae.reconstruct(x)
        assert torch.equal(recon, vae.decode(vae.encode(x)[0]))
    assert mu.shape == logvar.shape == (4, 3)
    assert recon.shape == x.shape


def test_given_noise_makes_the_loss_repeatable(vae: VAE, batch: torch.Tensor) -> None:
    eps = torch.randn(32, vae.latent_dim)
    assert neg_elbo_loss(vae, batch, eps).item() == neg_elbo_loss(vae, batch, eps).item()


def test_iw_bound_with_one_sample_estimates_the_neg_elbo(vae: VAE, batch: torch.Tensor) -> None:
    torch.manual_seed(0)
    with torch.no_grad():  # the sampled KL of K = 1 averages to the closed-form one
        elbo = torch.stack([neg_elbo_loss(vae, batch) for _ in range(200)]).mean().item()
        iw1 = torch.stack([iw_bound_loss(vae, batch, torch.randn(1, 32, vae.latent_dim))
                           for _ in range(200)]).mean().item()
    assert iw1 == pytest.approx(elbo, rel=2e-3)


def test_iw_bound_tightens_with_more_samples(vae: VAE, batch: torch.Tensor) -> None:
    torch.manual_seed(0)
    with torch.no_grad():
        k1 = torch.stack([iw_bound_loss(vae, batch, torch.randn(1, 32, vae.latent_dim))
                          for _ in range(50)]).mean().item()
        k20 = iw_bound_loss(vae, batch, torch.randn(20, 32, vae.latent_dim)).item()
    assert k20 < k1


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_dropout_acts_while_training_only_and_leaves_the_weights_as_they_were(arch: str) -> None:
    torch.manual_seed(0)
    plain, dropped = VAE(VAEConfig(latent_dim=3, arch=arch)), VAE(VAEConfig(latent_dim=3, arch=arch))
    dropped.load_state_dict(plain.state_dict())
    set_dropout(dropped, 0.5)
    assert plain.state_dict().keys() == dropped.state_dict().keys()
    z = torch.randn(4, 3)
    dropped.train()
    assert not torch.equal(dropped.decode(z), dropped.decode(z))  # a fresh mask each call
    dropped.eval(), plain.eval()
    assert torch.equal(dropped.decode(z), plain.decode(z))
    set_dropout(dropped, 0.0)
    dropped.train()
    assert torch.equal(dropped.decode(z), plain.decode(z))
