// The latent map: the encoder means of the model's data set (GET /encodings?format=binary: the test
// split, and the training split when it is on the machine, 70,000 points for MNIST), one point per
// image, coloured by class or by split. Zoom (wheel, pinch, + and -), pan (drag, Shift+arrows) and
// double-click (or 0) to go back; zoomed in far enough, the points become their images.
//
// Two stacked canvases: the base (map-paint.js: the manifold layer, lines and numbers, the points
// written into a pixel buffer, images), repainted once per animation frame while the view moves;
// and the overlay (grid outline, current z, hovered and clicked points, the lasso), redrawn alone.
// Canvas 2D with a pixel buffer, not WebGL: bench/browser.py measures both (docs/performance.md).
// Hover picking asks a uniform grid over the plane, built once per plane (map-data.js): exact at any
// zoom, since the search radius is converted to plane units. The pointer and the keys: map-input.js;
// selection: map-select.js; images and the manifold layer: map-images.js. The view (zoom and pan,
// points shown, colours, plane) lives in the page URL (map-link.js), so a link restores it.

import { buildIndex, coordinates, parse, spread } from "./map-data.js";
import { drawImages, drawManifold, manifoldAvailable, newTiles, refreshManifold } from "./map-images.js";
import { listenInput } from "./map-input.js";
import { readUrl, writeUrl as writeLink } from "./map-link.js";
import { factorLegend, loadFactors } from "./map-factors.js";
import { drawBase, drawOverlay, palette, toPlane, toScreen } from "./map-paint.js";
import { download, select, showSelection } from "./map-select.js";

const ZOOM_IN = 4000, ZOOM_OUT = 4; // how far from the home view
const byId = (id) => document.getElementById(id);
const sliderZ = () => [...document.querySelectorAll("#sliders input[type=range]")].map((s) => +s.value);

let map = null; // the map on the page now; a model switch replaces the panel and with it the map
let firstStart = true; // only the page's first map restores its view from the URL

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
    abort: new AbortController(), data: null, hover: -1, pinned: -1, frame: 0, overlayFrame: 0, timings: {},
    costs: [], tiles: newTiles(), manifold: { on: false }, imagesKind: "original", colorBy: "class",
    pointers: new Map(), gesture: null, selection: null, restore: firstStart ? readUrl() : null,
  };
  firstStart = false;
  map = m;
  panel.dataset.state = "loading";
  const asked = performance.now();
  fetch(`/encodings?model=${encodeURIComponent(m.model)}&format=binary`, { signal: m.abort.signal })
    .then(async (r) => {
      const body = r.ok ? await r.arrayBuffer() : await r.text();
      const arrived = performance.now(); // the data has arrived: first paint is timed from here
      if (map !== m) return;
      if (!r.ok) return fail(m, errorText(body, r.status));
      m.data = parse(body);
      m.timings = { fetch: arrived - asked, parse: performance.now() - arrived, bytes: body.byteLength };
      m.palette = palette(panel, m.data.names.length);
      setUp(m);
      listen(m);
      layout(m);
      loadFactors(m, () => { legend(m); render(m); }); // colour by a factor, when the data has them
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

// ---- the controls, and the URL that holds them (map-link.js) -----------------------------------

const writeUrl = (m) => writeLink(m, (x) => x === map);

// The controls' state, from the URL on the page's first map.
function setUp(m) {
  const r = m.restore || {};
  const has = (name) => m.data.splits.some((s) => s.name === name);
  const splitBox = byId("map-split");
  splitBox.closest("label").hidden = !has("train");
  m.split = has("train") && ["test", "train"].includes(r.points) ? r.points : "both";
  splitBox.value = m.split;
  m.colorBy = r.color === "split" && has("train") ? "split" : "class";
  m.factorWanted = r.color; // "factor:k" is restored once the factors arrive (map-factors.js)
  byId("map-color").value = m.colorBy;
  byId("map-color").closest("label").hidden = !has("train");
  const view = byId("map-view");
  if (view && !m.data.pca) view.querySelector("option[value=pca]").disabled = true;
  if (view && r.plane === "pca" && m.data.pca) view.value = "pca";
  m.imagesKind = byId("map-images").value;
  m.manifold.on = byId("map-manifold").checked;
  shownSplits(m);
  legend(m);
}

function shownSplits(m) {
  const { n, splitOf, splits } = m.data;
  const want = splits.map((s) => m.split === "both" || s.name === m.split);
  m.show = new Uint8Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) if (want[splitOf[i]]) m.show[i] = 1, count++;
  m.count = count;
}

function legend(m) {
  byId("map-classes")?.toggleAttribute("hidden", m.colorBy !== "class");
  byId("map-splits")?.toggleAttribute("hidden", m.colorBy !== "split");
  factorLegend(m);
}

function listen(m) {
  const on = (id, type, handler) => byId(id)?.addEventListener(type, handler, { signal: m.abort.signal });
  on("map-view", "change", () => { layout(m); writeUrl(m); });
  on("map-split", "change", (e) => {
    m.split = e.target.value;
    shownSplits(m);
    setSelection(m, null);
    if (m.hover >= 0 && !m.show[m.hover]) hover(m, -1);
    describeAxes(m);
    render(m);
    writeUrl(m);
  });
  on("map-color", "change", (e) => { m.colorBy = e.target.value; legend(m); render(m); writeUrl(m); });
  on("map-images", "change", (e) => { m.imagesKind = e.target.value; render(m); });
  on("map-manifold", "change", (e) => {
    m.manifold.on = e.target.checked;
    m.panel.dataset.manifold = m.manifold.on ? "on" : "off";
    moved(m);
  });
  on("map-lasso", "click", (e) => {
    const pressed = e.currentTarget.getAttribute("aria-pressed") !== "true";
    e.currentTarget.setAttribute("aria-pressed", String(pressed));
    m.frameBox.dataset.lasso = pressed ? "on" : "off";
  });
  on("map-select-view", "click", () => {
    const { cx, cy, half } = m.view;
    setSelection(m, select(m, null, { x0: cx - half, x1: cx + half, y0: cy - half, y1: cy + half }));
  });
  on("map-reset", "click", () => goHome(m));
  on("map-selection-clear", "click", () => setSelection(m, null));
  on("map-selection-csv", "click", () => m.selection && download(m));
  for (const button of document.querySelectorAll("#map-selection [data-interp-end]")) {
    button.addEventListener("click", () => {
      document.querySelector(`#interp-panel [data-end=${button.dataset.interpEnd}][data-source=selection]`)?.click();
    }, { signal: m.abort.signal });
  }
  listenInput(m, {
    hover: (i) => hover(m, i), choose: (i) => choose(m, i), zoomAt: (f, x, y) => zoomAt(m, f, x, y),
    panBy: (dx, dy) => panBy(m, dx, dy), goHome: () => goHome(m), setSelection: (s) => setSelection(m, s),
    redraw: () => redraw(m), marker: () => toScreen(m, project(m, sliderZ())),
  }, m.abort.signal);
  let width = m.frameBox.clientWidth;
  m.resize = new ResizeObserver(() => {
    if (m.frameBox.clientWidth !== width) {
      width = m.frameBox.clientWidth;
      m.size = width;
      render(m);
    }
  });
  m.resize.observe(m.frameBox);
}

// ---- the plane, its home view, and the current view ------------------------------------------

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

// A square view around 99.6% of the points, the grid's outline and, on the grid's axes, the
// sliders' whole range: the marker never leaves the home view.
function homeView(m) {
  const ends = spread(m.xy);
  const r = m.plane.kind === "axes" ? m.range : 0;
  for (const [x, y] of [...outline(m), [-r, -r], [r, r]]) {
    ends[0] = [Math.min(ends[0][0], x), Math.max(ends[0][1], x)];
    ends[1] = [Math.min(ends[1][0], y), Math.max(ends[1][1], y)];
  }
  const half = 1.06 * Math.max(ends[0][1] - ends[0][0], ends[1][1] - ends[1][0], 1e-3) / 2;
  return { cx: (ends[0][0] + ends[0][1]) / 2, cy: (ends[1][0] + ends[1][1]) / 2, half };
}

// A new plane (first load, other grid axes, the PCA view): coordinates, index, home view. Another
// grid range on the same axes only moves the home view (the outline is part of it): the view stays.
function layout(m) {
  const before = m.plane;
  m.plane = planeOf(m);
  const sameAxes = before && before.kind === m.plane.kind
    && (m.plane.kind === "pca" || (before.grid.x === m.plane.grid.x && before.grid.y === m.plane.grid.y));
  if (!sameAxes) m.xy = coordinates(m.data, m.plane);
  m.home = homeView(m);
  m.index = buildIndex(m.xy, m.home);
  const restored = m.restore?.view;
  m.view = restored ? clampView(m, restored) : sameAxes ? m.view : { ...m.home };
  m.restore = null;
  m.size = m.frameBox.clientWidth;
  if (!sameAxes) m.hover = -1;
  const manifold = byId("map-manifold");
  manifold.disabled = !manifoldAvailable(m);
  manifold.closest("label").title = manifold.disabled ? "the manifold layer needs the grid's axes as the map's plane" : "";
  describeAxes(m);
  byId("map-status").hidden = true;
  paint(m);
  refreshManifold(m, sliderZ, () => render(m));
  writeUrl(m);
}

function clampView(m, v) {
  const half = Math.min(m.home.half * ZOOM_OUT, Math.max(m.home.half / ZOOM_IN, v.half));
  const reach = m.home.half * ZOOM_OUT; // the centre stays near the data
  const c = (value, home) => Math.min(home + reach, Math.max(home - reach, value));
  return { cx: c(v.cx, m.home.cx), cy: c(v.cy, m.home.cy), half };
}

function axisNames(m) {
  return m.plane.kind === "pca" ? ["PC1", "PC2"] : [`z${m.plane.grid.x}`, `z${m.plane.grid.y}`];
}

function describeAxes(m) {
  const [x, y] = axisNames(m);
  const share = m.plane.kind === "pca"
    ? ` (${Math.round(100 * (m.data.pca.explained[0] + m.data.pca.explained[1]))}% of the variance)` : "";
  const which = m.data.splits.length > 1 && m.split !== "both" ? ` (the ${m.split === "test" ? "test" : "training"} set)` : "";
  byId("map-axes").textContent = `${m.count.toLocaleString("en")} points${which}: ${x} to the right, ${y} downward${share}`;
  const option = byId("map-view")?.querySelector("option[value=axes]");
  if (option) option.textContent = `the grid's axes, z${m.plane.grid.x} and z${m.plane.grid.y}`;
}

// ---- painting ------------------------------------------------------------------------------

function paint(m) {
  const t = performance.now();
  m.frame = 0;
  if (!m.size) return; // not laid out yet (hidden, or being swapped in): the resize observer repaints
  const layers = {
    under: (ctx) => drawManifold(m, ctx),
    over: (ctx, inView) => drawImages(m, ctx, inView, () => render(m)),
  };
  drawBase(m, layers, axisNames(m));
  m.panel.dataset.mode = m.mode;
  drawOverlay(m, outline(m), project(m, sliderZ()));
  m.costs.push(performance.now() - t);
  if (m.costs.length > 600) m.costs.splice(0, 300);
}

// Everything, at the next frame (many moves in one frame paint once).
function render(m) {
  if (m?.xy && !m.frame) m.frame = requestAnimationFrame(() => paint(m));
}

function redraw(m) {
  if (!m?.xy || m.frame || m.overlayFrame) return;
  m.overlayFrame = requestAnimationFrame(() => {
    m.overlayFrame = 0;
    drawOverlay(m, outline(m), project(m, sliderZ()));
  });
}

// The view moved: repaint, and later a new lattice and URL.
function moved(m) {
  render(m);
  refreshManifold(m, sliderZ, () => render(m));
  writeUrl(m);
}

function goHome(m) {
  m.view = { ...m.home };
  moved(m);
}

// Zoom by `factor` keeping the plane point under (sx, sy) (CSS pixels on the map) where it is.
function zoomAt(m, factor, sx, sy) {
  const [px, py] = toPlane(m, [sx, sy]);
  const half = Math.min(m.home.half * ZOOM_OUT, Math.max(m.home.half / ZOOM_IN, m.view.half / factor));
  const s = m.size / (2 * half);
  m.view = clampView(m, { cx: px - (sx - m.size / 2) / s, cy: py - (sy - m.size / 2) / s, half });
  moved(m);
}

function panBy(m, dx, dy) {
  const s = m.size / (2 * m.view.half);
  m.view = clampView(m, { cx: m.view.cx - dx / s, cy: m.view.cy - dy / s, half: m.view.half });
  moved(m);
}

function setSelection(m, selection) {
  m.selection = selection;
  showSelection(m);
  render(m);
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

// Point i's split and its position in it.
function whereIs(m, i) {
  const split = m.data.splits[m.data.splitOf[i]];
  return { split: split.name, local: i - split.start };
}

function describe(m, i) {
  const { split, local } = whereIs(m, i);
  return `${split === "test" ? "test" : "training"} image ${local}, labelled ${m.data.names[m.data.labels[i]]}`;
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
  const { split, local } = whereIs(m, i);
  byId("map-decoded").src = `/decode?model=${model}&z=${meanOf(m, i, 4).join(",")}`;
  byId("map-original").src = `/encodings/${local}/original.png?model=${model}${split === "test" ? "" : `&split=${split}`}`;
  const text = describe(m, i);
  caption.textContent = `${text[0].toUpperCase()}${text.slice(1)}${i === m.pinned ? " (clicked)" : ""}`;
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

// ---- following the page --------------------------------------------------------------------

function follow() {
  const panel = byId("map-panel");
  if (panel && panel !== map?.panel) start(panel);
}

document.addEventListener("input", (event) => {
  if (event.target.closest?.("#z-form") && map?.xy) {
    redraw(map); // the marker follows the sliders
    refreshManifold(map, sliderZ, () => render(map)); // the manifold is the plane through z
  }
});
document.addEventListener("htmx:afterSettle", () => {
  follow();
  // a new grid (other axes or range) changes the plane or at least the outline
  if (map?.xy && planeOf(map).key !== map.plane.key) layout(map);
  else redraw(map);
});

// For the browser tests and bench/browser.py: where things are in the window, the timings, the view.
function client([x, y]) {
  const box = map.overlay.getBoundingClientRect();
  return { x: box.left + x, y: box.top + y };
}
window.latentMap = {
  timings: () => ({ ...map?.timings }),
  count: () => map?.count ?? 0,
  total: () => map?.data?.n ?? 0,
  hovered: () => map?.hover ?? -1,
  pointAt: (i) => client(toScreen(map, [map.xy[2 * i], map.xy[2 * i + 1]])),
  markerAt: () => client(toScreen(map, project(map, sliderZ()))),
  outline: () => outline(map).map((p) => client(toScreen(map, p))),
  drawOverlay: () => drawOverlay(map, outline(map), project(map, sliderZ())),
  paint: () => paint(map),
  setView: (v) => { map.view = { cx: v.cx, cy: v.cy, half: v.half }; paint(map); },
  points: () => ({
    xy: map.xy, n: map.data.n, labels: map.data.labels, colours: map.palette.classes, size: map.size, view: { ...map.view },
  }),
  costs: () => map.costs.slice(),
  view: () => ({ ...map.view, home: { ...map.home } }),
  zoomAt: (factor, x, y) => zoomAt(map, factor, x - map.overlay.getBoundingClientRect().left, y - map.overlay.getBoundingClientRect().top),
  mode: () => map?.mode,
  ticks: () => ({ step: map.ticks.step, xs: map.ticks.xs.map(map.ticks.label), ys: map.ticks.ys.map(map.ticks.label) }),
  imagesDrawn: () => map?.imagesDrawn ?? 0,
  tilesLoading: () => map?.tiles.loading ?? 0,
  manifold: () => (map?.manifold.shown ? { region: map.manifold.shown.region, url: map.manifold.shown.url } : null),
  selection: () => (map?.selection ? { count: map.selection.indices.length, mean: map.selection.mean } : null),
  inView: () => {
    const { cx, cy, half } = map.view;
    let k = 0;
    for (let i = 0; i < map.data.n; i++) {
      const x = map.xy[2 * i], y = map.xy[2 * i + 1];
      if (map.show[i] && Math.abs(x - cx) <= half && Math.abs(y - cy) <= half) k++;
    }
    return k;
  },
};

follow();
