"""The latent map at scale, for bench/browser.py: what the page downloads, zoom and pan frame rates
under real wheel and drag input, the manifold layer's delay, images appearing when zoomed in, and
the same pan-and-zoom path drawn three ways in the same page (the canvas pixel buffer the map uses,
canvas 2D paths as the map drew before, and WebGL points through SwiftShader) to choose between them.

Every figure is a median over `runs`; frame intervals come from requestAnimationFrame timestamps.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

FRAME_MS = 1000 / 60
TARGET_FPS = 50.0
TARGET_MANIFOLD_MS = 200.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# Frame start times while `on`; the map's paint costs are read from latentMap.costs().
FRAMES = """() => {
  window.frames = {stamps: [], on: true, costs: latentMap.costs().length};
  const loop = (t) => { frames.stamps.push(t); if (frames.on) requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
}"""
STOP = """() => {
  frames.on = false;
  return {stamps: frames.stamps, costs: latentMap.costs().slice(frames.costs)};
}"""


def frame_stats(record: dict[str, Any]) -> dict[str, float]:
    gaps = [b - a for a, b in zip(record["stamps"], record["stamps"][1:], strict=False)]
    costs = record["costs"] or [0.0]
    return {"fps": 1000 / statistics.median(gaps), "p95_gap": percentile(gaps, 95), "frames": len(gaps),
            "late": sum(1 for g in gaps if g > 1.5 * FRAME_MS), "paint": statistics.median(costs),
            "paint_p95": percentile(costs, 95), "paints": len(record["costs"])}


def wheel_zoom(page: Any, hz: float, moves: int = 120) -> dict[str, float]:
    """Real wheel input at `hz`: in for half the moves, out for the rest, around the map's centre."""
    box = page.locator("#map-overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55)
    page.evaluate(FRAMES)
    start = time.perf_counter()
    for k in range(moves):
        time.sleep(max(0.0, start + k / hz - time.perf_counter()))
        page.mouse.wheel(0, -40 if k < moves // 2 else 40)
    page.wait_for_timeout(100)
    return frame_stats(page.evaluate(STOP))


def drag_pan(page: Any, hz: float, moves: int = 120) -> dict[str, float]:
    """A mouse drag across the map at `hz`, zoomed in 3x so that it has room to move."""
    box = page.locator("#map-overlay").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate(f"latentMap.zoomAt(3, {x}, {y})")
    page.mouse.move(x - 150, y - 100)
    page.mouse.down()
    page.evaluate(FRAMES)
    start = time.perf_counter()
    for k in range(1, moves + 1):
        time.sleep(max(0.0, start + k / hz - time.perf_counter()))
        page.mouse.move(x - 150 + 300 * k / moves, y - 100 + 200 * ((k % 40) / 40))
    page.mouse.up()
    page.wait_for_timeout(100)
    stats = frame_stats(page.evaluate(STOP))
    page.evaluate("latentMap.setView(latentMap.view().home)")
    return stats


# The same path (a pan around a loop while zooming in and out) drawn with each technique, one frame
# per animation frame; `cost` is the drawing's own time per frame, with WebGL's finished by a
# one-pixel readPixels (SwiftShader draws on the CPU, like any machine without a GPU).
COMPARE = """async (frames) => {
  const P = latentMap.points(), frame = document.querySelector(".map-frame");
  const path = (k) => {
    const t = k / frames, v = P.view;
    return {cx: v.cx + 0.3 * v.half * Math.sin(2 * Math.PI * t),
            cy: v.cy + 0.2 * v.half * Math.cos(2 * Math.PI * t),
            half: v.half * (1 - 0.5 * Math.sin(Math.PI * t))};
  };
  async function run(draw) {
    const costs = [], stamps = [];
    for (let k = 0; k < frames; k++) {
      stamps.push(await new Promise(requestAnimationFrame));
      const t = performance.now();
      draw(path(k));
      costs.push(performance.now() - t);
    }
    return {costs, stamps};
  }
  const layer = () => {
    const c = document.createElement("canvas");
    const dpr = devicePixelRatio || 1;
    c.width = c.height = Math.round(P.size * dpr);
    c.style.cssText = "position:absolute;inset:0;width:100%;height:100%;pointer-events:none";
    frame.append(c);
    return c;
  };
  const out = {};
  out.pixels = await run((v) => latentMap.setView(v));
  latentMap.setView(P.view);

  const c2 = layer(), ctx = c2.getContext("2d"), dpr = c2.width / P.size;
  const byClass = P.colours.map((_, c) => []);
  for (let i = 0; i < P.n; i++) byClass[P.labels[i]].push(i);
  const css = P.colours.map(([r, g, b]) => `rgb(${r},${g},${b})`);
  out.paths = await run((v) => {
    const s = (P.size / (2 * v.half)) * dpr, ox = c2.width / 2 - v.cx * s, oy = c2.width / 2 - v.cy * s;
    ctx.clearRect(0, 0, c2.width, c2.height);
    ctx.globalAlpha = 0.7;
    byClass.forEach((members, c) => {
      ctx.fillStyle = css[c];
      ctx.beginPath();
      const e = 2.5 * dpr, h = e / 2;
      for (const i of members) ctx.rect(P.xy[2 * i] * s + ox - h, P.xy[2 * i + 1] * s + oy - h, e, e);
      ctx.fill();
    });
  });
  c2.remove();

  const c3 = layer(), gl = c3.getContext("webgl2", {antialias: false, premultipliedAlpha: true});
  if (!gl) { out.webgl = null; return out; }
  const shader = (type, src) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, src);
    gl.compileShader(s);
    return s;
  };
  const prog = gl.createProgram();
  gl.attachShader(prog, shader(gl.VERTEX_SHADER, `#version 300 es
    in vec2 xy; in vec3 colour; uniform vec3 view; uniform float edge; out vec3 c;
    void main() { gl_Position = vec4((xy.x - view.x) / view.z, -(xy.y - view.y) / view.z, 0.0, 1.0);
                  gl_PointSize = edge; c = colour; }`));
  gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, `#version 300 es
    precision mediump float; in vec3 c; out vec4 o; void main() { o = vec4(c * 0.7, 0.7); }`));
  gl.linkProgram(prog);
  gl.useProgram(prog);
  const colours = new Float32Array(P.n * 3);
  for (let i = 0; i < P.n; i++) colours.set(P.colours[P.labels[i]].map((v) => v / 255), 3 * i);
  const attribute = (name, data, size) => {
    gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
    const at = gl.getAttribLocation(prog, name);
    gl.enableVertexAttribArray(at);
    gl.vertexAttribPointer(at, size, gl.FLOAT, false, 0, 0);
  };
  attribute("xy", P.xy, 2);
  attribute("colour", colours, 3);
  gl.enable(gl.BLEND);
  gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
  gl.viewport(0, 0, c3.width, c3.height);
  const pixel = new Uint8Array(4);
  out.webgl = await run((v) => {
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.uniform3f(gl.getUniformLocation(prog, "view"), v.cx, v.cy, v.half);
    gl.uniform1f(gl.getUniformLocation(prog, "edge"), 2.5 * dpr);
    gl.drawArrays(gl.POINTS, 0, P.n);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
  });
  const debug = gl.getExtension("WEBGL_debug_renderer_info");
  out.renderer = debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  c3.remove();
  return out;
}"""


def compare(page: Any, runs: int, frames: int = 120) -> tuple[dict[str, dict[str, float]], str]:
    results: dict[str, list[dict[str, float]]] = {}
    renderer = ""
    for _ in range(runs):
        out = page.evaluate(COMPARE, frames)
        renderer = out.pop("renderer", "") or renderer
        for name, record in out.items():
            if record:
                results.setdefault(name, []).append(frame_stats({**record, "costs": record["costs"]}))
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in results.items()}
    return med, renderer


MANIFOLD = """async (steps) => {
  const box = document.getElementById("map-overlay").getBoundingClientRect();
  const before = (latentMap.timings().manifolds || []).length;
  for (let k = 0; k < steps; k++) {
    latentMap.zoomAt(k % 2 ? 0.8 : 1.25, box.left + box.width * (0.3 + 0.05 * k), box.top + box.height * 0.5);
    await new Promise((r) => setTimeout(r, 500));
  }
  return (latentMap.timings().manifolds || []).slice(before);
}"""

IMAGES = """async () => {
  const p = latentMap.pointAt(0), t = performance.now();
  while (latentMap.inView() > 200) latentMap.zoomAt(1.5, p.x, p.y);
  const zoomed = performance.now();
  const done = () => latentMap.mode() === "images" && latentMap.tilesLoading() === 0
    && latentMap.imagesDrawn() >= latentMap.inView();
  while (!done()) {
    await new Promise(requestAnimationFrame);
    if (performance.now() - zoomed > 10000) break;
  }
  const out = {ms: performance.now() - zoomed, shown: latentMap.imagesDrawn(), inView: latentMap.inView()};
  latentMap.setView(latentMap.view().home);
  return out;
}"""


def scale_report(page: Any, runs: int, hz: float) -> list[str]:
    """Lines for bench/browser.py, on a page whose map is ready."""
    out = [f"  points as sent: {page.evaluate('latentMap.timings().bytes') / 1e6:.2f} MB binary, unzipped"]
    for name, fn in (("wheel zoom", wheel_zoom), ("drag pan", drag_pan)):
        stats = [fn(page, hz) for _ in range(runs)]
        med = {k: statistics.median(s[k] for s in stats) for k in stats[0]}
        verdict = "met" if med["fps"] >= TARGET_FPS else "MISSED"
        out.append(f"  {name} at {hz:g} Hz input, median of {runs}: {med['fps']:.1f} fps (frame interval p95 "
                   f"{med['p95_gap']:.1f} ms, {med['late']:.0f} of {med['frames']:.0f} late); repaint median "
                   f"{med['paint']:.1f} ms, p95 {med['paint_p95']:.1f} ms over {med['paints']:.0f}; "
                   f">= {TARGET_FPS:g} fps {verdict}")
    med, renderer = compare(page, runs)
    out.append(f"  the same pan-and-zoom path, 120 frames, median of {runs}: drawing per frame, frame rate")
    for name, what in (("pixels", "canvas pixel buffer (the map)"), ("paths", "canvas 2D paths (before)"),
                       ("webgl", f"WebGL points ({renderer or 'unavailable'})")):
        if name in med:
            r = med[name]
            out.append(f"    {what:<40} draw median {r['paint']:5.1f} ms, p95 {r['paint_p95']:5.1f} ms; "
                       f"{r['fps']:.1f} fps, {r['late']:.0f} of {r['frames']:.0f} frames late")
        else:
            out.append(f"    {what:<40} not measured: no WebGL context")
    page.check("#map-manifold")
    page.wait_for_function("latentMap.manifold() !== null", timeout=30_000)
    delays = [ms for _ in range(runs) for ms in page.evaluate(MANIFOLD, 6)]
    page.uncheck("#map-manifold")
    if delays:
        verdict = "met" if percentile(delays, 95) <= TARGET_MANIFOLD_MS else "MISSED"
        out.append(f"  manifold layer, from the last move of the view to the frame with the new lattice, "
                   f"{len(delays)} moves: median {statistics.median(delays):.0f} ms, p95 "
                   f"{percentile(delays, 95):.0f} ms, max {max(delays):.0f} ms; "
                   f"<= {TARGET_MANIFOLD_MS:g} ms {verdict}")
    shots = [page.evaluate(IMAGES) for _ in range(runs)]
    ms = statistics.median(s["ms"] for s in shots)
    out.append(f"  zoomed in to <= 200 points: every point's image drawn {ms:.0f} ms after the zoom "
               f"(median of {runs}; {shots[-1]['shown']} images; the first run fetches the atlases)")
    return out
