"""Decoding in the browser (static/local-decode.js) against decoding on the server, in one run of
headless Chromium against the real app (run from bench/browser.py, or alone):

- drags: `--runs` drags of 60 key steps 35 ms apart on slider z0 (ArrowLeft from the top of its range,
  then ArrowRight, and so on: each crosses the whole range, -3 to 3, so every step moves z0), with
  Chromium's network emulation adding 50 ms to each request and with none, on the local path and on
  the server path (the same page with WebAssembly taken away, as a browser without it sees it). Each
  input is matched to the first `vae:shown` showing its value or a later one: latency p50/p95, and
  how many of the 60 values were on screen. Medians over the drags. During each drag on the page, how
  often the panels that follow z moved, per second of the drag: the traversal rows (a new z decoded
  and loaded) and the map's marker (drawn at a new place); medians over the drags.
- page load to the first local decode, on localhost (the server's export already on its disk), with
  an empty browser cache and with a warm one.
- bytes over the wire (Chromium's encodedDataLength: compressed bodies and headers) on a first visit
  until the first local image and the page is idle, and on a second visit in the same browser.
- the decoder file of a z=10 model.

The server's cache folder is a fresh temporary one (nothing is written next to the weights), holding
copies of the shipped test-set encodings (weights/<name>.encodings.npz), so the map has its points as
on a server that serves the weights folder.

    .venv/bin/python bench/browser_decode.py [--model mnist-z2] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser.harness import ROOT, launch, serve  # noqa: E402

STEPS, GAP_S = 60, 0.035
TARGET_P95_MS, TARGET_FIRST_S, TARGET_DECODER_MB, TARGET_VISIT_MB = 5.0, 1.5, 1.5, 5.0
TARGET_FOLLOW = 20.0  # updates/s of the traversal rows and the map's marker during a drag
NO_WASM = "delete window.WebAssembly;"  # what local-decode.js sees in a browser without it
LOCAL = "document.documentElement.dataset.decoding === 'local'"

LISTEN = """() => {
  window.bench = {inputs: [], shown: []};
  const z0 = document.getElementById("z0");
  document.addEventListener("input", (e) => {
    if (e.target === z0) bench.inputs.push([e.timeStamp, z0.value]);
  }, true);
  document.addEventListener("vae:shown", (e) =>
    bench.shown.push([performance.now(), e.detail.z[0], e.detail.source]));
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def score(inputs: list[list[Any]], shown: list[list[Any]]) -> dict[str, float]:
    """Each input's latency to the first image of its value or a later one; values shown of all."""
    index = {float(v): i for i, (_, v) in enumerate(inputs)}  # one direction: no value repeats
    seen = [(t, index[v]) for t, v, _ in shown if v in index]
    latencies = []
    for i, (t_in, _) in enumerate(inputs):
        later = [t for t, j in seen if j >= i and t >= t_in]
        if later:
            latencies.append(min(later) - t_in)
    return {
        "inputs": len(inputs),
        "shown": len({j for _, j in seen}),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
    }


def key_drag(page: Any, key: str) -> dict[str, float]:
    page.locator("#z0").focus()
    page.evaluate("bench.inputs = []; bench.shown = [];"
                  "if (window.follow) [follow.traversal, follow.marker] = [[], []];")
    start = time.perf_counter()
    for k in range(STEPS):
        time.sleep(max(0.0, start + k * GAP_S - time.perf_counter()))
        page.keyboard.press(key)
    final = page.locator("#z0").input_value()
    page.wait_for_function(f"document.getElementById('decoded').dataset.z.split(',')[0] === '{final}'")
    page.wait_for_timeout(400)  # the debounced grid and traversal requests end before the next drag
    record = page.evaluate("({...bench, follow: window.follow})")
    moved = len({v for _, v in record["inputs"]})
    assert moved == STEPS, f"the drag moved z0 {STEPS} times, not {moved}: {record['inputs']}"
    return score(record["inputs"], record["shown"]) | follow_rates(record["inputs"], record["follow"])


def to_the_end(page: Any) -> None:
    """Slider z0 to the top of its range (End), and its image shown."""
    page.locator("#z0").focus()
    page.keyboard.press("End")
    top = page.locator("#z0").get_attribute("max")
    page.wait_for_function(f"+document.getElementById('decoded').dataset.z.split(',')[0] === {top}")
    page.wait_for_timeout(400)


# The panels that follow z, from before a drag to its end: each traversal image decoded on the page for
# a new z, and each time the map's marker is drawn somewhere new. map-paint.js draws the marker on the
# overlay canvas as a ring and a 3x3 dot in #ff5a36, in a frame callback, so on screen at that frame;
# the dot's fillRect is caught here. (tests/browser/test_local_decode.py checks that the marker's
# pixels are where the sliders put it at each frame; reading pixels here at every frame would slow
# the page being measured.)
FOLLOW = """() => {
  window.follow = {traversal: [], marker: []};
  let lastZ = null, lastAt = null;
  document.addEventListener("load", (e) => {
    const img = e.target;
    if (img.id === "traversal" && img.dataset.source === "local" && img.dataset.z !== lastZ) {
      lastZ = img.dataset.z;
      follow.traversal.push(performance.now());
    }
  }, true);
  const fillRect = CanvasRenderingContext2D.prototype.fillRect;
  CanvasRenderingContext2D.prototype.fillRect = function (x, y, w, h) {
    if (this.canvas.id === "map-overlay" && this.fillStyle === "#ff5a36" && `${x},${y}` !== lastAt) {
      lastAt = `${x},${y}`;
      follow.marker.push(performance.now());
    }
    return fillRect.call(this, x, y, w, h);
  };
}"""


def follow_rates(inputs: list[list[Any]], follow: dict[str, list[float]] | None) -> dict[str, float]:
    """Updates per second of the drag (first input to one key gap after the last) of the traversal
    rows and the map's marker; empty when the page was not watched."""
    if not follow:
        return {}
    t0, t1 = inputs[0][0], inputs[-1][0] + GAP_S * 1000
    return {k: sum(t0 <= t <= t1 for t in follow[k]) / ((t1 - t0) / 1000) for k in ("traversal", "marker")}


def drags(browser: Any, url: str, model: str, runs: int, latency_ms: float, local: bool) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    if not local:
        page.add_init_script(NO_WASM)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency_ms, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.goto(f"{url}/?model={model}")
    page.wait_for_function(LOCAL if local else "document.getElementById('decoded').complete", timeout=120_000)
    page.evaluate(LISTEN)
    if local:  # the marker is drawn once the map has its points
        page.wait_for_selector("#map-panel[data-state=ready]", state="attached", timeout=120_000)
        page.evaluate(FOLLOW)
    to_the_end(page)  # each drag then crosses z0's whole range (60 key steps of 0.1), never stopping
    key_drag(page, "ArrowLeft")  # warm-up
    key_drag(page, "ArrowRight")
    results = [key_drag(page, "ArrowLeft" if k % 2 == 0 else "ArrowRight") for k in range(runs)]
    sources = page.evaluate("[...new Set(bench.shown.map((s) => s[2]))]")
    context.close()
    keys = ("p50", "p95", "shown", "traversal", "marker") if local else ("p50", "p95", "shown")
    return {key: statistics.median(r[key] for r in results) for key in keys} | {
        "runs": results,
        "sources": sources,
    }


def first_local_decode(
    browser: Any, url: str, model: str, runs: int, phases: list[dict[str, float]]
) -> tuple[list[float], list[float]]:
    """Seconds from navigation start to the first local image: empty cache, then warm cache; each
    load's phases (ms: decoder asked for, runtime loaded, file arrived, session made) to `phases`."""
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        for times in (cold, warm):
            page = context.new_page()
            page.add_init_script("""window.firstLocal = null; document.addEventListener("vae:shown", (e) => {
              if (e.detail.source === "local" && firstLocal === null) firstLocal = performance.now(); });""")
            page.goto(f"{url}/?model={model}")
            page.wait_for_function("window.firstLocal !== null", timeout=120_000)
            times.append(page.evaluate("firstLocal") / 1000)
            phases.append(page.evaluate("localDecode.timings()"))
            page.close()
        context.close()
    return cold, warm


def visits(browser: Any, url: str, model: str) -> list[dict[str, Any]]:
    """Bytes over the wire of a first and a second visit in one browser, by request."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    out = []
    for _ in range(2):
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        urls: dict[str, str] = {}
        sizes: dict[str, float] = {}
        cdp.on(
            "Network.requestWillBeSent",
            lambda e, urls=urls: urls.__setitem__(e["requestId"], e["request"]["url"]),
        )
        cdp.on(
            "Network.loadingFinished",
            lambda e, sizes=sizes: sizes.__setitem__(e["requestId"], e["encodedDataLength"]),
        )
        cdp.send("Network.enable")
        page.goto(f"{url}/?model={model}")
        page.wait_for_function(LOCAL, timeout=120_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        by_url = {urls.get(k, k).removeprefix(url): v for k, v in sizes.items()}
        out.append({"total": sum(by_url.values()), "by_url": by_url})
        page.close()
    context.close()
    return out


def seed(cache: str) -> str:
    """`cache`, holding copies of the shipped test-set encodings: the map has its points."""
    for path in (ROOT / "weights").glob("*.encodings.npz"):
        shutil.copy(path, cache)
    return cache


def report(browser: Any, url: str, model: str, runs: int) -> list[str]:
    urllib.request.urlopen(f"{url}/decoder.onnx?model={model}", timeout=300).read()  # exported once
    z10 = urllib.request.urlopen(f"{url}/decoder.onnx?model=mnist-z10", timeout=300).read()
    lines = [
        f"decoding in the browser vs on the server: {model}, {runs} drags of {STEPS} key steps "
        f"{GAP_S * 1000:.0f} ms apart (medians over the drags)"
    ]
    lines.append(
        f"  {'latency':>8} {'path':>7} {'p50 ms':>7} {'p95 ms':>7} {'shown of 60':>12}  per drag p95"
    )
    verdicts: list[str] = []
    follows: list[str] = []
    slowest = float("inf")
    for latency in (50.0, 0.0):
        for local in (True, False):
            r = drags(browser, url, model, runs, latency, local)
            per = ", ".join(f"{x['p95']:.1f}" for x in r["runs"])
            path = "local" if local else "server"
            assert r["sources"] == [path], f"the {path} path showed images from {r['sources']}"
            lines.append(
                f"  {latency:>6.0f}ms {path:>7} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['shown']:>12.0f} ({per})"
            )
            if local:
                each = {k: ", ".join(f"{x[k]:.0f}" for x in r["runs"]) for k in ("traversal", "marker")}
                follows.append(
                    f"  {latency:>6.0f}ms: traversal rows {r['traversal']:.1f} updates/s "
                    f"({each['traversal']}); map marker {r['marker']:.1f} updates/s ({each['marker']})"
                )
                slowest = min(slowest, r["traversal"], r["marker"])
                verdicts.append(
                    f"{latency:.0f} ms: p95 <= {TARGET_P95_MS:g} ms "
                    f"{'met' if r['p95'] <= TARGET_P95_MS else 'MISSED'}"
                    + (f", all 60 shown {'met' if r['shown'] >= STEPS else 'MISSED'}" if latency else "")
                )
    lines.append(f"  on the page, during each drag ({STEPS / (STEPS * GAP_S):.0f} inputs/s), the panels that "
                 "follow z: updates per second, median (per drag)")
    lines += follows
    verdicts.append(f"traversal rows and marker >= {TARGET_FOLLOW:g} updates/s "
                    f"{'met' if slowest >= TARGET_FOLLOW else 'MISSED'}")
    phases: list[dict[str, float]] = []
    cold, warm = first_local_decode(browser, url, model, runs, phases)
    lines.append(
        f"  page load to first local image, localhost: empty cache median {statistics.median(cold):.2f} s "
        f"({', '.join(f'{t:.2f}' for t in cold)}); warm cache {statistics.median(warm):.2f} s "
        f"({', '.join(f'{t:.2f}' for t in warm)})"
    )
    for name, loads in (("empty cache", phases[0::2]), ("warm cache", phases[1::2])):
        med = {k: statistics.median(p[k] for p in loads) for k in ("asked", "runtime", "file", "session")}
        lines.append(f"    {name}, medians, ms after navigation: decoder asked for {med['asked']:.0f}, "
                     f"ONNX Runtime ready {med['runtime']:.0f}, file arrived {med['file']:.0f}, "
                     f"session made {med['session']:.0f}")
    first, second = visits(browser, url, model)
    big = sorted(first["by_url"].items(), key=lambda kv: -kv[1])[:5]
    lines.append(
        f"  first visit: {first['total'] / 1e6:.2f} MB over the wire in {len(first['by_url'])} requests; "
        "largest: " + ", ".join(f"{u.split('?')[0]} {b / 1e6:.2f} MB" for u, b in big)
    )
    again = {u: b for u, b in second["by_url"].items() if b > 0}
    lines.append(
        f"  second visit: {second['total'] / 1e3:.1f} kB in {len(again)} requests that reached the "
        "network: " + ", ".join(f"{u.split('?')[0]} {b / 1e3:.1f} kB" for u, b in again.items())
    )
    lines.append(f"  decoder of mnist-z10 (float16 weights): {len(z10) / 1e6:.2f} MB")
    verdict = {True: "met", False: "MISSED"}
    verdicts += [
        f"first local image <= {TARGET_FIRST_S:g} s {verdict[statistics.median(cold) <= TARGET_FIRST_S]}",
        f"z=10 decoder <= {TARGET_DECODER_MB:g} MB {verdict[len(z10) <= TARGET_DECODER_MB * 1e6]}",
        f"first visit <= {TARGET_VISIT_MB:g} MB {verdict[first['total'] <= TARGET_VISIT_MB * 1e6]}",
    ]
    lines.append("  targets: " + "; ".join(verdicts))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="mnist-z2")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as cache,
        serve({"VAE_CACHE_DIR": seed(cache)}) as url,
        sync_playwright() as p,
    ):
        browser = launch(p)
        print(f"headless Chromium {browser.version}")
        print("\n".join(report(browser, url, args.model, args.runs)))
        browser.close()


if __name__ == "__main__":
    main()
