"""Where a 20x20 grid of a 64x64 colour model spends its time, in process, on one thread (the
server's setting) (issue 13's 40 ms target; docs/performance.md#the-64x64-colour-grid).

    .venv/bin/python bench/colour_grid.py [--repeats 9] [--model shapes-b1]

Rows: the shipped model's decoder as the server runs it (model/inference.py's rewrite) with
float32 and with bfloat16 convolutions (`VAE_CONV_BF16`), and through onnxruntime
(model/export.py); the same three for the decoder it replaced (channels 16/32/32/64, random
weights: time does not depend on them); then the two steps after decoding, tiling the 400 images
into one mosaic and writing the PNG (server/render.py). Decoding goes in the server's parts
(server/decoding.py's `Decoder.many`). Each is the median of `--repeats` runs, the rows interleaved
so that load on the machine reaches them alike. The total is decode + tile + PNG; the HTTP request
adds about 1 to 2 ms.
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
BEFORE = (16, 32, 32, 64)  # the decoder channels shipped until 2026-12-02, encoder order


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
    p.add_argument("--model", default="shapes-b1", help="a shipped 64x64 colour model")
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    warnings.filterwarnings("ignore")
    import onnxruntime as ort
    import torch

    from model import store
    from model.export import decoder_onnx
    from model.inference import bf16_native, for_inference
    from model.vae import VAE, VAEConfig
    from server import render
    from server.decoding import Decoder

    torch.set_num_threads(1)
    shipped = store.load(args.model, "cpu")
    config = shipped.config
    z = (torch.rand(400, config.latent_dim, generator=torch.Generator().manual_seed(0)) * 6 - 3)
    step = Decoder.CHUNK_VALUES // (config.image_channels * config.image_size**2)

    def session(vae: Any) -> Callable[[], torch.Tensor]:
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
        options.log_severity_level = 3  # no per-run shape warnings
        graph = decoder_onnx(vae, config.latent_dim)
        s = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        parts = [part.numpy() for part in z.split(step)]
        return lambda: torch.cat([torch.from_numpy(s.run(None, {"z": part})[0]) for part in parts])

    def served(make: Callable[[], Any], bf16: bool) -> Callable[[], torch.Tensor]:
        fast = for_inference(make(), bf16=bf16)

        def run() -> torch.Tensor:
            with torch.inference_mode():
                return torch.cat([fast.decode(part) for part in z.split(step)])
        return run

    def before() -> Any:
        return VAE(VAEConfig(**{**config.__dict__, "decoder_channels": BEFORE})).eval()

    decoders: list[tuple[str, Callable[[], Any]]] = [
        (f"{args.model} {'/'.join(map(str, config.decoder_channels or config.channels))}",
         lambda: store.load(args.model, "cpu")),
        (f"before {'/'.join(map(str, BEFORE))}", before),
    ]
    rows: dict[str, list[float]] = {}
    runs = []
    for label, make in decoders:
        runs.append((f"{label}, torch float32", served(make, False)))
        runs.append((f"{label}, torch bfloat16", served(make, True)))
        runs.append((f"{label}, onnxruntime", session(make())))
    with torch.inference_mode():
        images = runs[1][1]()
    mosaic = render.tile(images, 20)
    steps = [("tile 400 images", lambda: render.tile(images, 20)),
             ("PNG 1280x1280 colour", lambda: render.png(mosaic))]
    for _ in range(3):  # interleaved rounds; the median of each row's round medians
        for label, fn in [*runs, *steps]:
            rows.setdefault(label, []).append(median_ms(fn, args.repeats))
    after = sum(statistics.median(rows[label]) for label, _ in steps)
    print(f"20x20 grid of a 64x64 colour model, one thread; target {TARGET_MS:.0f} ms in all; "
          f"this CPU multiplies bfloat16 natively: {bf16_native()}")
    print(f"{'step':52s} {'ms':>7s} {'+ tile + PNG':>13s}")
    for label, _ in runs:
        ms = statistics.median(rows[label])
        print(f"{'decode, ' + label:52s} {ms:7.1f} {ms + after:13.1f}")
    for label, _ in steps:
        print(f"{label:52s} {statistics.median(rows[label]):7.1f}")


if __name__ == "__main__":
    main()
