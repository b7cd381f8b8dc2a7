"""Test-set metrics: the one-sample ELBO and the importance-weighted NLL bound."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from model import store
from model.data import load_split
from model.evaluate import evaluate, iw_nll
from model.vae import VAE, VAEConfig, neg_elbo_loss

SHIPPED = "mnist-z10"
TRAINED_NEG_ELBO = 150.0  # a card above this is a placeholder or an unfinished run, not a trained model


@pytest.fixture(scope="module")
def x_test(synthetic_data_dir: Path) -> torch.Tensor:
    return load_split(synthetic_data_dir, "test").tensor()  # (100, 1, 28, 28)


@pytest.fixture(scope="module")
def trained_vae(synthetic_data_dir: Path) -> VAE:
    """A tiny MLP VAE after 150 Adam steps on the synthetic digits: posteriors narrower than the prior."""
    torch.manual_seed(0)
    x = load_split(synthetic_data_dir, "train").tensor()
    vae = VAE(VAEConfig(latent_dim=3, hidden=(32,)))
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    for _ in range(150):
        idx = torch.randint(len(x), (64,))
        loss = neg_elbo_loss(vae, x[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return vae.eval()


def repeated(estimate, n: int = 20) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Mean and standard error of n runs of a stochastic estimate."""
    values = [estimate() for _ in range(n)]
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(n)


def test_neg_elbo_is_reconstruction_plus_kl(trained_vae: VAE, x_test: torch.Tensor) -> None:
    m = evaluate(trained_vae, x_test)
    assert m.neg_elbo == pytest.approx(m.reconstruction + m.kl)
    assert m.kl > 0 and m.reconstruction > 0


def test_kl_per_dim_has_one_entry_per_latent_and_sums_to_kl(trained_vae: VAE, x_test: torch.Tensor) -> None:
    m = evaluate(trained_vae, x_test)
    assert len(m.kl_per_dim) == trained_vae.latent_dim
    assert sum(m.kl_per_dim) == pytest.approx(m.kl)


def test_evaluate_does_not_depend_on_batch_size_beyond_noise(trained_vae: VAE, x_test: torch.Tensor) -> None:
    torch.manual_seed(0)
    small = evaluate(trained_vae, x_test, batch_size=7)
    big = evaluate(trained_vae, x_test, batch_size=1000)
    assert small.kl == pytest.approx(big.kl, rel=1e-4)  # the KL is exact, only the reconstruction is sampled


def test_iw_nll_is_at_most_the_neg_elbo(trained_vae: VAE, x_test: torch.Tensor) -> None:
    torch.manual_seed(0)
    elbo, elbo_se = repeated(lambda: evaluate(trained_vae, x_test).neg_elbo)
    iw, iw_se = repeated(lambda: iw_nll(trained_vae, x_test, k=50), n=5)
    assert iw <= elbo + 4 * math.hypot(elbo_se, iw_se), (iw, elbo)


def test_iw_nll_with_one_sample_estimates_the_neg_elbo(trained_vae: VAE, x_test: torch.Tensor) -> None:
    torch.manual_seed(0)
    elbo, elbo_se = repeated(lambda: evaluate(trained_vae, x_test).neg_elbo)
    iw1, iw1_se = repeated(lambda: iw_nll(trained_vae, x_test, k=1))
    assert abs(iw1 - elbo) < 4 * math.hypot(elbo_se, iw1_se), (iw1, elbo, elbo_se, iw1_se)


def test_iw_nll_tightens_with_more_samples(trained_vae: VAE, x_test: torch.Tensor) -> None:
    torch.manual_seed(0)
    k1, k1_se = repeated(lambda: iw_nll(trained_vae, x_test, k=1))
    k50, k50_se = repeated(lambda: iw_nll(trained_vae, x_test, k=50), n=5)
    assert k50 < k1 - 2 * math.hypot(k1_se, k50_se), (k50, k1)


def mnist_and_shipped_model_or_skip(real_data: Path) -> tuple[Path, VAE]:
    mnist = real_data / "mnist"
    card_path = store.weights_dir() / f"{SHIPPED}.json"
    if not card_path.is_file():
        pytest.skip(f"{card_path} does not exist; train it with `python -m model.train --name {SHIPPED}`")
    neg_elbo = json.loads(card_path.read_text()).get("metrics", {}).get("test_neg_elbo", math.inf)
    if not neg_elbo < TRAINED_NEG_ELBO:
        pytest.skip(
            f"{card_path} is not a trained model (test_neg_elbo {neg_elbo}, want < {TRAINED_NEG_ELBO})"
        )
    return mnist, store.load(SHIPPED)


def test_shipped_mnist_model_reconstructs_test_digits(real_data: Path) -> None:
    mnist, vae = mnist_and_shipped_model_or_skip(real_data)
    x = load_split(mnist, "test").tensor()[:500]
    with torch.inference_mode():
        mu, _ = vae.encode(x)
        recon = vae.decode(mu)
    bce_model = F.binary_cross_entropy(recon, x, reduction="none").flatten(1).sum(1).mean().item()
    mean_image = x.mean(0, keepdim=True).clamp(1e-4, 1 - 1e-4).expand_as(x)
    bce_mean = F.binary_cross_entropy(mean_image, x, reduction="none").flatten(1).sum(1).mean().item()
    assert bce_model < 0.7 * bce_mean, (bce_model, bce_mean)
