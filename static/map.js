// The latent map: the encoder means of the model's whole test set (GET /encodings), one point per
// image, coloured by class. Two stacked canvases: the points, drawn in one pass per class when the
// data, the view or the size changes; and an overlay (the grid's range, the current z, the hovered
// and clicked points), redrawn alone, so hovering and dragging never repaint 10,000 points.
// Hover picking looks in a uniform grid of PICK-pixel cells: a 3x3 block of cells, not every point.
(() => {
  "use strict";

  const DOT = 2.5; // point edge, CSS pixels
  const PICK = 6; // hover radius and index cell, CSS pixels
  const byId = (id) => document.getElementById(id);
  const sliderZ = () => [...document.querySelectorAll("#sliders input[type=range]")].map((s) => +s.value);

  let map = null; // the map on the page now; a model switch replaces the panel and with it the map

  // The grid's dimensions and range, from the grid picture's data attributes (set by the server).
  function gridOf() {
    const d = document.querySelector(".grid-frame")?.dataset;
    return d ? { x: +d.x, y: +d.y, lo: +d.lo, hi: +d.hi } : { x: 0, y: 1, lo: -3, hi: 3 };
  }

  function start(panel) {
    map?.abort.abort();
    map?.resize?.disconnect();
    const m = {
      panel, model: panel.dataset.model, bound: +panel.dataset.bound, range: +panel.dataset.range,
      base: byId("map"), overlay: byId("map-overlay"), frameBox: panel.querySelector(".map-frame"),
      abort: new AbortController(), data: null, hover: -1, pinned: -1, frame: 0, timings: {},
    };
    map = m;
    panel.dataset.state = "loading";
    const asked = performance.now();
    fetch(`/encodings?model=${encodeURIComponent(m.model)}`, { signal: m.abort.signal })
      .then(async (r) => {
        const body = await r.text();
        const arrived = performance.now(); // the data has arrived: first paint is timed from here
        if (map !== m) return;
        if (!r.ok) return fail(m, errorText(body, r.status));
        m.data = prepare(JSON.parse(body));
        m.timings = { fetch: arrived - asked, parse: performance.now() - arrived };
        listen(m);
        layout(m);
        m.timings.drawn = performance.now() - arrived;
        // the second frame callback runs after the frame that showed the points was painted
        requestAnimationFrame(() => requestAnimationFrame(() => {
          m.timings.painted = performance.now() - arrived;
          panel.dataset.state = "ready";
        }));
      })
      .catch((e) => {
        if (e.name !== "AbortError" && map === m) fail(m, "The encodings could not be loaded; reload the page.");
      });
  }

  function errorText(body, status) {
    try {
      return JSON.parse(body).detail;
    } catch {
      return `The server answered ${status}.`;
    }
  }

  function fail(m, text) {
    m.panel.dataset.state = "error";
    const status = byId("map-status");
    status.textContent = text;
    status.classList.add("message");
    m.panel.querySelector(".downloads").hidden = true;
  }

  // JSON rows -> flat typed arrays, and each class's point indices for one fill per class.
  function prepare(json) {
    const n = json.count, d = json.latent_dim;
    const means = new Float32Array(n * d);
    json.means.forEach((row, i) => means.set(row, i * d));
    const labels = Uint8Array.from(json.labels);
    const counts = new Uint32Array(json.class_names.length);
    labels.forEach((c) => counts[c]++);
    const byClass = [...counts].map((c) => new Uint32Array(c));
    const fill = new Uint32Array(counts.length);
    labels.forEach((c, i) => { byClass[c][fill[c]++] = i; });
    let pca = null;
    if (json.pca) {
      const points = new Float32Array(n * 2);
      json.pca.points.forEach((p, i) => points.set(p, i * 2));
      pca = { points, components: json.pca.components, mean: json.pca.mean, explained: json.pca.explained_variance_ratio };
    }
    return { n, d, means, labels, byClass, names: json.class_names, pca };
  }

  function listen(m) {
    const view = byId("map-view");
    if (view && !m.data.pca) view.querySelector("option[value=pca]").disabled = true;
    view?.addEventListener("change", () => layout(m));
    m.overlay.addEventListener("pointermove", (e) => hover(m, pick(m, e.offsetX, e.offsetY)));
    m.overlay.addEventListener("pointerleave", () => hover(m, -1));
    m.overlay.addEventListener("click", (e) => choose(m, pick(m, e.offsetX, e.offsetY)));
    m.frameBox.addEventListener("keydown", (e) => key(m, e));
    let width = m.frameBox.clientWidth;
    m.resize = new ResizeObserver(() => {
      if (m.frameBox.clientWidth !== width) {
        width = m.frameBox.clientWidth;
        layout(m);
      }
    });
    m.resize.observe(m.frameBox);
  }

  // ---- the view: which plane, its bounds, every point's place on screen -----------------------

  function planeOf(m) {
    const pca = byId("map-view")?.value === "pca" && m.data.pca;
    const g = gridOf();
    return { kind: pca ? "pca" : "axes", grid: g, key: pca ? "pca" : `${g.x},${g.y},${g.lo},${g.hi}` };
  }

  // A latent vector -> its (x, y) on the plane.
  function project(m, z) {
    const p = m.plane;
    if (p.kind === "axes") return [z[p.grid.x], z[p.grid.y]];
    const { components: c, mean } = m.data.pca;
    let x = 0, y = 0;
    for (let k = 0; k < z.length; k++) {
      x += (z[k] - mean[k]) * c[0][k];
      y += (z[k] - mean[k]) * c[1][k];
    }
    return [x, y];
  }

  // The grid's square [lo, hi]^2 in its two dimensions around the current z, as plane corners.
  function outline(m) {
    const { x, y, lo, hi } = m.plane.grid;
    const z = sliderZ();
    return [[lo, lo], [hi, lo], [hi, hi], [lo, hi]].map(([a, b]) => {
      const c = z.slice();
      c[x] = a;
      c[y] = b;
      return project(m, c);
    });
  }

  function coordinates(m) {
    const { n, d, means, pca } = m.data;
    if (m.plane.kind === "pca") return pca.points;
    const xy = new Float32Array(n * 2);
    const { x, y } = m.plane.grid;
    for (let i = 0; i < n; i++) {
      xy[2 * i] = means[i * d + x];
      xy[2 * i + 1] = means[i * d + y];
    }
    return xy;
  }

  // A square view around 99.6% of the points (a few outliers do not shrink the map), the grid's
  // outline and, on the grid's axes, the sliders' whole range: the marker never leaves the map.
  function bounds(m, xy) {
    const n = xy.length / 2;
    const ends = [0, 1].map((axis) => {
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = xy[2 * i + axis];
      v.sort();
      const at = (q) => v[Math.min(n - 1, Math.floor(q * n))];
      return n ? [at(0.002), at(0.998)] : [0, 0];
    });
    const r = m.plane.kind === "axes" ? m.range : 0;
    for (const [x, y] of [...outline(m), [-r, -r], [r, r]]) {
      ends[0] = [Math.min(ends[0][0], x), Math.max(ends[0][1], x)];
      ends[1] = [Math.min(ends[1][0], y), Math.max(ends[1][1], y)];
    }
    const half = 1.06 * Math.max(ends[0][1] - ends[0][0], ends[1][1] - ends[1][0], 1e-3) / 2;
    return { cx: (ends[0][0] + ends[0][1]) / 2, cy: (ends[1][0] + ends[1][1]) / 2, half };
  }

  // Plane -> CSS pixels on the canvas; y grows downward, as down the grid picture.
  function toScreen(m, [x, y]) {
    const { cx, cy, half } = m.box;
    const s = m.size / (2 * half);
    return [(x - cx) * s + m.size / 2, (y - cy) * s + m.size / 2];
  }

  function layout(m) {
    m.plane = planeOf(m);
    const xy = coordinates(m);
    m.box = bounds(m, xy);
    m.size = m.frameBox.clientWidth;
    const { cx, cy, half } = m.box;
    const s = m.size / (2 * half);
    const n = m.data.n;
    m.xy = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      m.xy[2 * i] = (xy[2 * i] - cx) * s + m.size / 2;
      m.xy[2 * i + 1] = (xy[2 * i + 1] - cy) * s + m.size / 2;
    }
    index(m);
    drawPoints(m);
    drawOverlay(m);
    describeAxes(m);
    byId("map-status").hidden = true;
  }

  function axisNames(m) {
    return m.plane.kind === "pca" ? ["PC1", "PC2"] : [`z${m.plane.grid.x}`, `z${m.plane.grid.y}`];
  }

  function describeAxes(m) {
    const [x, y] = axisNames(m);
    const share = m.plane.kind === "pca"
      ? ` (${Math.round(100 * (m.data.pca.explained[0] + m.data.pca.explained[1]))}% of the variance)` : "";
    byId("map-axes").textContent = `${m.data.n.toLocaleString("en")} points: ${x} to the right, ${y} downward${share}`;
    const option = byId("map-view")?.querySelector("option[value=axes]");
    if (option) option.textContent = `the grid's axes, z${m.plane.grid.x} and z${m.plane.grid.y}`;
  }

  // ---- hover index: points bucketed by PICK x PICK cell (a counting sort) ----------------------

  function index(m) {
    const cols = Math.ceil(m.size / PICK) + 1;
    const n = m.data.n;
    const cell = new Int32Array(n);
    const start = new Uint32Array(cols * cols + 1);
    for (let i = 0; i < n; i++) {
      const cx = Math.floor(m.xy[2 * i] / PICK), cy = Math.floor(m.xy[2 * i + 1] / PICK);
      cell[i] = cx >= 0 && cy >= 0 && cx < cols && cy < cols ? cy * cols + cx : -1;
      if (cell[i] >= 0) start[cell[i] + 1]++;
    }
    for (let c = 0; c < cols * cols; c++) start[c + 1] += start[c];
    const items = new Uint32Array(start[cols * cols]);
    const next = start.slice(0, cols * cols);
    for (let i = 0; i < n; i++) if (cell[i] >= 0) items[next[cell[i]]++] = i;
    m.cells = { cols, start, items };
  }

  // The nearest point within PICK pixels of (x, y), or -1.
  function pick(m, x, y) {
    const { cols, start, items } = m.cells;
    const cx = Math.floor(x / PICK), cy = Math.floor(y / PICK);
    let best = -1, bestD = PICK * PICK;
    for (let j = Math.max(0, cy - 1); j <= Math.min(cols - 1, cy + 1); j++) {
      for (let i = Math.max(0, cx - 1); i <= Math.min(cols - 1, cx + 1); i++) {
        const c = j * cols + i;
        for (let k = start[c]; k < start[c + 1]; k++) {
          const p = items[k];
          const dx = m.xy[2 * p] - x, dy = m.xy[2 * p + 1] - y;
          const dd = dx * dx + dy * dy;
          if (dd <= bestD) [best, bestD] = [p, dd];
        }
      }
    }
    return best;
  }

  // ---- drawing -----------------------------------------------------------------------------

  function sized(canvas, size) {
    const dpr = window.devicePixelRatio || 1;
    const px = Math.round(size * dpr);
    if (canvas.width !== px) canvas.width = canvas.height = px;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size, size);
    return ctx;
  }

  // Unit lines (every 1, 2 or 5 units, whichever gives at most ~12), the axes through 0 darker.
  function drawAxes(m, ctx) {
    const { cx, cy, half } = m.box;
    const step = [1, 2, 5, 10, 20, 50].find((s) => (2 * half) / s <= 12) || 100;
    ctx.lineWidth = 1;
    for (const [axis, centre] of [[0, cx], [1, cy]]) {
      for (let v = Math.ceil((centre - half) / step) * step; v <= centre + half; v += step) {
        const p = toScreen(m, axis === 0 ? [v, cy] : [cx, v])[axis];
        ctx.strokeStyle = v === 0 ? "#b8bfcc" : "#eceef2";
        ctx.beginPath();
        if (axis === 0) { ctx.moveTo(p, 0); ctx.lineTo(p, m.size); } else { ctx.moveTo(0, p); ctx.lineTo(m.size, p); }
        ctx.stroke();
      }
    }
    const [x, y] = axisNames(m);
    ctx.fillStyle = "#5b6475";
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText(`${x} →`, m.size - 40, m.size - 6);
    ctx.fillText(`${y} ↓`, 6, 16);
  }

  function drawPoints(m) {
    const ctx = sized(m.base, m.size);
    drawAxes(m, ctx);
    const style = getComputedStyle(m.panel);
    const r = DOT / 2;
    ctx.globalAlpha = 0.7;
    m.data.byClass.forEach((members, c) => {
      ctx.fillStyle = style.getPropertyValue(`--class-${c}`).trim() || "#333";
      ctx.beginPath();
      for (const i of members) ctx.rect(m.xy[2 * i] - r, m.xy[2 * i + 1] - r, DOT, DOT);
      ctx.fill();
    });
    ctx.globalAlpha = 1;
  }

  function ring(ctx, [x, y], radius, color) {
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.lineWidth = 4;
    ctx.strokeStyle = "rgba(255, 255, 255, 0.85)";
    ctx.stroke();
    ctx.lineWidth = 2;
    ctx.strokeStyle = color;
    ctx.stroke();
  }

  function drawOverlay(m) {
    m.frame = 0;
    const ctx = sized(m.overlay, m.size);
    const corners = outline(m).map((p) => toScreen(m, p));
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#4353c7";
    ctx.beginPath();
    corners.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath();
    ctx.stroke();
    ctx.setLineDash([]);
    if (m.pinned >= 0) ring(ctx, [m.xy[2 * m.pinned], m.xy[2 * m.pinned + 1]], 5, "#4353c7");
    if (m.hover >= 0) ring(ctx, [m.xy[2 * m.hover], m.xy[2 * m.hover + 1]], 5, "#1d2330");
    const [x, y] = toScreen(m, project(m, sliderZ()));
    ring(ctx, [x, y], 8, "#ff5a36");
    ctx.fillStyle = "#ff5a36";
    ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
  }

  function redraw(m) {
    if (m?.xy && !m.frame) m.frame = requestAnimationFrame(() => drawOverlay(m));
  }

  // ---- hovering and clicking -----------------------------------------------------------------

  // Point i's mean as stored (float16 values), within the API's bound; `digits` rounds it for URLs.
  function meanOf(m, i, digits) {
    const { d, means } = m.data;
    const z = [];
    for (let k = 0; k < d; k++) {
      const v = Math.max(-m.bound, Math.min(m.bound, means[i * d + k]));
      z.push(digits ? +v.toFixed(digits) : v);
    }
    return z;
  }

  function describe(m, i) {
    return `test image ${i}, labelled ${m.data.names[m.data.labels[i]]}`;
  }

  // The point's decoded mean and its original image beside the map.
  function show(m, i) {
    const caption = byId("map-point-caption");
    const pair = m.panel.querySelector(".map-point .pair");
    byId("map-point").dataset.index = i;
    if (i < 0) {
      pair.hidden = true;
      caption.textContent = "Hover a point to see its decoded mean and its original.";
      return;
    }
    const model = encodeURIComponent(m.model);
    byId("map-decoded").src = `/decode?model=${model}&z=${meanOf(m, i, 4).join(",")}`;
    byId("map-original").src = `/encodings/${i}/original.png?model=${model}`;
    caption.textContent = `${describe(m, i)[0].toUpperCase()}${describe(m, i).slice(1)}${i === m.pinned ? " (clicked)" : ""}`;
    pair.hidden = false;
  }

  function hover(m, i) {
    m.overlay.style.cursor = i >= 0 ? "pointer" : "";
    if (i === m.hover) return;
    m.hover = i;
    show(m, i >= 0 ? i : m.pinned);
    redraw(m);
  }

  // A click moves every slider to the point's mean, and keeps the point as the "map point" that
  // the interpolation can start or end at.
  function choose(m, i) {
    if (i < 0) return;
    m.pinned = i;
    m.panel.dataset.pinnedZ = meanOf(m, i, 4).join(",");
    m.panel.dataset.pinnedLabel = describe(m, i);
    show(m, i);
    document.dispatchEvent(new CustomEvent("vae:set-z", { detail: { z: meanOf(m, i) } }));
    document.dispatchEvent(new CustomEvent("vae:sources"));
  }

  // ---- the keyboard: arrows step from point to point, Enter goes there -------------------------

  const STEPS = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] };

  function key(m, e) {
    if (!m.xy) return;
    if (STEPS[e.key]) hover(m, step(m, STEPS[e.key]));
    else if ((e.key === "Enter" || e.key === " ") && m.hover >= 0) choose(m, m.hover);
    else if (e.key === "Escape") hover(m, -1);
    else return;
    e.preventDefault(); // no page scroll
  }

  // From the hovered point (or the current z), the nearest point at least a pixel ahead in direction
  // (dx, dy), sideways distance counting double; the hovered point itself when none is ahead.
  function step(m, [dx, dy]) {
    const [fx, fy] = m.hover >= 0 ? [m.xy[2 * m.hover], m.xy[2 * m.hover + 1]] : toScreen(m, project(m, sliderZ()));
    let best = m.hover, bestScore = Infinity;
    for (let i = 0; i < m.data.n; i++) {
      const ox = m.xy[2 * i] - fx, oy = m.xy[2 * i + 1] - fy;
      const ahead = ox * dx + oy * dy;
      if (ahead < 1) continue;
      const score = ahead + 2 * Math.abs(ox * dy - oy * dx);
      if (score < bestScore) [best, bestScore] = [i, score];
    }
    return best;
  }

  // ---- following the page --------------------------------------------------------------------

  function follow() {
    const panel = byId("map-panel");
    if (panel && panel !== map?.panel) start(panel);
  }

  document.addEventListener("input", (event) => {
    if (event.target.closest?.("#z-form")) redraw(map); // the marker follows the sliders
  });
  document.addEventListener("htmx:afterSettle", () => {
    follow();
    // a new grid (other axes or range) changes the plane or at least the outline
    if (map?.xy && planeOf(map).key !== map.plane.key) layout(map);
    else redraw(map);
  });

  // For the browser tests and bench/browser.py: where things are in the window, the timings.
  function client([x, y]) {
    const box = map.overlay.getBoundingClientRect();
    return { x: box.left + x, y: box.top + y };
  }
  window.latentMap = {
    timings: () => ({ ...map?.timings }),
    count: () => map?.data?.n ?? 0,
    hovered: () => map?.hover ?? -1,
    pointAt: (i) => client([map.xy[2 * i], map.xy[2 * i + 1]]),
    markerAt: () => client(toScreen(map, project(map, sliderZ()))),
    outline: () => outline(map).map((p) => client(toScreen(map, p))),
    drawOverlay: () => drawOverlay(map),
  };

  follow();
})();
