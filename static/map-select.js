// A selection of map points: by lasso (a polygon drawn on the map) or the whole view (the keyboard's
// way). Its panel shows the count, a histogram of the classes and the decoded image of the mean
// latent vector; the selection exports as CSV and becomes an interpolation endpoint. While one
// exists, the other points stay on the map, greyed (map-paint.js).

const byId = (id) => document.getElementById(id);

// Ray casting: is (x, y) inside the polygon (an array of [x, y])?
function inside(poly, x, y) {
  let hit = false;
  for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
    const [xa, ya] = poly[a], [xb, yb] = poly[b];
    if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) hit = !hit;
  }
  return hit;
}

// The shown points inside a region of the plane: a polygon, or a box { x0, x1, y0, y1 }.
export function select(m, poly, box) {
  const { n } = m.data;
  if (poly) {
    const xs = poly.map((p) => p[0]), ys = poly.map((p) => p[1]);
    box = { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  }
  const mask = new Uint8Array(n);
  const indices = [];
  for (let i = 0; i < n; i++) {
    const x = m.xy[2 * i], y = m.xy[2 * i + 1];
    if (!m.show[i] || x < box.x0 || x > box.x1 || y < box.y0 || y > box.y1) continue;
    if (poly && !inside(poly, x, y)) continue;
    mask[i] = 1;
    indices.push(i);
  }
  return indices.length ? { mask, indices, mean: meanOf(m, indices) } : null;
}

function meanOf(m, indices) {
  const { d, means } = m.data;
  const sum = new Float64Array(d);
  for (const i of indices) for (let k = 0; k < d; k++) sum[k] += means[i * d + k];
  return [...sum].map((v) => v / indices.length);
}

const clampTo = (bound, z, digits) => z.map((v) => +Math.max(-bound, Math.min(bound, v)).toFixed(digits));

export function showSelection(m) {
  const panel = byId("map-selection"), sel = m.selection;
  if (!panel) return;
  panel.hidden = !sel;
  delete m.panel.dataset.selectionZ;
  if (!sel) return document.dispatchEvent(new CustomEvent("vae:sources"));
  const { data } = m;
  const perSplit = data.splits.map((s) => sel.indices.filter((i) => data.splitOf[i] === data.splits.indexOf(s)).length);
  const parts = data.splits.length > 1
    ? ` (${data.splits.map((s, k) => `${perSplit[k].toLocaleString("en")} ${s.name}`).join(", ")})` : "";
  const count = sel.indices.length;
  byId("map-selection-count").textContent = `${count.toLocaleString("en")} point${count === 1 ? "" : "s"} selected${parts}`;
  const perClass = new Uint32Array(data.names.length);
  for (const i of sel.indices) perClass[data.labels[i]]++;
  const most = Math.max(...perClass);
  byId("map-selection-bars").replaceChildren(...data.names.map((name, c) => {
    const li = document.createElement("li");
    li.innerHTML = `<span class="name"></span><span class="bar"></span><span class="n"></span>`;
    li.querySelector(".name").textContent = name;
    li.querySelector(".bar").style.cssText = `--c: var(--class-${c}); width: ${(100 * perClass[c]) / most}%`;
    li.querySelector(".n").textContent = perClass[c].toLocaleString("en");
    li.dataset.count = perClass[c];
    return li;
  }));
  const z = clampTo(m.bound, sel.mean, 4);
  byId("map-selection-mean").src = `/decode?model=${encodeURIComponent(m.model)}&z=${z.join(",")}`;
  m.panel.dataset.selectionZ = z.join(",");
  m.panel.dataset.selectionLabel = `the mean of ${count.toLocaleString("en")} selected points`;
  document.dispatchEvent(new CustomEvent("vae:sources"));
}

// index (within its split), split, label, class name, then the latent mean, one row per point.
export function toCsv(m) {
  const { d, means, labels, names, splits, splitOf } = m.data;
  const rows = [["index", "split", "label", "class_name", ...Array.from({ length: d }, (_, k) => `z${k}`)].join(",")];
  for (const i of m.selection.indices) {
    const split = splits[splitOf[i]];
    const z = Array.from(means.subarray(i * d, i * d + d), (v) => +v.toPrecision(5));
    const name = /[",\n]/.test(names[labels[i]]) ? `"${names[labels[i]].replace(/"/g, '""')}"` : names[labels[i]];
    rows.push([i - split.start, split.name, labels[i], name, ...z].join(","));
  }
  return rows.join("\n") + "\n";
}

export function download(m) {
  const url = URL.createObjectURL(new Blob([toCsv(m)], { type: "text/csv" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `${m.model}-selection.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
