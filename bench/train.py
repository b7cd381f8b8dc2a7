"""Training throughput on this machine, images per second, side by side:

- `python -m model.train` in 1 process with 2 torch threads;
- `torchrun --nproc_per_node=2 -m model.train` with 1 thread per process (DDP over gloo);
- the reference: pytorch/examples' `vae/main.py` (784-400-20, ReLU, Adam 1e-3, batch 128), written
  out below, in 1 process with 2 threads;

all at the reference's size (`--hidden 400 --latent-dim 20`) and batch 128, on the same MNIST
training images.

    .venv/bin/python bench/train.py [--data-dir DIR] [--images 60000] [--repeats 3]

`--images` below 60,000 times a fraction of an epoch. Our runs are timed as the card's `seconds`
(the epoch plus its test-set evaluation, which in our trainer is the first 1/6 as many test images),
so the reference is timed over the same: one epoch and a pass over as many test images. Medians
over repeats that run in turn (ours, torchrun, reference, ours, ...), so load on the machine
falls on all three alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.data import DataError, default_folder, load_split  # noqa: E402

BATCH = 128
OURS = ["--data", "mnist", "--hidden", "400", "--latent-dim", "20", "--batch-size", str(BATCH),
        "--epochs", "1", "--iw-samples", "1", "--checkpoint-every", "0", "--name", "bench"]


class ReferenceVAE(nn.Module):
    """pytorch/examples vae/main.py's model, as written there (sizes and all)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def reference_loss(
    recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    bce = F.binary_cross_entropy(recon, x.view(-1, 784), reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def reference_seconds(train_x: torch.Tensor, test_x: torch.Tensor) -> float:
    """pytorch/examples' train() for one epoch and its test(), on tensors in memory, 2 threads."""
    torch.set_num_threads(2)
    torch.manual_seed(1)
    model = ReferenceVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    model.train()
    for idx in torch.randperm(len(train_x)).split(BATCH):
        data = train_x[idx]
        opt.zero_grad()
        recon, mu, logvar = model(data)
        reference_loss(recon, data, mu, logvar).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        for data in test_x.split(BATCH):
            recon, mu, logvar = model(data)
            reference_loss(recon, data, mu, logvar)
    return time.perf_counter() - t0


def our_seconds(launcher: list[str], threads: int, data_dir: Path, images: int, run_dir: Path) -> float:
    """The card's `seconds` of one epoch of model.train over the first `images` training images."""
    cmd = [*launcher, *OURS, "--threads", str(threads), "--data-dir", str(data_dir), "--limit", str(images),
           "--out", str(run_dir), "--checkpoint-dir", str(run_dir / "checkpoints")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return float(json.loads((run_dir / "bench.json").read_text())["seconds"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path,
                   help="the MNIST IDX files (default: $VAE_DATA_DIR/mnist, else data/mnist)")
    p.add_argument("--images", type=int, default=60_000, help="training images per run (60,000: an epoch)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    data_dir = args.data_dir or default_folder("mnist")
    if data_dir is None:
        raise DataError("no MNIST found; pass --data-dir or set VAE_DATA_DIR")
    train_x = load_split(data_dir, "train").tensor()[: args.images]
    test_x = load_split(data_dir, "test").tensor()[: max(1, args.images // 6)]
    python = [sys.executable, "-m", "model.train"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                "-m", "model.train"]
    names = ["ours, 1 process x 2 threads", "ours, torchrun 2 processes x 1 thread",
             "pytorch/examples VAE, 1 process x 2 threads"]
    runs: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            runs[names[0]].append(our_seconds(python, 2, data_dir, len(train_x), Path(tmp) / f"a{r}"))
            runs[names[1]].append(our_seconds(torchrun, 1, data_dir, len(train_x), Path(tmp) / f"b{r}"))
            runs[names[2]].append(reference_seconds(train_x, test_x))
            print(f"repeat {r + 1}/{args.repeats}: " + ", ".join(f"{v[-1]:.1f} s" for v in runs.values()),
                  file=sys.stderr)
    reference = len(train_x) / statistics.median(runs[names[2]])
    print(f"{len(train_x)} training images ({len(train_x) / 60_000:.2f} epoch) + {len(test_x)} test images, "
          f"784-400-20, batch {BATCH}, median of {args.repeats}:")
    for name, seconds in runs.items():
        rate = len(train_x) / statistics.median(seconds)
        print(f"  {name:45s} {rate:8.0f} images/s   x{rate / reference:.2f} the reference")


if __name__ == "__main__":
    main()
