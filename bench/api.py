"""HTTP API benchmark: starts the server as deployed (`python -m server`, uvicorn) on a free port and
prints each number next to its target, the median of several repeats.

    .venv/bin/python bench/api.py [--repeats 5] [--seconds 3] [--connections 16] [--no-pin]

- /decode throughput over /healthz's (the bare cost of HTTP in this app), both by `wrk` (Debian:
  apt-get install -y wrk) at the same concurrency; z varies per request (a Lua script). Each repeat
  runs /decode, /healthz, /healthz, /decode (so a drift in the machine's speed during a repeat
  weighs on both alike) and takes the ratio of the sums. With two or more CPUs the server runs on
  the first and wrk on the others, so that the two never take turns on one core.
- /grid 20x20 and /reconstruct (a 28x28 PNG) p50 latency on one keep-alive connection.
- server RSS with every shipped model loaded, after the load above; start to first answer.
- /grid 20x20 p50 of the 64x64 colour model shapes-b1 (issue 13), on one connection.
- ONNX against native (issue 14): the shipped mnist-z2 and mnist-z10 exported by model/export.py and
  served beside them from one weights folder; p50 of a lone /decode and of a 20x20 /grid for each,
  measured in the order native, ONNX, ONNX, native, and the ONNX/native ratios; /decode
  throughput of the ONNX z=2 model over the native one's (wrk, same script and concurrency).
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local a = (counter % 997) / 100 - 4.5
  local b = (counter * 7 % 991) / 100 - 4.5
  return wrk.format("GET", "/decode?z=" .. a .. "," .. b)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_split(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(server CPUs, wrk CPUs): the first allowed CPU and the rest, or (None, None) to not pin."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not pin or len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """A preexec_fn that confines the child (and every thread it starts) to `cpus`."""
    return None if cpus is None else lambda: os.sched_setaffinity(0, cpus)


class Server:
    """`python -m server` on a free port; `started_s` is spawn to the first 200 from /readyz."""

    def __init__(self, cpus: set[int] | None = None, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        t0 = time.perf_counter()
        env = {**os.environ, **(env or {}), "VAE_HOST": "127.0.0.1", "VAE_PORT": str(self.port)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pinned(cpus),
        )
        while self.proc.poll() is None:
            try:
                if request(self.connect(), "GET", "/readyz") == 200:
                    self.started_s = time.perf_counter() - t0
                    return
            except OSError:
                time.sleep(0.01)
        raise SystemExit(f"the server exited with {self.proc.returncode} before answering")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident memory of the server process, MB."""
        lines = Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
        kb = {
            k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines) if k in ("VmRSS", "VmHWM")
        }
        return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> int:
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    r.read()
    return r.status


def p50_ms(call: Callable[[], None], n: int) -> float:
    for _ in range(5):
        call()  # warm-up
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def wrk_rps(
    port: int, path: str, script: Path | None, args: argparse.Namespace, cpus: set[int] | None
) -> float:
    cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s"]
    cmd += ["-s", str(script)] if script else []
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=pinned(cpus),
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("Requests/sec:"))
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors on {path}:\n{out}")
    return float(line.split()[1])


def digit_png() -> bytes:
    """A 28x28 PNG digit: the first MNIST test image when the data is there, else a drawn stroke."""
    try:
        from model.data import default_folder, load_split

        folder = default_folder("mnist")
        arr = load_split(folder, "test").images[0] if folder else None
    except Exception:
        arr = None
    if arr is None:
        arr = np.zeros((28, 28), np.uint8)
        arr[6:22, 12:16] = 255
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def multipart(data: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="d.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def latencies(server: Server, samples: int) -> tuple[float, float]:
    """p50 ms of a 20x20 /grid (base varying) and of /reconstruct of a 28x28 PNG, on one connection."""
    conn = server.connect()
    body, headers = multipart(digit_png())
    bases = iter(range(10**9))

    def grid() -> None:
        request(conn, "GET", f"/grid?z0=-3..3&z1=3..-3&steps=20&base=0,{next(bases) % 97 / 100}")

    def reconstruct() -> None:
        request(conn, "POST", "/reconstruct", body, headers)

    try:
        return p50_ms(grid, samples), p50_ms(reconstruct, samples)
    finally:
        conn.close()


COLOUR = "shapes-b1"  # a 64x64 colour model (issue 13's target: its 20x20 grid in at most 40 ms)
PAIRS = {"mnist-z2": "onnx-mnist-z2", "mnist-z10": "onnx-mnist-z10"}  # native -> its ONNX export


def weights_with_onnx(folder: Path) -> Path:
    """The shipped weights (linked) plus ONNX exports of PAIRS' native models, in `folder`."""
    from model.export import export

    for f in (ROOT / "weights").iterdir():
        (folder / f.name).symlink_to(f)
    for native, onnx in PAIRS.items():
        export(native, name=onnx, out=folder, weights=ROOT / "weights")
    return folder


def onnx_latencies(server: Server, samples: int) -> dict[str, float]:
    """ONNX/native p50 ratios of a lone /decode and of a 20x20 /grid, per pair (order N, O, O, N)."""
    conn = server.connect()
    found: dict[str, float] = {}
    try:
        for native, onnx in PAIRS.items():
            dim = 2 if native.endswith("z2") else 10
            z = ",".join(["0.3"] * dim)
            for kind, path in (("decode", f"/decode?z={z}"), ("grid", f"/grid?steps=20&base={z}")):
                times: dict[str, list[float]] = {native: [], onnx: []}
                for name in (native, onnx, onnx, native):
                    url = f"{path}&model={name}"
                    times[name].append(p50_ms(lambda u=url: request(conn, "GET", u), samples))  # type: ignore[misc]
                found[f"onnx-{kind}-z{dim}"] = statistics.mean(times[onnx]) / statistics.mean(times[native])
                found[f"native-{kind}-z{dim}-ms"] = statistics.mean(times[native])
                found[f"onnx-{kind}-z{dim}-ms"] = statistics.mean(times[onnx])
    finally:
        conn.close()
    return found


def measure(
    server: Server, args: argparse.Namespace, script: Path, wrk_cpus: set[int] | None
) -> dict[str, float]:
    """Every number, once, on a freshly started server."""
    grid_ms, recon_ms = latencies(server, args.samples)
    found = {"start": server.started_s, "grid": grid_ms, "recon": recon_ms}
    found.update(onnx_latencies(server, args.samples))
    if (ROOT / "weights" / f"{COLOUR}.json").is_file():
        conn = server.connect()
        bases = iter(range(10**9))
        try:
            found["colour-grid"] = p50_ms(lambda: request(
                conn, "GET", f"/grid?model={COLOUR}&steps=20&base=0,0,0,0,0,0,0,0,0,{next(bases) % 97 / 100}"
            ), args.samples)
        finally:
            conn.close()
    if shutil.which("wrk"):
        onnx_script = script.with_name("onnx.lua")
        onnx_script.write_text(WRK_SCRIPT.replace('"/decode?z="', '"/decode?model=onnx-mnist-z2&z="'))
        runs: dict[str, list[float]] = {"/decode": [], "/healthz": [], "onnx": []}
        for path in ("/decode", "/healthz", "onnx", "onnx", "/healthz", "/decode"):
            lua = {"/decode": script, "onnx": onnx_script}.get(path)
            url = "/decode" if path == "onnx" else path
            runs[path].append(wrk_rps(server.port, url, lua, args, wrk_cpus))
        found["decode"] = statistics.mean(runs["/decode"])
        found["healthz"] = statistics.mean(runs["/healthz"])
        found["ratio"] = found["decode"] / found["healthz"]
        found["onnx-rps"] = statistics.mean(runs["onnx"]) / found["decode"]
    else:
        print("wrk not found (Debian: apt-get install -y wrk): no throughput numbers", file=sys.stderr)
    found["rss"], found["peak"] = server.rss_mb()
    return found


def run(args: argparse.Namespace) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    server_cpus, wrk_cpus = cpu_split(args.pin)
    if server_cpus:
        print(f"  server on CPU {sorted(server_cpus)}, wrk on CPUs {sorted(wrk_cpus or ())}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "decode.lua"
        script.write_text(WRK_SCRIPT)
        weights = Path(tmp) / "weights"
        weights.mkdir()
        weights_with_onnx(weights)
        env = {"VAE_WEIGHTS_DIR": str(weights), "VAE_RELOAD_SECONDS": "0"}
        for i in range(args.repeats):
            server = Server(server_cpus, env)
            try:
                for key, value in measure(server, args, script, wrk_cpus).items():
                    results.setdefault(key, []).append(value)
            finally:
                server.stop()
            print(f"  repeat {i + 1}/{args.repeats} done", file=sys.stderr)
    return results


ROWS = [  # label, key, target (ratio: at least; others: at most), format
    ("/decode req/s over /healthz req/s", "ratio", 0.8, "{:.3f}"),
    ("  /decode req/s", "decode", None, "{:.0f}"),
    ("  /healthz req/s", "healthz", None, "{:.0f}"),
    ("/grid 20x20 p50 latency, ms", "grid", 10.0, "{:.1f}"),
    ("/reconstruct 28x28 PNG p50 latency, ms", "recon", 5.0, "{:.1f}"),
    ("server RSS, all models loaded, MB", "rss", 400.0, "{:.0f}"),
    ("  peak RSS during the run, MB", "peak", None, "{:.0f}"),
    ("start to first answer, s", "start", 3.0, "{:.2f}"),
    ("/grid 20x20 p50 ms, 64x64 colour (shapes-b1)", "colour-grid", 40.0, "{:.1f}"),
    ("ONNX / native, /decode p50, z=2", "onnx-decode-z2", 1.5, "{:.2f}"),
    ("  native /decode p50 ms, z=2", "native-decode-z2-ms", None, "{:.2f}"),
    ("  ONNX /decode p50 ms, z=2", "onnx-decode-z2-ms", None, "{:.2f}"),
    ("ONNX / native, /decode p50, z=10", "onnx-decode-z10", 1.5, "{:.2f}"),
    ("ONNX / native, /grid 20x20 p50, z=2", "onnx-grid-z2", 1.5, "{:.2f}"),
    ("  native /grid 20x20 p50 ms, z=2", "native-grid-z2-ms", None, "{:.2f}"),
    ("  ONNX /grid 20x20 p50 ms, z=2", "onnx-grid-z2-ms", None, "{:.2f}"),
    ("ONNX / native, /grid 20x20 p50, z=10", "onnx-grid-z10", 1.5, "{:.2f}"),
    ("ONNX z=2 /decode req/s over native's", "onnx-rps", 0.67, "{:.3f}"),
]


def report(results: dict[str, list[float]]) -> None:
    if "ratio" in results:
        print("ratio of each repeat:", ", ".join(f"{r:.3f}" for r in results["ratio"]))
    print(f"{'measure':42} {'median':>8}  {'target':>8}  ok")
    for label, key, target, fmt in ROWS:
        if key not in results:
            print(f"{label:42} {'-':>8}")
            continue
        value = statistics.median(results[key])
        if target is None:
            print(f"{label:42} {fmt.format(value):>8}")
            continue
        at_least = key in ("ratio", "onnx-rps")
        ok = value >= target if at_least else value <= target
        goal = f"{'>=' if at_least else '<='} {target:g}"
        print(f"{label:42} {fmt.format(value):>8}  {goal:>8}  {'yes' if ok else 'NO'}")


def main() -> None:
    sys.path.insert(0, str(ROOT))  # for model.data, when the project is not installed
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="server starts; each measures everything once")
    parser.add_argument("--seconds", type=int, default=3, help="duration of each of the 4 wrk runs")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--samples", type=int, default=50, help="requests per latency measurement")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="let the OS place the server and wrk"
    )
    report(run(parser.parse_args()))


if __name__ == "__main__":
    main()
