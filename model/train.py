"""Train a VAE on MNIST or Fashion-MNIST: `python -m model.train --data mnist --latent-dim 10`.

Under `torchrun --nproc_per_node=N -m model.train ...` the same command trains with
DistributedDataParallel: each process takes batch-size / N images of every global batch, so the
batches, the learning-rate schedule and the losses are those of one process. Atomic checkpoints
(model/checkpoint.py) every `--checkpoint-every` steps and every epoch let `--resume`, or torchrun
restarting a killed process, continue where the run stopped. The end writes
`weights/<name>.safetensors`, `weights/<name>.json` (the card) and `weights/<name>.png` (loss plot).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler, TensorDataset
from tqdm import tqdm

from model import checkpoint, distributed, store
from model.card import ModelCard
from model.data import DataError
from model.distributed import World, world_from_env
from model.evaluate import evaluate, iw_nll
from model.folder import SIZES
from model.regularize import kl_weight, random_shifts, shift_images
from model.sources import TrainingData, factor_metrics, load_training_data, pixels
from model.vae import ACTIVATIONS, ARCHES, VAE, VAEConfig, iw_bound_loss, neg_elbo_loss, set_dropout


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", default="mnist",
                   help="mnist, fashion-mnist, or a folder of images (PNG, JPEG, GIF, BMP, WebP; one "
                        "subfolder per class, or none; train/ and test/ subfolders, or a seeded 10%% "
                        "held out)")
    p.add_argument("--data-dir", type=Path, help="folder with mnist's or fashion-mnist's IDX files "
                                                 "(default: a known location)")
    p.add_argument("--image-size", type=int, choices=SIZES, default=28,
                   help="a folder's images are resized on their shorter side and centre-cropped to this")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None,
                   help="1 (grey) or 3 (colour); default: taken from the data")
    p.add_argument("--beta", type=float, default=1.0,
                   help="weight of the KL term (beta-VAE; 1: the plain VAE)")
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--arch", choices=ARCHES, default="mlp")
    p.add_argument("--hidden", default="512,512", help="hidden layer widths, comma-separated")
    p.add_argument("--decoder-hidden", default="",
                   help="the decoder's hidden widths from z outwards, when not --hidden reversed")
    p.add_argument("--conv-channels", default="32,64", help="conv channels, comma-separated")
    p.add_argument("--activation", choices=ACTIVATIONS, default="elu",
                   help="hidden layers' nonlinearity; relu is fused into the layer before it when served")
    p.add_argument("--decoder-conv-channels", default="",
                   help="the decoder's conv channels, in --conv-channels' order, when not the same")
    p.add_argument("--flow-steps", type=int, default=0,
                   help="an inverse autoregressive flow of this many steps on the posterior (0: a Gaussian)")
    p.add_argument("--flow-hidden", type=int, default=256, help="the flow's context size and MADE width")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128,
                   help="the global batch: under torchrun each of N processes takes batch-size / N")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (warm-up, then cosine)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--iw-samples", type=int, default=100, help="k for the importance-weighted NLL")
    p.add_argument("--name", help="output name (default: <data>-z<latent-dim>)")
    p.add_argument("--out", type=Path, default=store.WEIGHTS_DIR, help="folder for the weights")
    p.add_argument("--checkpoint-dir", type=Path, default=Path("checkpoints"))
    p.add_argument("--resume", action="store_true",
                   help="continue from the last checkpoint (automatic when torchrun restarts a failed group)")
    p.add_argument("--checkpoint-every", type=int, default=200,
                   help="also checkpoint every this many steps within an epoch (0: at epoch ends only)")
    p.add_argument("--binarize", action="store_true",
                   help="train on fresh Bernoulli draws of each image every step (dynamic binarization: "
                        "the same expected loss, less overfitting); evaluation stays on the grey levels")
    p.add_argument("--iw-train", type=int, default=0,
                   help="train on the importance-weighted bound with K samples per image (IWAE; 0: the ELBO)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images (for tests)")
    reg = p.add_argument_group("regularizers (docs/training.md says what each gave)")
    reg.add_argument("--weight-decay", type=float, default=0.0,
                     help="decoupled weight decay (AdamW; 0: plain Adam, as before)")
    reg.add_argument("--dropout", type=float, default=0.0,
                     help="dropout probability on every hidden layer while training")
    reg.add_argument("--kl-warmup", type=float, default=0.0,
                     help="epochs over which the KL term's weight rises linearly to --beta")
    reg.add_argument("--shift", type=int, default=0,
                     help="move each training image by a random whole number of pixels up to this, "
                          "in x and y, every step")
    args = p.parse_args(argv)
    prefix = "fashion" if args.data.startswith("fashion") else Path(args.data).resolve().name
    args.name = args.name or f"{prefix}-z{args.latent_dim}"
    if args.beta <= 0 or (args.beta != 1 and args.iw_train):
        p.error("--beta must be positive, and 1 with --iw-train (the IWAE bound has no beta)")
    if args.iw_samples < 1:
        p.error("--iw-samples must be at least 1 (the test NLL is scored when training ends)")
    if args.flow_steps and args.latent_dim < 2:
        p.error("--flow-steps needs --latent-dim 2 or more")
    if args.iw_train and args.kl_warmup:
        p.error("--kl-warmup weighs the ELBO's KL term, which --iw-train's bound does not have")
    if not 0 <= args.dropout < 1 or args.weight_decay < 0 or args.kl_warmup < 0 or args.shift < 0:
        p.error("--dropout must be in [0, 1); --weight-decay, --kl-warmup and --shift must not be negative")
    return args


def ints(s: str) -> tuple[int, ...]:
    return tuple(int(v) for v in s.split(",") if v.strip())


REGULARIZERS = ("weight_decay", "dropout", "kl_warmup", "shift")  # each off at 0


def regularizers(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in REGULARIZERS}


def reproduce_command(args: argparse.Namespace, world_size: int = 1) -> str:
    keep = ["data", "latent_dim", "arch", "hidden", "conv_channels", "epochs", "batch_size", "lr", "seed",
            "iw_samples", "name"]
    launcher = ["torchrun", f"--nproc_per_node={world_size}"] if world_size > 1 else ["python"]
    parts = [*launcher, "-m", "model.train"]
    for k in keep:
        parts += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
    if args.data_dir:
        parts += ["--data-dir", str(args.data_dir)]
    if args.decoder_hidden:
        parts += ["--decoder-hidden", args.decoder_hidden]
    if args.decoder_conv_channels:
        parts += ["--decoder-conv-channels", args.decoder_conv_channels]
    if args.flow_steps:
        parts += ["--flow-steps", str(args.flow_steps), "--flow-hidden", str(args.flow_hidden)]
    if args.activation != "elu":
        parts += ["--activation", args.activation]
    if args.image_size != 28:
        parts += ["--image-size", str(args.image_size)]
    if args.channels:
        parts += ["--channels", str(args.channels)]
    if args.beta != 1:
        parts += ["--beta", f"{args.beta:g}"]
    if args.binarize:
        parts.append("--binarize")
    if args.iw_train:
        parts += ["--iw-train", str(args.iw_train)]
    for flag in REGULARIZERS:
        if getattr(args, flag):
            parts += [f"--{flag.replace('_', '-')}", f"{getattr(args, flag):g}"]
    if args.limit:
        parts += ["--limit", str(args.limit)]
    return shlex.join(parts)


def schedule_of(args: argparse.Namespace) -> dict[str, Any]:
    """What a resumed run must share with the run it continues, besides the network's config."""
    return {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "binarize": args.binarize, "iw_train": args.iw_train, "limit": args.limit, "beta": args.beta,
            **regularizers(args)}


def lr_lambda(total_steps: int, warmup: int):  # type: ignore[no-untyped-def]
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total_steps - warmup))))
    return f


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


class Draws(NamedTuple):
    u: torch.Tensor | None  # binarization uniforms
    eps: torch.Tensor  # (n, d), or (K, n, d) for the IWAE bound
    shifts: tuple[torch.Tensor, torch.Tensor] | None  # (dy, dx)


def draws(step: int, n: int, world: World, args: argparse.Namespace, x_shape: torch.Size,
          latent_dim: int, device: torch.device) -> Draws:
    """This process's share of a step's random numbers: binarization uniforms, eps, and shifts.

    They are drawn for the whole global batch of n images from a generator seeded by (seed, step),
    and each process keeps the rows of its own images, which DistributedSampler interleaves (rank r
    holds images r, r + N, ... of every global batch): so any number of processes, or a run resumed
    mid-epoch, sees the same numbers as one uninterrupted process.
    """
    g = torch.Generator(device).manual_seed(args.seed * 2**32 + step)
    mine = slice(world.rank, None, world.size)
    u = torch.rand(n, *x_shape, generator=g, device=device)[mine] if args.binarize else None
    eps = torch.randn(max(1, args.iw_train), n, latent_dim, generator=g, device=device)[:, mine]
    # drawn last, so that runs without shifts keep their numbers
    shifts = random_shifts(n, args.shift, g, device) if args.shift else None
    return Draws(u, eps if args.iw_train else eps[0],
                 (shifts[0][mine], shifts[1][mine]) if shifts is not None else None)


def optimize(model: nn.Module, opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler,
             xb: torch.Tensor, eps: torch.Tensor, *, iw: bool, beta: float = 1.0) -> float:
    """One step on a batch; returns its loss. Under DDP, backward averages the gradients over the
    processes: the global batch's mean."""
    loss = iw_bound_loss(model, xb, eps) if iw else neg_elbo_loss(model, xb, eps, beta=beta)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    return loss.item()


def train(args: argparse.Namespace) -> ModelCard | None:
    """Train; returns the card on rank 0 (the one process that writes it), None on the others."""
    world = world_from_env()
    if args.batch_size % world.size:
        sys.exit(f"error: --batch-size {args.batch_size} is the global batch, split evenly over the "
                 f"{world.size} processes; pick a multiple of {world.size}")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = distributed.join(world, store.pick_device(args.device))
    try:
        card = run(args, world, device)
        distributed.barrier()  # the others wait for rank 0's last words, then all leave together
        return card
    finally:
        distributed.leave()


def run(args: argparse.Namespace, world: World, device: torch.device) -> ModelCard | None:
    data = load_training_data(args.data, data_dir=args.data_dir, image_size=args.image_size,
                              channels=args.channels, cache_dir=args.checkpoint_dir / "data", seed=args.seed)
    train_x, test_x = data.train, data.test  # uint8 (a mapped file for a folder), float
    if args.limit:
        train_x, test_x = train_x[: args.limit], test_x[: max(1, args.limit // 6)]
    if data.in_memory:
        train_x = train_x.to(device)

    config = VAEConfig(latent_dim=args.latent_dim, arch=args.arch, hidden=ints(args.hidden),
                       channels=ints(args.conv_channels), decoder_hidden=ints(args.decoder_hidden) or None,
                       decoder_channels=ints(args.decoder_conv_channels) or None,
                       image_size=data.image_size, image_channels=data.channels,
                       flow_steps=args.flow_steps, flow_hidden=args.flow_hidden, activation=args.activation)
    torch.manual_seed(args.seed)
    vae = VAE(config).to(device)
    set_dropout(vae, args.dropout)
    opt = (torch.optim.AdamW(vae.parameters(), lr=args.lr, weight_decay=args.weight_decay)
           if args.weight_decay else torch.optim.Adam(vae.parameters(), lr=args.lr))
    steps_per_epoch = math.ceil(len(train_x) / args.batch_size)  # the same for any number of processes
    warmup_steps = round(args.kl_warmup * steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_lambda(args.epochs * steps_per_epoch, warmup=min(steps_per_epoch, 500)))
    # shuffled by (seed * 100_003 + epoch) alone, as one process always was: a resumed run sees the same order
    sampler: DistributedSampler[tuple[torch.Tensor, ...]] = DistributedSampler(
        TensorDataset(train_x), num_replicas=world.size, rank=world.rank, seed=args.seed * 100_003)
    ckpt = checkpoint.path_of(args.checkpoint_dir, args.name)
    schedule = schedule_of(args)
    history: dict[str, list[float]] = {"train": [], "test": []}
    step, seconds, train_sum = 0, 0.0, 0.0
    resume = args.resume or world.restarts > 0  # torchrun restarts a failed group with the same command
    state = distributed.from_main(checkpoint.read(ckpt) if resume and world.main else None)
    if world.main:
        checkpoint.remove_stale(ckpt)
    if state is not None:
        refused = checkpoint.refusal(ckpt, state, config.to_dict(), schedule, world.size, len(train_x))
        if refused:
            sys.exit(f"error: {refused}" if world.main else 1)
        checkpoint.restore(state, vae, opt, sched, device)
        history, seconds = state["history"], state["seconds"]
        step = state.get("step", state["epoch"] * steps_per_epoch)
        train_sum = state["train_sum"] if world.main else 0.0  # the epoch's loss so far, summed over ranks
        if world.main:
            print(f"resuming {args.name} after epoch {state['epoch']} (step {step})", file=sys.stderr)
    model = vae if not world.launched else DDP(vae, device_ids=[device] if device.type == "cuda" else None)

    def save(epoch: int, partial: float) -> None:
        if world.main:
            checkpoint.save(ckpt, {
                **checkpoint.capture(vae, opt, sched, device), "history": history, "epoch": epoch,
                "step": step, "train_sum": partial, "seconds": seconds, "world_size": world.size,
                "config": config.to_dict(), "schedule": schedule})

    for epoch in range(step // steps_per_epoch, args.epochs):
        t0 = time.perf_counter()
        vae.train()
        sampler.set_epoch(epoch)
        batches = torch.tensor(list(sampler)).split(args.batch_size // world.size)
        done = step - epoch * steps_per_epoch  # > 0 when resuming mid-epoch
        running, total = 0.0, train_sum
        bar = tqdm(batches[done:], desc=f"{args.name} {epoch + 1}/{args.epochs}", initial=done,
                   total=len(batches), leave=False, mininterval=1.0, file=sys.stderr, disable=not world.main)
        for idx in bar:
            xb = pixels(train_x[idx.to(train_x.device)].to(device))
            d = draws(step, len(idx) * world.size, world, args, xb.shape[1:], config.latent_dim, device)
            xb = shift_images(xb, *d.shifts) if d.shifts is not None else xb
            xb = (d.u < xb).to(xb.dtype) if d.u is not None else xb  # a fresh Bernoulli(x) draw
            value = optimize(model, opt, sched, xb, d.eps, iw=args.iw_train > 0,
                             beta=args.beta * kl_weight(step, warmup_steps))
            step += 1
            running = 0.98 * running + 0.02 * value if running else value
            total += value * len(idx)
            bar.set_postfix(loss=f"{running:.2f}", refresh=False)  # refresh=True ignores mininterval
            if args.checkpoint_every and step % args.checkpoint_every == 0 and step % steps_per_epoch:
                (partial,) = distributed.all_sum([total], device)  # every process takes part
                seconds, t0 = seconds + time.perf_counter() - t0, time.perf_counter()
                save(epoch, partial)
        (epoch_sum,) = distributed.all_sum([total], device)
        train_sum = 0.0
        history["train"].append(epoch_sum / len(train_x))
        if world.main:
            vae.eval()
            test = evaluate(vae, test_x)
            history["test"].append(test.neg_elbo)
        seconds += time.perf_counter() - t0
        if world.main:
            print(f"{args.name} epoch {epoch + 1}/{args.epochs}: train {history['train'][-1]:.2f} "
                  f"test {history['test'][-1]:.2f} nats/image ({seconds:.0f} s)", file=sys.stderr, flush=True)
        save(epoch + 1, 0.0)
    return finish(args, world, vae, test_x, history, seconds, len(train_x), data) if world.main else None


def finish(args: argparse.Namespace, world: World, vae: VAE, test_x: torch.Tensor,
           history: dict[str, list[float]], seconds: float, train_images: int,
           data: TrainingData) -> ModelCard:
    """Rank 0's last words: the test metrics, the weights, the card and the loss plot."""
    vae.eval()
    test = evaluate(vae, test_x)
    nll = iw_nll(vae, test_x, k=args.iw_samples)
    fields = {
        **data.card, "beta": args.beta, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
        "seed": args.seed, "seconds": round(seconds, 1), "device": str(vae.device), "world_size": world.size,
        "binarize": args.binarize, "iw_train": args.iw_train, **regularizers(args),
        "torch_version": torch.__version__, "train_images": train_images, "test_images": len(test_x),
        "metrics": {
            "test_neg_elbo": round(test.neg_elbo, 3), "test_reconstruction": round(test.reconstruction, 3),
            "test_kl": round(test.kl, 3), "test_nll_iw": round(nll, 3), "iw_samples": args.iw_samples,
            "kl_per_dim": [round(v, 4) for v in test.kl_per_dim],
            "history": {k: [round(v, 3) for v in vs] for k, vs in history.items()},
        },
        "command": reproduce_command(args, world.size),
    }
    measured = factor_metrics(vae, data)
    if measured is not None:
        fields["factors"] = measured
        names = ", ".join(measured["factors"])
        print(f"{args.name}: MIG {measured['mig']} over factors {names}", file=sys.stderr)
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
        sys.exit(f"error: {e}" if world_from_env().main else 1)  # said once, by rank 0


if __name__ == "__main__":
    main()
