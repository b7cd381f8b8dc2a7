"""Train a VAE on MNIST or Fashion-MNIST: `python -m model.train --data mnist --latent-dim 10`.

Every epoch writes an atomic checkpoint (model, optimizer, schedule, RNG, history); `--resume`
picks up after the last finished epoch, even after `kill -9`. The end writes
`weights/<name>.safetensors`, `weights/<name>.json` (the card) and `weights/<name>.png` (loss plot).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model import store
from model.card import ModelCard
from model.data import DataError, default_folder, load_split
from model.evaluate import evaluate, iw_nll
from model.vae import ARCHES, VAE, VAEConfig, neg_elbo_loss


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", default="mnist", help="data set name, stored in the card (mnist, fashion-mnist)")
    p.add_argument("--data-dir", type=Path, help="folder with the IDX files (default: a known location)")
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--arch", choices=ARCHES, default="mlp")
    p.add_argument("--hidden", default="512,512", help="hidden layer widths, comma-separated")
    p.add_argument("--decoder-hidden", default="",
                   help="the decoder's hidden widths from z outwards, when not --hidden reversed")
    p.add_argument("--channels", default="32,64", help="conv channels, comma-separated")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (warm-up, then cosine)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--iw-samples", type=int, default=100, help="k for the importance-weighted NLL")
    p.add_argument("--name", help="output name (default: <data>-z<latent-dim>)")
    p.add_argument("--out", type=Path, default=store.WEIGHTS_DIR, help="folder for the weights")
    p.add_argument("--checkpoint-dir", type=Path, default=Path("checkpoints"))
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--binarize", action="store_true",
                   help="train on fresh Bernoulli draws of each image every step (dynamic binarization: "
                        "the same expected loss, less overfitting); evaluation stays on the grey levels")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images (for tests)")
    args = p.parse_args(argv)
    prefix = "fashion" if args.data.startswith("fashion") else args.data
    args.name = args.name or f"{prefix}-z{args.latent_dim}"
    return args


def ints(s: str) -> tuple[int, ...]:
    return tuple(int(v) for v in s.split(",") if v.strip())


def reproduce_command(args: argparse.Namespace) -> str:
    keep = ["data", "latent_dim", "arch", "hidden", "channels", "epochs", "batch_size", "lr", "seed",
            "iw_samples", "name"]
    parts = ["python", "-m", "model.train"]
    for k in keep:
        parts += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
    if args.data_dir:
        parts += ["--data-dir", str(args.data_dir)]
    if args.decoder_hidden:
        parts += ["--decoder-hidden", args.decoder_hidden]
    if args.binarize:
        parts.append("--binarize")
    if args.limit:
        parts += ["--limit", str(args.limit)]
    return shlex.join(parts)


def schedule_of(args: argparse.Namespace) -> dict[str, Any]:
    """What a resumed run must share with the run it continues, besides the network's config."""
    return {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "binarize": args.binarize, "limit": args.limit}


def lr_lambda(total_steps: int, warmup: int):  # type: ignore[no-untyped-def]
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total_steps - warmup))))
    return f


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    store.atomic_write(path, lambda p: torch.save(state, p))


def plot_history(history: dict[str, list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    epochs = range(1, len(history["train"]) + 1)
    ax.plot(epochs, history["train"], label="train")
    ax.plot(epochs, history["test"], label="test")
    ax.set(xlabel="epoch", ylabel="negative ELBO (nats / image)", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    store.atomic_write(path, lambda p: fig.savefig(p, format="png"))
    plt.close(fig)


def train(args: argparse.Namespace) -> ModelCard:
    if args.threads:
        torch.set_num_threads(args.threads)
    device = store.pick_device(args.device)
    folder = args.data_dir or default_folder(args.data)
    if folder is None:
        raise DataError(f"no data folder for {args.data!r} found; pass --data-dir")
    train_x, test_x = load_split(folder, "train").tensor(), load_split(folder, "test").tensor()
    if args.limit:
        train_x, test_x = train_x[: args.limit], test_x[: max(1, args.limit // 6)]
    train_x = train_x.to(device)

    config = VAEConfig(latent_dim=args.latent_dim, arch=args.arch, hidden=ints(args.hidden),
                       channels=ints(args.channels), decoder_hidden=ints(args.decoder_hidden) or None)
    torch.manual_seed(args.seed)
    vae = VAE(config).to(device)
    opt = torch.optim.Adam(vae.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(train_x) / args.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_lambda(args.epochs * steps_per_epoch, warmup=min(steps_per_epoch, 500)))
    ckpt = args.checkpoint_dir / args.name / "last.pt"
    for stale in ckpt.parent.glob(f".{ckpt.name}.*.tmp"):  # a write cut short by a kill
        stale.unlink()
    schedule = schedule_of(args)
    history: dict[str, list[float]] = {"train": [], "test": []}
    start_epoch, seconds = 0, 0.0
    if args.resume and ckpt.is_file():
        # on CPU: torch.set_rng_state takes only a CPU tensor; load_state_dict moves the rest
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["config"] != config.to_dict():
            sys.exit(f"error: {ckpt} was made with config {state['config']}, not {config.to_dict()}; "
                     "pass the same options, or another --name")
        if state.get("schedule", schedule) != schedule:  # checkpoints before this check have none
            changed = ", ".join(f"--{k.replace('_', '-')} {state['schedule'][k]} (now {v})"
                                for k, v in schedule.items() if state["schedule"].get(k) != v)
            sys.exit(f"error: {ckpt} was trained with {changed}: resuming with other values would "
                     "change the learning-rate schedule or the data mid-run; pass the same values, "
                     "or start another --name")
        vae.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        history, start_epoch, seconds = state["history"], state["epoch"], state["seconds"]
        print(f"resuming {args.name} after epoch {start_epoch}", file=sys.stderr)

    for epoch in range(start_epoch, args.epochs):
        t0 = time.perf_counter()
        vae.train()
        # the order depends on (seed, epoch) only, so a resumed run sees the same batches
        g = torch.Generator().manual_seed(args.seed * 100_003 + epoch)
        perm = torch.randperm(len(train_x), generator=g).to(device)
        running, total = 0.0, 0.0
        bar = tqdm(perm.split(args.batch_size), desc=f"{args.name} {epoch + 1}/{args.epochs}",
                   leave=False, mininterval=1.0, file=sys.stderr)
        for i, idx in enumerate(bar):
            xb = train_x[idx]
            # BCE is linear in its target, so E[BCE(p, Bernoulli(x))] = BCE(p, x): same objective
            xb = torch.bernoulli(xb) if args.binarize else xb
            loss = neg_elbo_loss(vae, xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running = loss.item() if i == 0 else 0.98 * running + 0.02 * loss.item()
            total += loss.item() * len(idx)
            bar.set_postfix(loss=f"{running:.2f}", refresh=False)  # refresh=True ignores mininterval
        vae.eval()
        test = evaluate(vae, test_x)
        seconds += time.perf_counter() - t0
        history["train"].append(total / len(train_x))
        history["test"].append(test.neg_elbo)
        print(f"{args.name} epoch {epoch + 1}/{args.epochs}: train {history['train'][-1]:.2f} "
              f"test {test.neg_elbo:.2f} nats/image ({seconds:.0f} s)", file=sys.stderr, flush=True)
        save_checkpoint(ckpt, {
            "model": vae.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "rng": torch.get_rng_state(), "history": history, "epoch": epoch + 1, "seconds": seconds,
            "config": config.to_dict(), "schedule": schedule,
            **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {}),
        })

    vae.eval()
    test = evaluate(vae, test_x)
    nll = iw_nll(vae, test_x, k=args.iw_samples)
    fields = {
        "dataset": args.data, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
        "seed": args.seed, "seconds": round(seconds, 1), "device": str(device),
        "torch_version": torch.__version__, "train_images": len(train_x), "test_images": len(test_x),
        "metrics": {
            "test_neg_elbo": round(test.neg_elbo, 3), "test_reconstruction": round(test.reconstruction, 3),
            "test_kl": round(test.kl, 3), "test_nll_iw": round(nll, 3), "iw_samples": args.iw_samples,
            "kl_per_dim": [round(v, 4) for v in test.kl_per_dim],
            "history": {k: [round(v, 3) for v in vs] for k, vs in history.items()},
        },
        "command": reproduce_command(args),
    }
    card = store.save(vae.cpu(), args.out / args.name, fields)
    plot_history(history, args.out / f"{args.name}.png", f"{args.name} ({args.data})")
    print(f"{args.name}: test negative ELBO {test.neg_elbo:.2f}, IW NLL (k={args.iw_samples}) "
          f"{nll:.2f} nats/image; wrote {args.out / args.name}.safetensors", file=sys.stderr)
    return card


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        train(args)
    except DataError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
