// The latent map's input: the pointer (hover, click, drag to pan, lasso, pinch, wheel) and the
// keyboard. It changes the map only through `act`, the controller's actions (map.js): hover(i),
// choose(i), zoomAt(factor, x, y), panBy(dx, dy), goHome(), setSelection(s), redraw(), marker().

import { nearest } from "./map-data.js";
import { toPlane, toScreen } from "./map-paint.js";
import { select } from "./map-select.js";

const PICK = 6; // hover radius, CSS pixels
const byId = (id) => document.getElementById(id);

export function listenInput(m, act, signal) {
  const o = m.overlay, opts = { signal };
  o.addEventListener("pointerdown", (e) => pointerDown(m, e), opts);
  o.addEventListener("pointermove", (e) => pointerMove(m, e, act), opts);
  o.addEventListener("pointerup", (e) => pointerUp(m, e, true, act), opts);
  o.addEventListener("pointercancel", (e) => pointerUp(m, e, false, act), opts);
  o.addEventListener("pointerleave", () => !m.gesture && act.hover(-1), opts);
  o.addEventListener("wheel", (e) => wheel(m, e, act), { signal, passive: false });
  o.addEventListener("dblclick", () => act.goHome(), opts);
  m.frameBox.addEventListener("keydown", (e) => key(m, e, act), opts);
}

// The nearest shown point within PICK pixels of (sx, sy), or -1.
export function pick(m, sx, sy) {
  const [x, y] = toPlane(m, [sx, sy]);
  const r = m.mode === "images" ? Math.max(PICK, m.imageEdge / 2) : PICK;
  return nearest(m.index, m.xy, x, y, (r * 2 * m.view.half) / m.size, (i) => m.show[i] === 1);
}

const lassoOn = () => byId("map-lasso")?.getAttribute("aria-pressed") === "true";

function pointerDown(m, e) {
  if (e.button !== 0) return;
  m.overlay.setPointerCapture(e.pointerId);
  m.pointers.set(e.pointerId, [e.offsetX, e.offsetY]);
  if (m.pointers.size === 2) {
    const [a, b] = [...m.pointers.values()];
    m.gesture = { kind: "pinch", distance: Math.hypot(a[0] - b[0], a[1] - b[1]), mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] };
    return;
  }
  const kind = e.shiftKey || lassoOn() ? "lasso" : "press";
  m.gesture = { kind, from: [e.offsetX, e.offsetY], last: [e.offsetX, e.offsetY], path: [toPlane(m, [e.offsetX, e.offsetY])] };
}

function pointerMove(m, e, act) {
  const g = m.gesture;
  if (!g) return act.hover(pick(m, e.offsetX, e.offsetY));
  if (!m.pointers.has(e.pointerId)) return;
  m.pointers.set(e.pointerId, [e.offsetX, e.offsetY]);
  if (g.kind === "pinch" && m.pointers.size === 2) {
    const [a, b] = [...m.pointers.values()];
    const distance = Math.hypot(a[0] - b[0], a[1] - b[1]), mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    act.panBy(mid[0] - g.mid[0], mid[1] - g.mid[1]);
    if (g.distance > 0 && distance > 0) act.zoomAt(distance / g.distance, mid[0], mid[1]);
    Object.assign(g, { distance, mid });
  } else if (g.kind === "lasso") {
    g.path.push(toPlane(m, [e.offsetX, e.offsetY]));
    act.redraw();
  } else if (g.kind === "press" && Math.hypot(e.offsetX - g.from[0], e.offsetY - g.from[1]) > 4) {
    g.kind = "pan";
    act.hover(-1);
  }
  if (g.kind === "pan") {
    act.panBy(e.offsetX - g.last[0], e.offsetY - g.last[1]);
    g.last = [e.offsetX, e.offsetY];
  }
}

function pointerUp(m, e, done, act) {
  const g = m.gesture;
  m.pointers.delete(e.pointerId);
  if (!g || m.pointers.size > 0) return;
  m.gesture = null;
  if (!done) return act.redraw();
  if (g.kind === "press") act.choose(pick(m, e.offsetX, e.offsetY));
  if (g.kind === "lasso") act.setSelection(g.path.length > 2 ? select(m, g.path, null) : null);
  act.redraw();
}

function wheel(m, e, act) {
  e.preventDefault(); // the page does not scroll under the map
  const pixels = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? m.size : 1);
  act.zoomAt(Math.exp(-pixels * 0.002), e.offsetX, e.offsetY);
}

// The keyboard: arrows step from point to point, Enter goes there; + - 0 zoom, Shift+arrows pan.

const STEPS = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] };

function key(m, e, act) {
  if (!m.xy || e.ctrlKey || e.metaKey || e.altKey) return;
  const centre = m.hover >= 0 ? toScreen(m, [m.xy[2 * m.hover], m.xy[2 * m.hover + 1]]) : [m.size / 2, m.size / 2];
  if (STEPS[e.key] && e.shiftKey) act.panBy(-STEPS[e.key][0] * m.size * 0.1, -STEPS[e.key][1] * m.size * 0.1);
  else if (STEPS[e.key]) act.hover(step(m, STEPS[e.key], act));
  else if ((e.key === "Enter" || e.key === " ") && m.hover >= 0) act.choose(m.hover);
  else if (e.key === "+" || e.key === "=") act.zoomAt(1.5, ...centre);
  else if (e.key === "-" || e.key === "_") act.zoomAt(1 / 1.5, ...centre);
  else if (e.key === "0") act.goHome();
  else if (e.key === "Escape" && m.hover < 0 && m.selection) act.setSelection(null);
  else if (e.key === "Escape") act.hover(-1);
  else return;
  e.preventDefault(); // no page scroll
  e.stopPropagation(); // not the page's own keys
}

// From the hovered point (or the current z), the nearest shown point in view at least a pixel
// ahead in direction (dx, dy), sideways distance counting double; the hovered point when none is.
function step(m, [dx, dy], act) {
  const [fx, fy] = m.hover >= 0 ? toScreen(m, [m.xy[2 * m.hover], m.xy[2 * m.hover + 1]]) : act.marker();
  const { cx, cy, half } = m.view, s = m.size / (2 * half);
  const ox = m.size / 2 - cx * s, oy = m.size / 2 - cy * s;
  let best = m.hover, bestScore = Infinity;
  for (let i = 0; i < m.data.n; i++) {
    if (!m.show[i]) continue;
    const x = m.xy[2 * i] * s + ox, y = m.xy[2 * i + 1] * s + oy;
    if (x < 0 || y < 0 || x > m.size || y > m.size) continue;
    const ax = x - fx, ay = y - fy;
    const ahead = ax * dx + ay * dy;
    if (ahead < 1) continue;
    const score = ahead + 2 * Math.abs(ax * dy - ay * dx);
    if (score < bestScore) [best, bestScore] = [i, score];
  }
  return best;
}
