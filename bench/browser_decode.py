"""Decoding in the browser (static/local-decode.js) against decoding on the server, in one run of
headless Chromium against the real app (run from bench/browser.py, or alone):

- drags: `--runs` drags of 60 key steps (ArrowRight, then ArrowLeft, on slider z0) 35 ms apart, with
  Chromium's network emulation adding 50 ms to each request and with none, on the local path and on
  the server path (the same page with WebAssembly taken away, as a browser without it sees it). Each
  input is matched to the first `vae:shown` showing its value or a later one: latency p50/p95, and
  how many of the 60 values were on screen. Medians over the drags.
- page load to the first local decode, on localhost (the server's export already on its disk), with
  an empty browser cache and with a warm one.
- bytes over the wire (Chromium's encodedDataLength: compressed bodies and headers) on a first visit
  until the first local image and the page is idle, and on a second visit in the same browser.
- the decoder file of a z=10 model.

    .venv/bin/python bench/browser_decode.py [--model mnist-z2] [--runs 5]
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

from tests.browser.harness import launch, serve  # noqa: E402

STEPS, GAP_S = 60, 0.035
TARGET_P95_MS, TARGET_FIRST_S, TARGET_DECODER_MB, TARGET_VISIT_MB = 5.0, 1.5, 1.5, 5.0
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
    page.evaluate("bench.inputs = []; bench.shown = []")
    start = time.perf_counter()
    for k in range(STEPS):
        time.sleep(max(0.0, start + k * GAP_S - time.perf_counter()))
        page.keyboard.press(key)
    final = page.locator("#z0").input_value()
    page.wait_for_function(f"document.getElementById('decoded').dataset.z.split(',')[0] === '{final}'")
    page.wait_for_timeout(400)  # the debounced grid and traversal requests end before the next drag
    record = page.evaluate("bench")
    return score(record["inputs"], record["shown"])


# While a drag goes on: each traversal image decoded on the page and loaded, and at every frame the
# map overlay's pixels (the marker is drawn there, at most once a frame).
FOLLOW = """() => {
  window.follow = {traversal: [], marker: [], frames: [], on: true, t0: performance.now()};
  let lastM = null;
  document.addEventListener("load", (e) => {
    if (follow.on && e.target.id === "traversal" && e.target.dataset.source === "local") {
      follow.traversal.push(performance.now());
    }
  }, true);
  const overlay = document.getElementById("map-overlay");
  const ctx = overlay?.getContext("2d");
  const loop = () => {
    follow.frames.push(performance.now());
    if (ctx && overlay.width) {
      const px = ctx.getImageData(0, 0, overlay.width, overlay.height).data;
      let h = 0;
      for (let i = 0; i < px.length; i += 7) h = (h * 31 + px[i]) | 0;
      if (h !== lastM) { follow.marker.push(performance.now()); lastM = h; }
    }
    if (follow.on) requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}"""


def follow_rates(page: Any) -> dict[str, float]:
    """Updates per second of the traversal rows and the map's marker during one key drag."""
    page.locator("#map-panel").scroll_into_view_if_needed()
    ready = page.evaluate("document.getElementById('map-panel')?.dataset.state === 'ready'")
    page.locator("#z0").scroll_into_view_if_needed()
    page.evaluate(FOLLOW)
    start = time.perf_counter()
    key_drag(page, "ArrowRight")
    seconds = time.perf_counter() - start - 0.4  # key_drag waits 400 ms after the last key
    record = page.evaluate("(() => { follow.on = false; return follow; })()")
    rate = {k: (len(record[k]) - 1) / seconds for k in ("traversal", "marker", "frames")}
    return rate if ready else {**rate, "marker": float("nan")}


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
    key_drag(page, "ArrowRight")  # warm-up
    key_drag(page, "ArrowLeft")
    results = [key_drag(page, "ArrowRight" if k % 2 == 0 else "ArrowLeft") for k in range(runs)]
    sources = page.evaluate("[...new Set(bench.shown.map((s) => s[2]))]")
    rates = follow_rates(page) if local and not latency_ms else {}
    context.close()
    return {key: statistics.median(r[key] for r in results) for key in ("p50", "p95", "shown")} | {
        "runs": results,
        "sources": sources,
        "rates": rates,
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
    verdicts = []
    for latency in (50.0, 0.0):
        for local in (True, False):
            r = drags(browser, url, model, runs, latency, local)
            per = ", ".join(f"{x['p95']:.1f}" for x in r["runs"])
            path = "local" if local else "server"
            assert r["sources"] == [path], f"the {path} path showed images from {r['sources']}"
            lines.append(
                f"  {latency:>6.0f}ms {path:>7} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['shown']:>12.0f} ({per})"
            )
            if r["rates"]:
                rates = r["rates"]
                lines.append(f"  {'':>16} during a drag: traversal rows {rates['traversal']:.0f} updates/s, "
                             f"map marker {rates['marker']:.0f} updates/s (nan: no map data), "
                             f"{rates['frames']:.0f} frames/s")
            if local:
                verdicts.append(
                    f"{latency:.0f} ms: p95 <= {TARGET_P95_MS:g} ms "
                    f"{'met' if r['p95'] <= TARGET_P95_MS else 'MISSED'}"
                    + (f", all 60 shown {'met' if r['shown'] >= STEPS else 'MISSED'}" if latency else "")
                )
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
        serve({"VAE_CACHE_DIR": cache}) as url,
        sync_playwright() as p,
    ):
        browser = launch(p)
        print(f"headless Chromium {browser.version}")
        print("\n".join(report(browser, url, args.model, args.runs)))
        browser.close()


if __name__ == "__main__":
    main()
