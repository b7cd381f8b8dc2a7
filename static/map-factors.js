// Colouring the map's points by a factor of variation instead of by class: for a model trained on a
// folder with a factors.csv (the shapes set, docs/shapes.md; anyone's data with one). The codes come
// from /encodings/factors, split by split in the binary encodings' order, and are fetched once per
// map; without factors the "Colour" control keeps its class and split choices only.
//
// A factor with a handful of categories (shape) gets the class palette; an ordered one (hue, scale,
// rotation, x, y) gets a blue-to-yellow ramp over its values, so that a smooth gradient across the
// map says the plane carries the factor.

const pack = ([r, g, b], a) => ((a << 24) | (b << 16) | (g << 8) | r) >>> 0; // as map-paint.js

function ramp(t) {
  // blue (68, 1, 84) -> teal (33, 145, 140) -> yellow (253, 231, 37): viridis' ends and middle
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1), k = Math.floor(x), f = x - k;
  return stops[k].map((c, i) => Math.round(c + (stops[k + 1][i] - c) * f));
}

function ordered(labels) {
  return labels.length > 4 && labels.every((l) => l !== "" && !Number.isNaN(parseFloat(l)));
}

export async function loadFactors(m, ready) {
  const r = await fetch(`/encodings/factors?model=${encodeURIComponent(m.model)}`, { signal: m.abort.signal })
    .catch(() => null);
  if (!r?.ok) return; // no factors.csv: nothing to offer
  const body = await r.json();
  const n = m.data.n, count = body.factors.length;
  m.factors = body.factors.map((f, j) => {
    const key = new Uint8Array(n);
    let at = 0;
    for (const split of m.data.splits) { // the binary's order: each split's points in turn
      const codes = body.splits.find((s) => s.name === split.name)?.codes[j] || [];
      key.set(codes.slice(0, split.count), at);
      at += split.count;
    }
    const rgbs = ordered(f.labels)
      ? f.labels.map((_, k) => ramp(k / Math.max(1, f.labels.length - 1)))
      : f.labels.map((_, k) => m.palette.classes[k % m.palette.classes.length]);
    return { name: f.name, labels: f.labels, key, rgbs, colours: rgbs.map((c) => pack(c, 190)) };
  });
  const select = document.getElementById("map-color");
  for (let j = 0; j < count; j++) select.add(new Option(`by ${body.factors[j].name}`, `factor:${j}`));
  select.closest("label").hidden = false;
  if (m.factorWanted?.startsWith("factor:") && m.factors[+m.factorWanted.slice(7)]) {
    m.colorBy = select.value = m.factorWanted;
  }
  ready();
}

// The colours and per-point keys to paint with, when the map is coloured by a factor; else null.
export function factorColouring(m) {
  if (!m.colorBy?.startsWith("factor:")) return null;
  return m.factors?.[+m.colorBy.slice(7)] || null;
}

// The legend of the factor the map is coloured by (its values and their colours), or none.
export function factorLegend(m) {
  document.getElementById("map-factor-legend")?.remove();
  const f = factorColouring(m);
  if (!f) return;
  const list = document.createElement("ul");
  list.className = "legend";
  list.id = "map-factor-legend";
  list.setAttribute("aria-label", `Values of ${f.name}`);
  const step = Math.max(1, Math.ceil(f.labels.length / 12)); // a long ramp is shown every few values
  f.labels.forEach((label, k) => {
    if (k % step && k !== f.labels.length - 1) return;
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.setProperty("--c", `rgb(${f.rgbs[k].join(",")})`);
    li.append(swatch, `${f.name} ${label}`);
    list.append(li);
  });
  document.getElementById("map-splits").after(list);
}
