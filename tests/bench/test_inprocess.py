"""bench/inprocess.py runs on the shipped models and prints every number it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_prints_per_request_times_ratios_and_batch_times() -> None:
    out = subprocess.run(
        [sys.executable, "bench/inprocess.py", "--rounds", "5", "--repeats", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    columns = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.strip()]
    numbers = {c[0]: float(c[1]) for c in columns if c[1][0].isdigit()}
    assert set(numbers) == {
        "/healthz, us a request",
        "/decode, us a request",
        "/decode decoding nothing, us a request",
        "/healthz as a DirectRoute, us a request",
        "batch of 16 in the loaded server, us",
        "the same batch decoded in a loop, us",
    }, out
    assert all(v > 0 for v in numbers.values()), out
    assert "/decode over it" in out, out
    ratios = [float(r) for r in re.findall(r"ratio ([\d.]+)", out)]
    # each ratio is the bare route's time over the decode's, as printed (not a bound on speed: five
    # rounds on a busy machine put "decoding nothing" at 2.1x /healthz's speed once)
    healthz, decode = numbers["/healthz, us a request"], numbers["/decode, us a request"]
    want = [healthz / decode, healthz / numbers["/decode decoding nothing, us a request"],
            numbers["/healthz as a DirectRoute, us a request"] / decode]
    assert ratios == pytest.approx(want, abs=0.002), out
