"""Test-set metrics: the one-sample ELBO and the importance-weighted NLL bound."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from model import store
from model.data import load_split
from model.evaluate import binarize, evaluate, iw_nll, main
from model.vae import VAE, VAEConfig, neg_elbo_loss, reconstruction_nll

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


@pytest.fixture(scope="module")
def one_latent_model(tmp_path_factory: pytest.TempPathFactory, synthetic_data_dir: Path) -> tuple[Path, Path]:
    """A VAE with one latent dimension, trained briefly on binarized synthetic digits and saved as
    `tiny-z1` (data set mnist); returns its weights folder and a data folder holding mnist/."""
    torch.manual_seed(0)
    x = binarize(load_split(synthetic_data_dir, "train").tensor(), seed=1)
    vae = VAE(VAEConfig(latent_dim=1, hidden=(32,)))
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    for _ in range(150):
        loss = neg_elbo_loss(vae, x[torch.randint(len(x), (64,))])
        opt.zero_grad()
        loss.backward()
        opt.step()
    root = tmp_path_factory.mktemp("one-latent")
    store.save(vae, root / "weights" / "tiny-z1", {"dataset": "mnist"})
    (root / "data").mkdir()
    (root / "data" / "mnist").symlink_to(synthetic_data_dir)
    return root / "weights", root / "data"


@torch.inference_mode()
def brute_force_nll(vae: VAE, x: torch.Tensor) -> float:
    """-log p(x) = -log of the integral of p(x|z) N(z; 0, 1) over the one latent, by a Riemann sum
    over 20,001 points of [-10, 10]; nats per image."""
    z = torch.linspace(-10, 10, 20_001).unsqueeze(1)
    log_dz = math.log(20 / 20_000)
    log_pz = -0.5 * (z.squeeze(1).pow(2) + math.log(2 * math.pi))
    logits = vae.decode_logits(z)
    nll = [-(torch.logsumexp(-reconstruction_nll(logits, xi.expand_as(logits)) + log_pz, 0) + log_dz)
           for xi in x]
    return float(torch.stack(nll).mean())


def evaluate_cli(
    weights: Path, data: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    main(["tiny-z1", "--weights-dir", str(weights), "--data-dir", str(data), "--json", *extra])
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_binarized_iw_nll_matches_a_brute_force_integral(
    one_latent_model: tuple[Path, Path], synthetic_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights, data = one_latent_model
    r = evaluate_cli(weights, data, capsys, "--binarized", "--iw-samples", "5000", "--limit", "20")
    x = binarize(load_split(synthetic_data_dir, "test").tensor()[:20], seed=0)
    exact = brute_force_nll(store.load("tiny-z1", folder=weights), x)
    assert r["nll_iw"] == pytest.approx(exact, abs=0.05), (r, exact)
    assert r["nll_iw"] < r["neg_elbo"]
    assert (r["images"], r["iw_samples"], r["binarized"], r["seed"]) == (20, 5000, True, 0)


def test_binarization_is_fixed_by_its_seed(synthetic_data_dir: Path) -> None:
    x = load_split(synthetic_data_dir, "test").tensor()
    once, again, other = binarize(x, seed=0), binarize(x, seed=0), binarize(x, seed=1)
    assert set(once.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(once, again) and not torch.equal(once, other)
    assert once.mean().item() == pytest.approx(x.mean().item(), abs=0.01)  # E[Bernoulli(x)] = x


def test_iw_nll_in_chunks_estimates_what_it_does_in_one_go(trained_vae: VAE, x_test: torch.Tensor) -> None:
    def at(max_rows: int) -> float:  # 500 samples of 10 images: in one chunk, or in 72 chunks of 7
        return iw_nll(trained_vae, x_test[:10], k=500, generator=torch.Generator().manual_seed(0),
                      max_rows=max_rows)
    assert at(max_rows=10 * 500) == pytest.approx(at(max_rows=10 * 7), abs=0.3)  # other draws, same k


def test_record_writes_the_result_into_the_card(
    one_latent_model: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    weights, data = one_latent_model
    before = store.read_card("tiny-z1", weights)
    r = evaluate_cli(weights, data, capsys, "--binarized", "--iw-samples", "50", "--limit", "10", "--record")
    card = store.read_card("tiny-z1", weights)
    recorded = card.metrics["binarized_iw50"]
    assert recorded["nll_iw"] == r["nll_iw"] and (recorded["seed"], recorded["images"]) == (0, 10)
    want = "python -m model.evaluate tiny-z1 --iw-samples 50 --seed 0 --binarized --limit 10"
    assert recorded["command"] == want
    assert card.sha256 == before.sha256 and card.config == before.config  # the rest as it was
