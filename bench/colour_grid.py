"""Where a 20x20 grid of a 64x64 colour model spends its time, in process, on one thread (the
server's setting), and what lighter decoders would give (issue 13's 40 ms target;
docs/performance.md#the-64x64-colour-grid).

    .venv/bin/python bench/colour_grid.py [--repeats 9]

Rows: the shipped shapes-b1 decoder as the server runs it (model/inference.py's rewrite), the same
decoder through onnxruntime (model/export.py), and decoders with fewer channels (`decoder_channels`,
random weights: time does not depend on them) both ways; then the two steps after decoding,
tiling the 400 images into one mosaic and writing the PNG (server/render.py). Each is the median of
`--repeats` runs, the rows interleaved so that load on the machine reaches them alike. The total is
decode + tile + PNG; the HTTP request adds about 1 to 2 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 40.0
LIGHTER = ((8, 16, 32, 64), (8, 16, 16, 32), (4, 8, 16, 32))  # decoder channels, encoder order


def median_ms(fn: Callable[[], Any], n: int) -> float:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=9)
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    warnings.filterwarnings("ignore")
    import onnxruntime as ort
    import torch

    from model import store
    from model.export import decoder_onnx
    from model.inference import for_inference
    from model.vae import VAE, VAEConfig
    from server import render

    torch.set_num_threads(1)
    shipped = store.load("shapes-b1", "cpu")
    config = shipped.config
    z = (torch.rand(400, config.latent_dim, generator=torch.Generator().manual_seed(0)) * 6 - 3)

    def session(vae: Any) -> Callable[[], torch.Tensor]:
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
        graph = decoder_onnx(vae, config.latent_dim)
        s = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        return lambda: torch.from_numpy(s.run(None, {"z": z.numpy()})[0])

    def served(vae: Any) -> Callable[[], torch.Tensor]:
        fast = for_inference(vae)

        def run() -> torch.Tensor:
            with torch.inference_mode():
                return fast.decode(z)
        return run

    decoders: list[tuple[str, Any]] = [(f"shipped {'/'.join(map(str, config.channels))}", shipped)]
    for channels in LIGHTER:
        light = VAEConfig(**{**config.__dict__, "decoder_channels": channels})
        decoders.append((f"decoder {'/'.join(map(str, channels))}", VAE(light).eval()))
    rows: dict[str, list[float]] = {}
    runs = []
    for label, vae in decoders:
        runs.append((f"{label}, onnxruntime", session(vae)))
        runs.append((f"{label}, torch (served)", served(store.load("shapes-b1", "cpu")) if vae is shipped
                     else served(vae)))
    with torch.inference_mode():
        images = runs[1][1]()
    mosaic = render.tile(images, 20)
    steps = [("tile 400 images", lambda: render.tile(images, 20)),
             ("PNG 1280x1280 colour", lambda: render.png(mosaic))]
    for _ in range(3):  # interleaved rounds; the median of each row's round medians
        for label, fn in [*runs, *steps]:
            rows.setdefault(label, []).append(median_ms(fn, args.repeats))
    after = sum(statistics.median(rows[label]) for label, _ in steps)
    print(f"20x20 grid of a 64x64 colour model, one thread; target {TARGET_MS:.0f} ms in all")
    print(f"{'step':44s} {'ms':>7s} {'+ tile + PNG':>13s}")
    for label, _ in runs:
        ms = statistics.median(rows[label])
        print(f"{'decode, ' + label:44s} {ms:7.1f} {ms + after:13.1f}")
    for label, _ in steps:
        print(f"{label:44s} {statistics.median(rows[label]):7.1f}")


if __name__ == "__main__":
    main()
