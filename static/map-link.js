// The map's part of the page URL: `map=cx,cy,half` (the view), `points=test|train`, `color=split`,
// `plane=pca`; each left out when it is the default. Written with history.replaceState, keeping every
// other parameter (app.js writes model and z, link.js the rest of the page), so a link restores it.

export function readUrl() {
  const q = new URLSearchParams(location.search);
  const view = (q.get("map") || "").split(",").map(Number);
  return {
    view: view.length === 3 && view.every(Number.isFinite) && view[2] > 0 ? { cx: view[0], cy: view[1], half: view[2] } : null,
    points: q.get("points"), color: q.get("color"), plane: q.get("plane"),
  };
}

let timer = 0;

// At most one write per 150 ms, with the state of `m` then, unless `current()` says m has gone.
export function writeUrl(m, current) {
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (!current(m) || !m.view) return;
    const q = new URLSearchParams(location.search);
    const { view: v, home: h } = m;
    const home = v.cx === h.cx && v.cy === h.cy && v.half === h.half;
    const f = (x) => +x.toPrecision(5);
    const set = (key, value) => (value ? q.set(key, value) : q.delete(key));
    set("map", home ? "" : [f(v.cx), f(v.cy), f(v.half)].join(","));
    set("points", m.split === "both" ? "" : m.split);
    set("color", m.colorBy === "class" ? "" : m.colorBy);
    set("plane", m.plane.kind === "pca" ? "pca" : "");
    history.replaceState(history.state, "", `${location.pathname}?${q.toString().replace(/%2C/g, ",")}`);
  }, 150);
}
