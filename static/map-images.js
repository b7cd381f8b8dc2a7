// Images on the latent map. Zoomed in, each point in view is drawn as its own image, the original or
// its decoded mean (GET /encodings/atlas.png, up to 256 tiles a request, kept for the page's life);
// until its tile arrives a point stays a dot, so moving in and out never blinks. The manifold layer:
// the decoder's images on a lattice over the visible part of the plane through the current z
// (GET /grid), under the points; the last lattice moves with the view until the next one arrives.

import { toScreen } from "./map-paint.js";

const BATCH = 256; // tiles per atlas request (the server's limit)
const COLUMNS = 16; // tiles per atlas row (server/map_points.py)
const LATTICE = 16; // images per side of the manifold layer
const SETTLE_MS = 30; // a lattice is asked for once the view has been still this long

const tileKey = (kind, i) => `${kind}:${i}`;

// Draw the in-view points' images over their dots; asks for the missing ones. The number drawn.
export function drawImages(m, ctx, inView, render) {
  const kind = m.imagesKind, store = m.tiles;
  const edge = (m.imageEdge = Math.min(56, Math.max(20, (0.8 * m.size) / Math.sqrt(inView.length || 1))));
  const sel = m.selection?.mask;
  const missing = [];
  let drawn = 0;
  ctx.lineWidth = 1.5;
  for (const i of inView) {
    const tile = store.tiles.get(tileKey(kind, i));
    if (!tile) {
      if (!store.asked.has(tileKey(kind, i))) missing.push(i);
      continue;
    }
    const [x, y] = toScreen(m, [m.xy[2 * i], m.xy[2 * i + 1]]);
    ctx.globalAlpha = sel && !sel[i] ? 0.25 : 1;
    ctx.drawImage(tile.img, tile.sx, tile.sy, tile.edge, tile.edge, x - edge / 2, y - edge / 2, edge, edge);
    ctx.strokeStyle = m.palette.css[m.data.labels[i]] || "#333";
    ctx.strokeRect(x - edge / 2, y - edge / 2, edge, edge);
    drawn++;
  }
  ctx.globalAlpha = 1;
  if (missing.length) fetchTiles(m, kind, missing, render);
  return drawn;
}

function fetchTiles(m, kind, indices, render) {
  const store = m.tiles;
  indices.forEach((i) => store.asked.add(tileKey(kind, i)));
  m.data.splits.forEach((split) => {
    const mine = indices.filter((i) => i >= split.start && i < split.start + split.count);
    for (let k = 0; k < mine.length; k += BATCH) {
      const chunk = mine.slice(k, k + BATCH);
      const local = chunk.map((i) => i - split.start).join(",");
      const img = new Image();
      store.loading++;
      img.src = `/encodings/atlas.png?model=${encodeURIComponent(m.model)}&split=${split.name}&kind=${kind}&indices=${local}`;
      // decoded off the main thread before its first drawImage, which would otherwise decode it mid-frame
      img.decode().then(() => {
        const edge = img.naturalWidth / Math.min(COLUMNS, chunk.length);
        chunk.forEach((i, j) => {
          store.tiles.set(tileKey(kind, i), { img, sx: (j % COLUMNS) * edge, sy: Math.floor(j / COLUMNS) * edge, edge });
        });
        render();
      }, () => {}).finally(() => store.loading--); // a failed atlas stays asked: dots, and no retry loop
    }
  });
}

export function newTiles() {
  return { tiles: new Map(), asked: new Set(), loading: 0 };
}

// ---- the manifold layer ----------------------------------------------------------------------

export function manifoldAvailable(m) {
  return m.plane.kind === "axes";
}

// Ask for a new lattice once the view (or z) has settled; `render` repaints when it has arrived.
export function refreshManifold(m, z, render) {
  const layer = m.manifold;
  clearTimeout(layer.timer);
  if (!layer.on || !manifoldAvailable(m)) return;
  layer.changed = performance.now();
  layer.timer = setTimeout(() => fetchLattice(m, z(), render), SETTLE_MS);
}

function fetchLattice(m, z, render) {
  const layer = m.manifold, { cx, cy, half } = m.view, b = m.bound;
  const [x0, x1, y0, y1] = [Math.max(-b, cx - half), Math.min(b, cx + half), Math.max(-b, cy - half), Math.min(b, cy + half)];
  if (!(x1 > x0 && y1 > y0)) return;
  const hx = (x1 - x0) / LATTICE, hy = (y1 - y0) / LATTICE, f = (v) => +v.toFixed(5);
  const { x, y } = m.plane.grid;
  const base = z.map((v) => f(Math.max(-b, Math.min(b, v))));
  const url = `/grid?model=${encodeURIComponent(m.model)}&steps=${LATTICE}&base=${base.join(",")}`
    + `&z${x}=${f(x0 + hx / 2)}..${f(x1 - hx / 2)}&z${y}=${f(y0 + hy / 2)}..${f(y1 - hy / 2)}`;
  if (layer.shown?.url === url) return;
  layer.latest = url;
  const changed = layer.changed;
  const img = new Image();
  img.src = url;
  img.decode().then(() => {
    if (layer.latest !== url) return; // a newer view asked for another
    layer.shown = { img, region: [x0, x1, y0, y1], url, changed, fresh: true };
    render();
  }, () => {});
}

// Under the points: the last lattice, where its region lies in the current view.
export function drawManifold(m, ctx) {
  const shown = m.manifold.shown;
  if (!m.manifold.on || !shown || !manifoldAvailable(m)) return;
  const [x0, x1, y0, y1] = shown.region;
  const [sx0, sy0] = toScreen(m, [x0, y0]), [sx1, sy1] = toScreen(m, [x1, y1]);
  ctx.drawImage(shown.img, sx0, sy0, sx1 - sx0, sy1 - sy0);
  if (shown.fresh) {
    shown.fresh = false;
    const ms = performance.now() - shown.changed; // from the last move of the view to this frame
    m.timings.manifold = ms;
    (m.timings.manifolds ||= []).push(ms);
  }
}
