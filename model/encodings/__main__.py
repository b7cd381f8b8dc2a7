"""`python -m model.encodings`: write the test-set encodings cache of the named models, or of all
(with --train, the training set's too: the latent map shows both when the data is on the machine).

Reads `VAE_WEIGHTS_DIR`, `VAE_DATA_DIR` and `VAE_CACHE_DIR` like the server does; flags override them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from model.card import CardError
from model.data import DATA_ENV
from model.encodings.cache import EncodingCache, EncodingsUnavailable, cache_path
from model.store import list_models, load, read_card, weights_dir

CACHE_ENV = "VAE_CACHE_DIR"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m model.encodings", description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", help="model names (default with --all: every model)")
    p.add_argument("--all", action="store_true", help="every model in the weights folder")
    p.add_argument("--force", action="store_true", help="recompute even when the cache is current")
    p.add_argument("--train", action="store_true", help="the training split's encodings too")
    p.add_argument("--weights-dir", type=Path, default=None, help="default: $VAE_WEIGHTS_DIR or weights/")
    p.add_argument("--data-dir", type=Path, help=f"holds mnist/, fashion-mnist/ (default: ${DATA_ENV})")
    p.add_argument("--cache-dir", type=Path, default=os.environ.get(CACHE_ENV) or None,
                   help=f"default: ${CACHE_ENV}, else the weights dir")
    args = p.parse_args(argv)
    args.weights_dir = args.weights_dir or weights_dir()
    args.names = [c.name for c in list_models(args.weights_dir)] if args.all else args.names
    if not args.names:
        p.error("name at least one model, or pass --all")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cache = EncodingCache(cache_dir=args.cache_dir or args.weights_dir, data_dir=args.data_dir)
    failed = 0
    for name in args.names:
        for split in ("test", "train") if args.train else ("test",):
            path = cache_path(cache.cache_dir, name, split)
            if args.force:
                path.unlink(missing_ok=True)
            start = time.perf_counter()
            try:
                card = read_card(name, args.weights_dir)
                enc = cache.get(load(name, "cpu", folder=args.weights_dir), card, split).encodings
            except (EncodingsUnavailable, FileNotFoundError, CardError) as e:
                print(e, file=sys.stderr)
                failed += 1
                continue
            size = f"{path.stat().st_size / 1024:.0f} KiB" if path.is_file() else "not written"
            print(f"{name} ({split}): {enc.count} x {enc.latent_dim} means -> {path} ({size}, "
                  f"{time.perf_counter() - start:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
