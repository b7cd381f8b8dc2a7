"""How closely the decoded image follows a slider drag, and how fast the latent map draws and hovers,
in headless Chromium against the real app.

A scripted mouse drag of `--steps` moves at `--hz` over slider z0 (alternately right and left). Each
`input` event is matched to the first `vae:shown` (a new decoded image on screen: decoded on the page,
or the server's PNG loaded) that shows its value or a later one: that is the latency a person sees.
The update rate is images per second while the drag lasts.
Numbers are medians over `--runs` drags. Targets: p95 <= 25 ms, >= 30 updates/s.

The latent map (the model's whole test set, 10,000 points when the data is on this machine): its
first paint, from the moment the encodings have arrived to the frame after the points were drawn,
over `--map-runs` page loads (target <= 300 ms); the cost of one hover (pick the point under the
pointer, redraw the overlay); and a mouse sweep over the map at `--hz`, timing every frame while the
hovered point changes under it. A benchmark, not a test: it reports, and exits 0 either way.

    .venv/bin/python bench/browser.py [--model mnist-z2] [--runs 5] [--steps 100] [--hz 60] [--map-runs 5]
                                      [--map-only]

Then bench/browser_decode.py's report (skip it with --no-decode, run it alone with --decode-only):
decoding on the page against decoding on the server, with and without 50 ms of emulated latency,
page load to the first local image, and the bytes of a first and a second visit.

With VAE_DATA_DIR naming a folder that holds the training split too, the map shows 70,000 points;
bench/browser_map.py adds zoom, pan, the manifold layer, images, and canvas against WebGL.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.browser_decode import report as decode_report  # noqa: E402
from bench.browser_decode import seed  # noqa: E402
from bench.browser_map import scale_report  # noqa: E402
from tests.browser.harness import launch, serve  # noqa: E402

TARGET_P95_MS = 25.0
TARGET_RATE = 30.0
TARGET_MAP_PAINT_MS = 300.0
TARGET_HOVER_MS = 5.0
FRAME_MS = 1000 / 60

# Event timestamps share performance.now()'s origin; `timeStamp` is when the event was created,
# so time an event waited in the browser's queue counts against us.
LISTEN = """() => {
  window.bench = {inputs: [], loads: []};
  const z0 = document.getElementById("z0");
  document.addEventListener("input", (e) => {
    if (e.target === z0) bench.inputs.push([e.timeStamp, z0.value]);
  }, true);
  document.addEventListener("vae:shown", (e) => bench.loads.push([performance.now(), String(e.detail.z[0])]));
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def score(inputs: list[list[Any]], loads: list[list[Any]]) -> dict[str, float]:
    """Latency of each input to the first load showing it or a later value, and loads per second."""
    index = {value: i for i, (_, value) in enumerate(inputs)}  # a one-way drag never repeats a value
    shown = [(t, index[v]) for t, v in loads if v in index]
    latencies = []
    for i, (t_in, _) in enumerate(inputs):
        later = [t for t, j in shown if j >= i and t >= t_in]
        if later:
            latencies.append(min(later) - t_in)
    span_s = (shown[-1][0] - inputs[0][0]) / 1000
    return {
        "inputs": len(inputs), "input_rate": (len(inputs) - 1) / ((inputs[-1][0] - inputs[0][0]) / 1000),
        "loads": len(shown), "missed": len(inputs) - len(latencies),
        "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "rate": len(shown) / span_s,
    }


def drag(page: Any, steps: int, hz: float, rightwards: bool) -> dict[str, float]:
    box = page.locator("#z0").bounding_box()
    y = box["y"] + box["height"] / 2
    left, right = box["x"] + 0.08 * box["width"], box["x"] + 0.92 * box["width"]
    xs = [left + (right - left) * k / steps for k in range(steps + 1)]
    xs = xs if rightwards else xs[::-1]
    page.mouse.move(xs[0], y)
    page.mouse.down()
    page.evaluate("window.bench = {inputs: [], loads: []}")
    start = time.perf_counter()
    for k, x in enumerate(xs[1:], 1):
        time.sleep(max(0.0, start + k / hz - time.perf_counter()))
        page.mouse.move(x, y)
    page.mouse.up()
    final = page.locator("#z0").input_value()
    page.wait_for_function(f"document.getElementById('decoded').dataset.z.split(',')[0] === '{final}'")
    page.wait_for_timeout(600)  # the debounced grid and traversal requests finish before the next drag
    record = page.evaluate("window.bench")
    return score(record["inputs"], record["loads"])


# Faster than any pointer: an input every 5 ms for 2 s, dispatched in the page. With one request in
# flight and only the latest queued, the image updates as fast as a round trip allows, and the last
# value still arrives.
FLOOD = """async () => {
  const z0 = document.getElementById("z0");
  const loads = [];
  const onShown = () => loads.push(performance.now());
  document.addEventListener("vae:shown", onShown);
  const start = performance.now();
  let k = 0, last = 0;
  while (performance.now() - start < 2000) {
    z0.value = (-2.9 + (k++ % 580) / 100).toFixed(2);
    z0.dispatchEvent(new Event("input", {bubbles: true}));
    last = performance.now();
    await new Promise((r) => setTimeout(r, 5));
  }
  const final = z0.value;
  while (document.getElementById("decoded").dataset.z.split(",")[0] !== final) {
    await new Promise((r) => setTimeout(r, 1));
  }
  const settled = performance.now() - last;
  document.removeEventListener("vae:shown", onShown);
  return {inputs: k, rate: loads.filter((t) => t <= last).length / ((last - start) / 1000), settled};
}"""


def server_only(url: str, model: str, n: int = 200) -> list[float]:
    """Milliseconds per /fragments/decoded request from Python: the server's share of the latency."""
    times = []
    for k in range(n):
        t = time.perf_counter()
        with urllib.request.urlopen(f"{url}/fragments/decoded?model={model}&z0={k % 60 / 10 - 3:.2f}") as r:
            r.read()
        times.append(1000 * (time.perf_counter() - t))
    return times


# One hover, as the page handles it: a pointermove on a point (the pick, the hovered point's images),
# then the overlay redrawn at once instead of at the next frame. Points spread over the test set.
HOVER = """async (n) => {
  const overlay = document.getElementById("map-overlay");
  const costs = [];
  let changed = 0;
  for (let k = 0; k < n; k++) {
    const p = latentMap.pointAt((k * 7919) % latentMap.count());
    const before = latentMap.hovered();
    const t = performance.now();
    overlay.dispatchEvent(new PointerEvent("pointermove", {clientX: p.x, clientY: p.y, bubbles: true}));
    latentMap.drawOverlay();
    costs.push(performance.now() - t);
    if (latentMap.hovered() !== before) changed++;
    await new Promise(requestAnimationFrame);
  }
  return {costs, changed};
}"""

# Every frame's start time while the mouse sweeps the map, and how often the hovered point changed.
FRAMES = """() => {
  window.sweep = {frames: [], hovers: 0, last: latentMap.hovered(), on: true};
  const loop = (t) => {
    sweep.frames.push(t);
    if (latentMap.hovered() !== sweep.last) { sweep.hovers++; sweep.last = latentMap.hovered(); }
    if (sweep.on) requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}"""


def map_paint(page: Any, url: str, model: str) -> dict[str, float]:
    """Load the page and wait for the map; its timings, in ms from the encodings' arrival."""
    page.goto(f"{url}/?model={model}")
    page.locator("#map-panel").scroll_into_view_if_needed()
    page.wait_for_selector("#map-panel[data-state=ready]", timeout=120_000)
    timings: dict[str, float] = page.evaluate("latentMap.timings()")
    return timings


def map_sweep(page: Any, hz: float, moves: int = 120) -> dict[str, float]:
    """A mouse sweep over the map, left to right along a zigzag; frame intervals in ms."""
    box = page.locator("#map-overlay").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.evaluate(FRAMES)
    start = time.perf_counter()
    for k in range(1, moves + 1):
        time.sleep(max(0.0, start + k / hz - time.perf_counter()))
        zig = 0.5 + 0.4 * (1 if k % 20 < 10 else -1) * ((k % 10) / 10)
        page.mouse.move(box["x"] + box["width"] * (0.1 + 0.8 * k / moves), box["y"] + box["height"] * zig)
    page.wait_for_timeout(100)
    record = page.evaluate("(() => { sweep.on = false; return sweep; })()")
    gaps = [b - a for a, b in zip(record["frames"], record["frames"][1:], strict=False)]
    late = sum(1 for g in gaps if g > 1.5 * FRAME_MS)
    return {"median": statistics.median(gaps), "p95": percentile(gaps, 95), "longest": max(gaps),
            "late": late, "frames": len(gaps), "hovers": record["hovers"]}


def bench_map(page: Any, url: str, model: str, runs: int, hz: float) -> list[str]:
    """The map's report, as lines to print."""
    paints = [map_paint(page, url, model) for _ in range(runs + 1)][1:]  # the first computes the encodings
    count = page.evaluate("latentMap.count()")
    out = [f"latent map: {model}, {count:,} points, {runs} page loads (encodings from the browser cache); "
           "ms after the data arrived"]
    for key, what in (("parse", "parsed into typed arrays"), ("drawn", "projected, indexed, drawn"),
                      ("painted", "first paint (the frame after)")):
        values = [p[key] for p in paints]
        runs_text = ", ".join(f"{v:.0f}" for v in values)
        out.append(f"  {what:<31} median {statistics.median(values):6.1f} ms  (runs: {runs_text})")
    hovers = [page.evaluate(HOVER, 200) for _ in range(runs)]
    costs = [c for h in hovers for c in h["costs"]]
    changed = statistics.median(h["changed"] for h in hovers)
    out.append(f"  hover (pick + overlay redraw), {len(costs)} moves onto points: median "
               f"{statistics.median(costs):.2f} ms, p95 {percentile(costs, 95):.2f} ms, "
               f"max {max(costs):.2f} ms (the hovered point changed {changed:.0f} of 200 times per run)")
    sweeps = [map_sweep(page, hz) for _ in range(runs)]
    med = {key: statistics.median(s[key] for s in sweeps) for key in sweeps[0]}
    out.append(f"  mouse sweep at {hz:g} Hz, median of {runs}: frame interval median {med['median']:.1f} ms, "
               f"p95 {med['p95']:.1f} ms, longest {med['longest']:.1f} ms; {med['late']:.0f} of "
               f"{med['frames']:.0f} frames late (> {1.5 * FRAME_MS:.0f} ms); "
               f"{med['hovers']:.0f} hover changes")
    paint = statistics.median(p["painted"] for p in paints)
    verdict = "met" if paint <= TARGET_MAP_PAINT_MS else "MISSED"
    out.append(f"  target: first paint <= {TARGET_MAP_PAINT_MS:g} ms after the data arrives {verdict}")
    hover_p95 = percentile(costs, 95)
    verdict = "met" if hover_p95 <= TARGET_HOVER_MS else "MISSED"
    out.append(f"  target: hover <= {TARGET_HOVER_MS:g} ms at p95 {verdict}")
    request = urllib.request.Request(f"{url}/encodings?model={model}&format=binary",
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as r:
        wire = len(r.read())
    out.append(f"  points over the wire: {wire / 1e6:.2f} MB (gzip; {count:,} points)")
    return out + scale_report(page, runs, hz)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="mnist-z2")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--hz", type=float, default=60.0, help="pointer moves per second")
    ap.add_argument("--map-runs", type=int, default=5, help="page loads and hover sweeps of the map")
    ap.add_argument("--map-only", action="store_true", help="only the latent map's measurements")
    ap.add_argument("--decode-only", action="store_true", help="only browser_decode.py's measurements")
    ap.add_argument("--no-decode", action="store_true", help="without browser_decode.py's measurements")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    # The encodings are cached in a temporary folder (a benchmark never writes next to the weights),
    # starting from copies of the shipped ones.
    with tempfile.TemporaryDirectory() as cache, serve({"VAE_CACHE_DIR": seed(cache)}) as url, \
            sync_playwright() as p:
        browser = launch(p)
        if args.decode_only:
            print("\n".join(decode_report(browser, url, args.model, args.runs)))
            return
        if args.map_only:
            map_page = browser.new_page(viewport={"width": 1280, "height": 800})
            print("\n".join(bench_map(map_page, url, args.model, args.map_runs, args.hz)))
            return
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/?model={args.model}")
        page.wait_for_load_state("networkidle")
        page.evaluate(LISTEN)
        drag(page, 20, args.hz, True)  # warm-up: first requests, JIT, image decoders
        runs = [drag(page, args.steps, args.hz, rightwards=k % 2 == 1) for k in range(args.runs)]
        floods = [page.evaluate(FLOOD) for _ in range(3)]
        version = browser.version
        map_page = browser.new_page(viewport={"width": 1280, "height": 800})
        map_report = bench_map(map_page, url, args.model, args.map_runs, args.hz) if args.map_runs else []
        local_report = [] if args.no_decode else decode_report(browser, url, args.model, args.runs)
        browser.close()
        server = server_only(url, args.model)

    print(f"browser bench: {args.model}, {args.runs} drags x {args.steps} steps at {args.hz:g} Hz, "
          f"headless Chromium {version}")
    print(f"{'run':>4} {'inputs':>7} {'inputs/s':>9} {'loads':>6} {'missed':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'updates/s':>10}")
    for k, r in enumerate(runs, 1):
        print(f"{k:>4} {r['inputs']:>7.0f} {r['input_rate']:>9.1f} {r['loads']:>6.0f} {r['missed']:>7.0f} "
              f"{r['p50']:>7.1f} {r['p95']:>7.1f} {r['rate']:>10.1f}")
    p50, p95, rate = (statistics.median(r[key] for r in runs) for key in ("p50", "p95", "rate"))
    print(f"{'median':>37} {p50:>7.1f} {p95:>7.1f} {rate:>10.1f}")
    flood_rate, settled = (statistics.median(f[key] for f in floods) for key in ("rate", "settled"))
    print(f"saturated (an input every 5 ms for 2 s, {len(floods)} times): the image updated "
          f"{flood_rate:.1f} times/s; the final value showed {settled:.1f} ms after the last input")
    print(f"server only: /fragments/decoded {statistics.median(server):.1f} ms median, "
          f"{percentile(server, 95):.1f} ms p95 over {len(server)} requests")
    verdict = {True: "met", False: "MISSED"}
    print(f"targets: p95 <= {TARGET_P95_MS:g} ms {verdict[p95 <= TARGET_P95_MS]}; "
          f">= {TARGET_RATE:g} updates/s {verdict[min(rate, flood_rate) >= TARGET_RATE]}")
    print("\n".join(map_report))
    print("\n".join(local_report))


if __name__ == "__main__":
    main()
