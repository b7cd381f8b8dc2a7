"""In-process decode time, ONNX Runtime against torch, for the shipped models: is it worth serving
native models through onnxruntime too? (issue 14; docs/performance.md#onnx-against-native)

    .venv/bin/python bench/onnx_decode.py [--repeats 7]

Each shipped model is exported by model/export.py to a temporary folder and loaded as the server
loads it (model/onnx_vae.py, one thread, as VAE_TORCH_THREADS=1); the native one is the server's
too (model/inference.py's rewrite). Batches of 1, 16 and 400 codes (a lone /decode, a batch of
concurrent ones, a 20x20 grid) are decoded alternately by each, and the median time of each is printed
with the ONNX/native ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("mnist-z2", "mnist-z10", "fashion-z2", "fashion-z10")


def median_us(fn, z, n: int) -> float:  # type: ignore[no-untyped-def]
    fn(z)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(z)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import torch

    from model import store
    from model.card import read as read_card
    from model.export import export
    from model.inference import for_inference
    from model.onnx_vae import load

    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--repeats", type=int, default=7, help="alternations per batch size")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'model':12} {'batch':>5} {'native us':>10} {'onnx us':>10} {'onnx/native':>11}")
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        for name in MODELS:
            export(name, name=name, out=Path(tmp), weights=ROOT / "weights")
            onnx = load(Path(tmp) / name, read_card(Path(tmp) / f"{name}.json"))
            native = for_inference(store.load(name, folder=ROOT / "weights"))
            for batch in (1, 16, 400):
                z = torch.randn(batch, onnx.latent_dim)
                n = 200 if batch < 400 else 20
                runs: dict[str, list[float]] = {"native": [], "onnx": []}
                for _ in range(args.repeats):
                    runs["native"].append(median_us(native.decode, z, n))
                    runs["onnx"].append(median_us(onnx.decode, z, n))
                a, b = statistics.median(runs["native"]), statistics.median(runs["onnx"])
                print(f"{name:12} {batch:>5} {a:>10.0f} {b:>10.0f} {b / a:>11.2f}")


if __name__ == "__main__":
    main()
