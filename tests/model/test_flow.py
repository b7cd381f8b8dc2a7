"""The inverse autoregressive flow: autoregressive steps, a log-density that follows the change of
variables, and a flow model that saves, loads, exports and trains like any other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch.autograd.functional import jacobian

from model import store
from model.export import ENCODER_SUFFIX, export
from model.flow import IAFStep
from model.vae import LOG_2PI, VAE, VAEConfig, iw_bound_loss, neg_elbo_loss

CONFIG = VAEConfig(latent_dim=4, hidden=(32,), flow_steps=2, flow_hidden=16)


def busy(module: torch.nn.Module) -> torch.nn.Module:
    """Weights far from the near-identity start, so that every test sees a real flow."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.5)
    return module


@pytest.mark.parametrize("reverse", [False, True])
def test_a_step_is_autoregressive_with_diagonal_sigma(reverse: bool) -> None:
    step = busy(IAFStep(4, 3, 16, reverse=reverse))
    z, h = torch.randn(4), torch.randn(3)
    jac = jacobian(lambda v: step(v, h)[0], z)
    order = torch.arange(3, -1, -1) if reverse else torch.arange(4)  # the order the step reads z in
    in_order = jac[order][:, order]
    assert torch.allclose(in_order.triu(1), torch.zeros(4, 4))  # no output sees itself or a later one
    assert not torch.allclose(in_order.tril(-1), torch.zeros(4, 4))  # but it sees the earlier ones
    _, log_sigma = step(z, h)
    assert torch.allclose(jac.diagonal(), log_sigma.exp(), atol=1e-6)


def test_log_q_follows_the_change_of_variables() -> None:
    vae = busy(VAE(CONFIG)).eval()
    x = torch.rand(1, 1, 28, 28)
    eps = torch.randn(1, 4)
    out = vae.posterior(x, eps)
    mu, logvar, context = vae._gaussian(x)
    z0 = mu + (0.5 * logvar).exp() * eps
    assert vae.flow is not None
    jac = jacobian(lambda v: vae.flow(v, context)[0], z0)[0, :, 0]  # (4, 4)
    gaussian = (-0.5 * (LOG_2PI + logvar + eps.pow(2))).sum()
    want = gaussian - torch.linalg.slogdet(jac).logabsdet
    assert out.log_q.item() == pytest.approx(want.item(), abs=1e-4)
    assert torch.allclose(out.kl_dims.sum(), out.log_q + 0.5 * (LOG_2PI + out.z.pow(2)).sum())


def test_encode_gives_the_flow_of_the_mean() -> None:
    vae = busy(VAE(CONFIG)).eval()
    x = torch.rand(5, 1, 28, 28)
    centre, logvar = vae.encode(x)
    out = vae.posterior(x, torch.zeros(5, 4))
    assert torch.allclose(centre, out.z) and centre.shape == logvar.shape == (5, 4)
    decoded = vae.reconstruct(x)[2]
    assert torch.allclose(decoded, vae.decode(centre))


def test_the_iw_bound_with_a_flow_tightens_and_one_sample_is_the_elbo() -> None:
    vae = busy(VAE(CONFIG)).eval()
    x = (torch.rand(16, 1, 28, 28) > 0.7).float()
    torch.manual_seed(1)
    with torch.no_grad():
        eps = torch.randn(1, 16, 4)
        one = iw_bound_loss(vae, x, eps).item()
        assert one == pytest.approx(neg_elbo_loss(vae, x, eps[0]).item(), rel=1e-5)
        k1 = torch.stack([iw_bound_loss(vae, x, torch.randn(1, 16, 4)) for _ in range(30)]).mean()
        k50 = iw_bound_loss(vae, x, torch.randn(50, 16, 4))
    assert k50 < k1


def test_a_flow_model_saves_loads_and_exports_its_encoder(tmp_path: Path) -> None:
    vae = busy(VAE(CONFIG)).eval()
    card = store.save(vae, tmp_path / "flowy", {"dataset": "mnist"})
    assert card.network == CONFIG
    loaded = store.load(tmp_path / "flowy")
    x = torch.rand(6, 1, 28, 28)
    with torch.no_grad():
        want = vae.encode(x)
        got = loaded.encode(x)
    assert all(torch.equal(a, b) for a, b in zip(want, got, strict=True))
    export(str(tmp_path / "flowy"), name="flowy-onnx", out=tmp_path / "onnx", weights=tmp_path)
    encoder = ort.InferenceSession(str(tmp_path / "onnx" / f"flowy-onnx{ENCODER_SUFFIX}"))
    mu, logvar = encoder.run(["mu", "logvar"], {"x": x.numpy()})
    np.testing.assert_allclose(mu, want[0].numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(logvar, want[1].numpy(), rtol=1e-4, atol=1e-4)


def test_a_model_without_a_flow_keeps_its_config_and_weights_as_before() -> None:
    plain = VAEConfig(latent_dim=4, hidden=(32,))
    assert "flow_steps" not in plain.to_dict() and VAE(plain).flow is None
    assert not any(k.startswith("flow") for k in VAE(plain).state_dict())
