// The latent map's data: the binary encodings (GET /encodings?format=binary; server/map_points.py
// describes the layout) as typed arrays, a plane's coordinates, and a uniform grid over the plane
// that finds the nearest point to the pointer by looking in a few cells, not at every point.

let HALF = null; // float16 bit pattern -> its value, built on first use (65,536 entries)

function halfTable() {
  if (HALF) return HALF;
  HALF = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 31, frac = h & 1023;
    HALF[h] = sign * (exp === 0 ? frac * 2 ** -24 : exp === 31 ? (frac ? NaN : Infinity) : (1 + frac / 1024) * 2 ** (exp - 15));
  }
  return HALF;
}

// The packed body -> { n, d, means (row-major float32), labels, names, splits, splitOf, pca }.
export function parse(buffer) {
  const bytes = new Uint8Array(buffer);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== "VAEM") throw new Error("not a packed map body");
  const size = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size)));
  const n = header.count, d = header.latent_dim, at = 8 + size;
  const low = bytes.subarray(at, at + n * d), high = bytes.subarray(at + n * d, at + 2 * n * d);
  const table = halfTable();
  const means = new Float32Array(n * d);
  for (let k = 0; k < d; k++) {
    for (let i = 0, j = k * n; i < n; i++, j++) means[i * d + k] = table[low[j] | (high[j] << 8)];
  }
  const labels = bytes.slice(at + 2 * n * d, at + 2 * n * d + n);
  const splitOf = new Uint8Array(n);
  let start = 0;
  const splits = header.splits.map((s, k) => {
    splitOf.fill(k, start, start + s.count);
    const out = { name: s.name, start, count: s.count };
    start += s.count;
    return out;
  });
  const pca = header.pca && {
    components: header.pca.components, mean: header.pca.mean, explained: header.pca.explained_variance_ratio,
  };
  return { n, d, means, labels, names: header.class_names, splits, splitOf, pca };
}

// Every point's (x, y) on the plane: two latent dimensions, or the principal plane.
export function coordinates(data, plane) {
  const { n, d, means, pca } = data;
  const xy = new Float32Array(n * 2);
  if (plane.kind === "pca") {
    const [c0, c1] = pca.components, mean = pca.mean;
    for (let i = 0; i < n; i++) {
      let x = 0, y = 0;
      for (let k = 0; k < d; k++) {
        const v = means[i * d + k] - mean[k];
        x += v * c0[k];
        y += v * c1[k];
      }
      xy[2 * i] = x;
      xy[2 * i + 1] = y;
    }
    return xy;
  }
  const { x, y } = plane.grid;
  for (let i = 0; i < n; i++) {
    xy[2 * i] = means[i * d + x];
    xy[2 * i + 1] = means[i * d + y];
  }
  return xy;
}

// The range of 99.6% of the points along each axis (a few outliers do not shrink the map); from a
// sample of at most 20,000 points, which moves the quantiles by far less than a pixel.
export function spread(xy) {
  const n = xy.length / 2, every = Math.max(1, Math.floor(n / 20000));
  return [0, 1].map((axis) => {
    const v = new Float32Array(Math.ceil(n / every));
    for (let i = 0, k = 0; i < n; i += every, k++) v[k] = xy[2 * i + axis];
    v.sort();
    const at = (q) => v[Math.min(v.length - 1, Math.floor(q * v.length))];
    return v.length ? [at(0.002), at(0.998)] : [0, 0];
  });
}

// ---- the spatial index: points bucketed by cell of a CELLS x CELLS grid over a square box --------
// Points outside the box go to its edge cells; clamping keeps the search exact, since a point within
// r of the pointer is at most ceil(r / cell) cells away, before clamping and after.

const CELLS = 256;

export function buildIndex(xy, box) {
  const n = xy.length / 2, x0 = box.cx - box.half, y0 = box.cy - box.half, cell = (2 * box.half) / CELLS;
  const which = new Uint32Array(n);
  const start = new Uint32Array(CELLS * CELLS + 1);
  const clamp = (v) => Math.min(CELLS - 1, Math.max(0, Math.floor(v)));
  for (let i = 0; i < n; i++) {
    which[i] = clamp((xy[2 * i + 1] - y0) / cell) * CELLS + clamp((xy[2 * i] - x0) / cell);
    start[which[i] + 1]++;
  }
  for (let c = 0; c < CELLS * CELLS; c++) start[c + 1] += start[c];
  const items = new Uint32Array(n);
  const next = start.slice(0, CELLS * CELLS);
  for (let i = 0; i < n; i++) items[next[which[i]]++] = i;
  return { x0, y0, cell, clamp, start, items };
}

// The nearest point to (x, y) within r (plane units) that `shown` accepts, or -1.
export function nearest(index, xy, x, y, r, shown) {
  const { x0, y0, cell, clamp, start, items } = index;
  const i0 = clamp((x - r - x0) / cell), i1 = clamp((x + r - x0) / cell);
  const j0 = clamp((y - r - y0) / cell), j1 = clamp((y + r - y0) / cell);
  let best = -1, bestD = r * r;
  for (let j = j0; j <= j1; j++) {
    for (let c = j * CELLS + i0; c <= j * CELLS + i1; c++) {
      for (let k = start[c]; k < start[c + 1]; k++) {
        const p = items[k];
        const dx = xy[2 * p] - x, dy = xy[2 * p + 1] - y;
        const dd = dx * dx + dy * dy;
        if (dd <= bestD && shown(p)) [best, bestD] = [p, dd];
      }
    }
  }
  return best;
}
