"""Test-set metrics: negative ELBO, importance-weighted NLL, KL per latent dimension.

`python -m model.evaluate NAME [--binarized] [--iw-samples 5000]` reports them for a model in the
weights folder on its data set's test images. `--binarized` first draws each pixel once from
Bernoulli(grey level) with a fixed seed (stochastic binarization, as the literature's binarized
MNIST figures use), so its NLL compares with published ones, e.g. the IWAE paper's 86.76 nats.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from model import store
from model.card import CardError
from model.data import DATA_ENV, TITLES, DataError, find_test_split
from model.vae import VAE, log_weights, reconstruction_nll


@dataclass(frozen=True)
class Metrics:
    neg_elbo: float  # nats per image
    reconstruction: float
    kl: float
    kl_per_dim: list[float]


@torch.inference_mode()
def evaluate(vae: VAE, x: torch.Tensor, *, batch_size: int = 1000) -> Metrics:
    """One-sample ELBO over x (N, C, H, W); reconstruction is a single draw, and the KL is exact for a
    Gaussian posterior, a one-sample estimate with a flow."""
    rec_sum, kl_dims = 0.0, torch.zeros(vae.latent_dim)
    for xb in x.split(batch_size):
        xb = xb.to(vae.device)
        out = vae(xb)
        rec_sum += reconstruction_nll(out.logits, xb).sum().item()
        kl_dims += out.kl_dims.sum(0).cpu()
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
        chunk = max(1, max_rows // n)
        lw = []
        for start in range(0, k, chunk):
            eps = torch.randn(min(chunk, k - start), n, vae.latent_dim, device=xb.device, generator=generator)
            out = vae(xb, eps)  # z (c, n, d)
            lw.append(log_weights(out.logits, xb, out.z, out.log_q))  # (c, n)
        total += -(torch.logsumexp(torch.cat(lw), 0) - math.log(k)).sum().item()
    return total / len(x)


def binarize(x: torch.Tensor, *, seed: int) -> torch.Tensor:
    """One Bernoulli draw of every pixel, x in [0, 1]: the same images for the same seed."""
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(seed))
    return (u < x).to(x.dtype)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("name", help="a model in the weights folder, or a path to its .json / .safetensors")
    p.add_argument("--binarized", action="store_true",
                   help="evaluate on a stochastic binarization of the test images (fixed --seed)")
    p.add_argument("--iw-samples", type=int, default=5000, help="k, importance samples per image")
    p.add_argument("--seed", type=int, default=0, help="seed of the binarization and of the samples")
    p.add_argument("--limit", type=int, default=0, help="only the first N test images (0: all)")
    p.add_argument("--weights-dir", type=Path, default=None, help="default: $VAE_WEIGHTS_DIR or weights/")
    p.add_argument("--data-dir", type=Path, help=f"holds mnist/, fashion-mnist/ (default: ${DATA_ENV})")
    p.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--record", action="store_true",
                   help="also write the result into the model's card, as metrics.<binarized_>iw<k>")
    return p.parse_args(argv)


def report(args: argparse.Namespace) -> dict[str, object]:
    card = store.read_card(args.name, args.weights_dir)
    vae = store.load(args.name, store.pick_device(args.device), folder=args.weights_dir)
    x = find_test_split(card.dataset or "", args.data_dir).tensor()
    x = x[: args.limit] if args.limit else x
    if args.binarized:
        x = binarize(x, seed=args.seed)
    torch.manual_seed(args.seed)  # the ELBO's one draw per image
    elbo = evaluate(vae, x)
    noise = torch.Generator(vae.device).manual_seed(args.seed)
    # in parts of 1,000 images for the progress bar (k = 5000 on 10,000 images takes a while); the
    # generator runs on from part to part, so the draws are those of one call over all of x
    parts = tqdm(x.split(1000), desc=f"{card.name} IW NLL, k={args.iw_samples}", unit="k images",
                 leave=False, file=sys.stderr, disable=len(x) <= 1000)
    nll = sum(iw_nll(vae, part, k=args.iw_samples, generator=noise) * len(part) for part in parts) / len(x)
    return {"name": card.name, "dataset": card.dataset, "binarized": args.binarized, "seed": args.seed,
            "images": len(x), "iw_samples": args.iw_samples, "nll_iw": round(nll, 3),
            "neg_elbo": round(elbo.neg_elbo, 3)}


def record_key(r: dict[str, object]) -> str:
    """Where `--record` puts a result in the card's metrics: `iw5000`, `binarized_iw5000`, ..."""
    return f"{'binarized_' if r['binarized'] else ''}iw{r['iw_samples']}"


def command(args: argparse.Namespace, name: str) -> str:
    """The command that reproduces a result (the data and weights found as by default)."""
    parts = ["python", "-m", "model.evaluate", name, "--iw-samples", str(args.iw_samples),
             "--seed", str(args.seed)]
    if args.binarized:
        parts.append("--binarized")
    if args.limit:
        parts += ["--limit", str(args.limit)]
    return shlex.join(parts)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        r = report(args)
    except (DataError, FileNotFoundError, CardError) as e:
        sys.exit(f"error: {e}")
    if args.record:
        result = {**r, "command": command(args, str(r["name"]))}
        store.record_metric(args.name, record_key(r), result, args.weights_dir)
    if args.json:
        print(json.dumps(r))
        return
    data = ("binarized " if r["binarized"] else "") + TITLES.get(str(r["dataset"]), str(r["dataset"]))
    seed = f"binarization and sampling seed {r['seed']}" if r["binarized"] else f"sampling seed {r['seed']}"
    print(f"{r['name']} on {r['images']} {data} test images ({seed}): importance-weighted NLL "
          f"{r['nll_iw']:.2f} nats/image (k={r['iw_samples']}), negative ELBO {r['neg_elbo']:.2f}")


if __name__ == "__main__":
    main()
