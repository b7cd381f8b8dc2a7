// Painting the latent map. The base canvas, redrawn whenever the view moves: the manifold layer,
// unit lines with their numbers, then the points, written straight into a pixel buffer (one
// Uint32 store per pixel, no path building) and composited in one drawImage; when few enough points
// are in view, their images over them. The overlay (grid outline, current z, hovered and clicked
// points, the lasso) is redrawn alone, so hovering never repaints 70,000 points.

import { factorColouring } from "./map-factors.js";

const GREY = [197, 202, 211]; // unselected points while a selection exists
const SPLIT_COLOURS = { test: [242, 142, 43], train: [78, 121, 167] };

export const IMAGES_AT = 300; // points in view at or below which each is drawn as its image

// [r, g, b] from a CSS colour ("#4e79a7"), through a 1x1 canvas so any syntax works.
function rgb(css) {
  const c = document.createElement("canvas").getContext("2d");
  c.fillStyle = css;
  const hex = c.fillStyle; // normalised to #rrggbb
  return [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16) || 0);
}

const pack = ([r, g, b], a) => ((a << 24) | (b << 16) | (g << 8) | r) >>> 0; // ImageData is RGBA bytes

export function palette(panel, count) {
  const style = getComputedStyle(panel);
  const classes = Array.from({ length: count }, (_, c) => rgb(style.getPropertyValue(`--class-${c}`).trim() || "#333"));
  return {
    classes, css: classes.map(([r, g, b]) => `rgb(${r},${g},${b})`),
    splits: SPLIT_COLOURS, grey: pack(GREY, 150),
  };
}

// Plane -> CSS pixels on the canvas; y grows downward, as down the grid picture.
export function toScreen(m, [x, y]) {
  const { cx, cy, half } = m.view;
  const s = m.size / (2 * half);
  return [(x - cx) * s + m.size / 2, (y - cy) * s + m.size / 2];
}

export function toPlane(m, [sx, sy]) {
  const { cx, cy, half } = m.view;
  const s = m.size / (2 * half);
  return [(sx - m.size / 2) / s + cx, (sy - m.size / 2) / s + cy];
}

export function sized(canvas, size) {
  const dpr = window.devicePixelRatio || 1;
  const px = Math.round(size * dpr);
  if (canvas.width !== px) canvas.width = canvas.height = px;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, size, size);
  return ctx;
}

// Lines every 1, 2 or 5 times a power of ten, 6 to 15 of them across the view.
export function tickStep(half) {
  const raw = (2 * half) / 8, pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((f) => f * pow).find((s) => s >= raw);
}

function ticks(m) {
  const { cx, cy, half } = m.view;
  const step = tickStep(half), digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const at = (centre) => {
    const out = [];
    for (let k = Math.ceil((centre - half) / step); k * step <= centre + half; k++) out.push(k * step);
    return out;
  };
  return { step, xs: at(cx), ys: at(cy), label: (v) => (Math.abs(v) < step / 2 ? 0 : v).toFixed(digits) };
}

function drawLines(m, ctx, t) {
  ctx.lineWidth = 1;
  for (const v of t.xs) {
    const [x] = toScreen(m, [v, 0]);
    ctx.strokeStyle = Math.abs(v) < 1e-9 ? "#b8bfcc" : "#eceef2";
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, m.size);
    ctx.stroke();
  }
  for (const v of t.ys) {
    const [, y] = toScreen(m, [0, v]);
    ctx.strokeStyle = Math.abs(v) < 1e-9 ? "#b8bfcc" : "#eceef2";
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(m.size, y);
    ctx.stroke();
  }
}

// The numbers on the lines, along the bottom and the left edge, on a light band; the axis names.
function drawTicks(m, ctx, t, names) {
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "rgba(255, 255, 255, 0.8)";
  ctx.fillRect(0, m.size - 16, m.size, 16);
  ctx.fillRect(0, 0, 30, m.size - 16);
  ctx.fillStyle = "#5b6475";
  ctx.textBaseline = "alphabetic";
  ctx.textAlign = "center";
  for (const v of t.xs) {
    const [x] = toScreen(m, [v, 0]);
    if (x > 34 && x < m.size - 60) ctx.fillText(t.label(v), x, m.size - 4);
  }
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  for (const v of t.ys) {
    const [, y] = toScreen(m, [0, v]);
    if (y > 24 && y < m.size - 22) ctx.fillText(t.label(v), 3, y);
  }
  ctx.textBaseline = "alphabetic";
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillStyle = "#1d2330";
  ctx.textAlign = "right";
  ctx.fillText(`${names[0]} →`, m.size - 6, m.size - 4);
  ctx.textAlign = "left";
  ctx.fillText(`${names[1]} ↓`, 4, 14);
}

// The points as square dots in a pixel buffer; the in-view points' indices (at most IMAGES_AT + 1).
function drawDots(m, ctx) {
  const W = m.base.width, dpr = W / m.size;
  let buf = m.buffer;
  if (!buf || buf.canvas.width !== W) {
    const canvas = new OffscreenCanvas(W, W);
    const bctx = canvas.getContext("2d");
    const image = bctx.createImageData(W, W);
    buf = m.buffer = { canvas, ctx: bctx, image, pixels: new Uint32Array(image.data.buffer) };
  }
  const { xy, show, data } = m;
  const sel = m.selection?.mask;
  const s = (m.size / (2 * m.view.half)) * dpr;
  const ox = W / 2 - m.view.cx * s, oy = W / 2 - m.view.cy * s;
  const zoom = m.home.half / m.view.half;
  const edge = Math.max(2, Math.round(Math.min(6, 2.5 * zoom ** 0.35) * dpr)), h = edge >> 1;
  const factor = factorColouring(m); // colour by a factor of variation (map-factors.js)
  const colours = factor ? factor.colours : m.colorBy === "split"
    ? data.splits.map((sp) => pack(m.palette.splits[sp.name], 190))
    : m.palette.classes.map((c) => pack(c, 190));
  const key = factor ? factor.key : m.colorBy === "split" ? data.splitOf : data.labels;
  const px = buf.pixels;
  px.fill(0);
  const inView = [];
  // unselected points first (grey), so that the selected ones are drawn over them
  for (let pass = sel ? 0 : 1; pass < 2; pass++) {
    for (let i = 0; i < data.n; i++) {
      if (!show[i] || (sel && (sel[i] === 1) !== (pass === 1))) continue;
      const x = Math.round(xy[2 * i] * s + ox) - h, y = Math.round(xy[2 * i + 1] * s + oy) - h;
      if (x <= -edge || y <= -edge || x >= W || y >= W) continue;
      if (inView.length <= IMAGES_AT) inView.push(i);
      const colour = pass === 0 ? m.palette.grey : colours[key[i]];
      const xa = Math.max(0, x), xb = Math.min(W, x + edge), yb = Math.min(W, y + edge);
      for (let yy = Math.max(0, y); yy < yb; yy++) {
        for (let at = yy * W + xa, end = yy * W + xb; at < end; at++) px[at] = colour;
      }
    }
  }
  buf.ctx.putImageData(buf.image, 0, 0);
  ctx.drawImage(buf.canvas, 0, 0, m.size, m.size);
  return inView;
}

// The whole base canvas; `layers` draws what lies under the points (the manifold) and over them
// (images), so this module needs no network.
export function drawBase(m, layers, names) {
  const ctx = sized(m.base, m.size);
  layers.under(ctx);
  const t = (m.ticks = ticks(m));
  drawLines(m, ctx, t);
  const inView = drawDots(m, ctx);
  m.mode = inView.length <= IMAGES_AT && m.imagesKind !== "dots" ? "images" : "dots";
  m.imagesDrawn = m.mode === "images" ? layers.over(ctx, inView) : 0;
  drawTicks(m, ctx, t, names);
}

export function ring(ctx, [x, y], radius, colour) {
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, 2 * Math.PI);
  ctx.lineWidth = 4;
  ctx.strokeStyle = "rgba(255, 255, 255, 0.85)";
  ctx.stroke();
  ctx.lineWidth = 2;
  ctx.strokeStyle = colour;
  ctx.stroke();
}

// The overlay: the grid's outline (dashed), the lasso being drawn, the clicked and hovered points,
// the current z (the red ring).
export function drawOverlay(m, outline, marker) {
  const ctx = sized(m.overlay, m.size);
  const corners = outline.map((p) => toScreen(m, p));
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = "#4353c7";
  ctx.beginPath();
  corners.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  ctx.closePath();
  ctx.stroke();
  ctx.setLineDash([]);
  const lasso = m.gesture?.kind === "lasso" ? m.gesture.path : null;
  if (lasso && lasso.length > 1) {
    ctx.beginPath();
    lasso.map((p) => toScreen(m, p)).forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath();
    ctx.fillStyle = "rgba(67, 83, 199, 0.08)";
    ctx.fill();
    ctx.strokeStyle = "#4353c7";
    ctx.stroke();
  }
  const at = (i) => [m.xy[2 * i], m.xy[2 * i + 1]];
  if (m.pinned >= 0) ring(ctx, toScreen(m, at(m.pinned)), 5, "#4353c7");
  if (m.hover >= 0) ring(ctx, toScreen(m, at(m.hover)), m.mode === "images" ? m.imageEdge / 2 + 3 : 5, "#1d2330");
  const [x, y] = toScreen(m, marker);
  ring(ctx, [x, y], 8, "#ff5a36");
  ctx.fillStyle = "#ff5a36";
  ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
}
