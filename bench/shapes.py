"""How long `python -m model.shapes OUT --n N` takes on this machine, the command as a user runs it
(interpreter start and imports included), into a fresh folder each time:

    .venv/bin/python bench/shapes.py [--n 10000] [--repeats 3] [--full 100000] [--workers 2]

Prints each run's wall and CPU seconds (the command and its workers), the median of the repeats
scaled to --full images (as it is, and with the start-up, timed by `--help`, paid once), and then one
run at --full itself (0: skip it). The target (issue 13) is
at most 60 s for 100,000 images. The machine's load average is printed beside each run, since on a
shared machine the wall time says as much about the neighbours as about the generator.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(n: int, seed: int, workers: int) -> tuple[float, float]:
    """Wall and CPU seconds of one command, its folder removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "shapes"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "model.shapes", str(out), "--n", str(n), "--seed", str(seed),
                        "--workers", str(workers)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert sum(1 for _ in out.glob("*/*.png")) == n, "the command wrote the wrong number of images"
        shutil.rmtree(out)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def start_up() -> float:
    """Wall seconds of `python -m model.shapes --help`: the interpreter and the imports (the model
    package brings torch), which a run pays once whatever its n."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "model.shapes", "--help"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def report(label: str, n: int, wall: float, cpu: float) -> None:
    load = os.getloadavg()[0]
    print(f"{label:>14}: {n:>7} images  wall {wall:6.1f} s  cpu {cpu:6.1f} s  "
          f"{n / wall:7.0f} images/s  (load average {load:.1f} on {os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    walls, cpus, starts = [], [], []
    for r in range(args.repeats):
        wall, cpu = run(args.n, seed=r, workers=args.workers)
        report(f"run {r + 1}", args.n, wall, cpu)
        walls.append(wall)
        cpus.append(cpu)
        starts.append(start_up())
    if args.full:
        scale, fixed, median = args.full / args.n, statistics.median(starts), statistics.median(walls)
        print(f"median of {args.repeats} x {args.n}, scaled to {args.full}: wall {median * scale:.1f} s, "
              f"cpu {statistics.median(cpus) * scale:.1f} s; start-up {fixed:.1f} s, paid once: "
              f"wall {fixed + (median - fixed) * scale:.1f} s")
        report("full run", args.full, *run(args.full, seed=0, workers=args.workers))


if __name__ == "__main__":
    main()
