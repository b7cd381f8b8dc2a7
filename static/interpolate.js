// Interpolation: two endpoints taken from anywhere on the page (the sliders' z, the clicked map
// point, the upload, the drawing), the decoded path between them as one strip (GET /interpolate),
// played frame by frame from that strip, and GIF downloads (the API's format=gif) of the path or of
// a sweep of one dimension (the select beside it; focusing a slider picks its dimension), ±span
// around the sliders' z as in the traversals. The player and the GIFs show a frame every
// `data-frame-ms` (VIEW.frame_ms); a click on a frame of the strip, or the arrow keys and Enter on
// the focused strip, move the sliders to that frame's z (GET /interpolate?format=json).
// The endpoints start as the server gives them (the link's, or two named draws from the prior);
// each change is kept in the panel's data attributes, which static/link.js puts in the URL.
(() => {
  "use strict";

  const byId = (id) => document.getElementById(id);
  const sliders = () => [...document.querySelectorAll("#sliders input[type=range]")];
  const parse = (text) => text.split(",").map(Number);

  let ui = null; // the panel on the page now; a model switch brings a new one

  // Each source's latent vector where the page keeps it, and words that name it; null when absent.
  const SOURCES = {
    current: () => ({ z: sliders().map((s) => +s.value), label: "the sliders' z" }),
    map: () => {
      const d = byId("map-panel")?.dataset;
      return d?.pinnedZ ? { z: parse(d.pinnedZ), label: d.pinnedLabel } : null;
    },
    selection: () => {
      const d = byId("map-panel")?.dataset;
      return d?.selectionZ ? { z: parse(d.selectionZ), label: d.selectionLabel } : null;
    },
    upload: () => {
      const z = document.querySelector("#upload-result .pair[data-z]")?.dataset.z;
      return z ? { z: parse(z), label: "your upload" } : null;
    },
    draw: () => {
      const z = byId("draw-result")?.dataset.z;
      return z ? { z: parse(z), label: "your drawing" } : null;
    },
  };

  function start(panel) {
    clearInterval(ui?.timer);
    const d = panel.dataset;
    const u = {
      panel, model: d.model, bound: +d.bound, span: +d.span, frameMs: +d.frameMs,
      a: { z: parse(d.from), label: d.fromLabel },
      b: { z: parse(d.to), label: d.toLabel },
      playing: !matchMedia("(prefers-reduced-motion: reduce)").matches, timer: 0, t: 0, path: null, key: -1,
    };
    ui = u;
    byId("interp-strip").addEventListener("load", () => ui === u && restart(u));
    const strip = panel.querySelector(".strip-frame");
    strip.addEventListener("click", (e) => go(u, frameAt(e)));
    strip.addEventListener("keydown", (e) => key(u, e));
    byId("interp-form").addEventListener("change", () => update(u));
    byId("interp-form").addEventListener("submit", (e) => e.preventDefault());
    showEnd(u, "a");
    showEnd(u, "b");
    update(u);
    available();
  }

  const clamp = (u, z) => z.map((v) => +Math.max(-u.bound, Math.min(u.bound, v)).toFixed(3));
  const short = (z) => `(${z.slice(0, 3).map((v) => v.toFixed(2)).join(", ")}${z.length > 3 ? ", …" : ""})`;

  function showEnd(u, end) {
    const { z, label } = u[end];
    byId(`interp-${end}-image`).src = `/decode?model=${encodeURIComponent(u.model)}&z=${z.join(",")}`;
    byId(`interp-${end}-label`).textContent = `${label} ${short(z)}`;
    const name = end === "a" ? "from" : "to";
    u.panel.dataset[name] = z.join(",");
    u.panel.dataset[`${name}Label`] = label;
  }

  function url(u, from, to, extra) {
    const form = byId("interp-form").elements;
    const query = { model: u.model, from: from.join(","), to: to.join(","), steps: form.steps.value, ...extra };
    return `/interpolate?${new URLSearchParams(query)}`;
  }

  function update(u) {
    const form = byId("interp-form");
    if (!form.reportValidity()) return;
    const method = form.elements.method.value;
    const strip = byId("interp-strip");
    strip.src = url(u, u.a.z, u.b.z, { method });
    // at least 40 px a frame: a long path scrolls sideways rather than shrinking to a sliver
    strip.closest(".strip-frame").style.minWidth = `${40 * +form.elements.steps.value}px`;
    u.path = null;
    const gif = byId("gif-path");
    gif.href = url(u, u.a.z, u.b.z, { method, format: "gif", size: byId("gif-size").value });
    gif.download = `${u.model}-path.gif`;
    sweep(u);
  }

  // The chosen dimension from z_k - span to z_k + span, the others at the sliders.
  function sweep(u) {
    const z = sliders().map((s) => +s.value);
    const k = Math.min(+byId("sweep-dim").value, z.length - 1);
    const from = z.slice(), to = z.slice();
    from[k] -= u.span;
    to[k] += u.span;
    const gif = byId("gif-sweep");
    gif.href = url(u, clamp(u, from), clamp(u, to), { format: "gif", size: byId("gif-size").value });
    gif.download = `${u.model}-z${k}-sweep.gif`;
    gif.textContent = `GIF: sweep z${k}`;
  }

  // Enable the source buttons whose source is on the page now.
  function available() {
    for (const button of document.querySelectorAll("#interp-panel [data-source]")) {
      button.disabled = !SOURCES[button.dataset.source]();
    }
  }

  // ---- the animation: frame k of the strip, there and back, as the GIF plays ------------------

  function frames() {
    const strip = byId("interp-strip");
    return strip.naturalHeight ? Math.round(strip.naturalWidth / strip.naturalHeight) : 0;
  }

  function restart(u) {
    u.t = 0;
    showFrame(0);
    clearInterval(u.timer);
    if (u.playing && frames() > 1) u.timer = setInterval(() => tick(u), u.frameMs);
  }

  function tick(u) {
    const n = frames();
    u.t = (u.t + 1) % (2 * n - 2);
    showFrame(u.t < n ? u.t : 2 * n - 2 - u.t);
  }

  function showFrame(k) {
    const strip = byId("interp-strip");
    const canvas = byId("interp-frame");
    const n = frames();
    if (!n || !canvas) return;
    const edge = strip.naturalHeight;
    if (canvas.width !== edge) canvas.width = canvas.height = edge;
    canvas.getContext("2d").drawImage(strip, k * edge, 0, edge, edge, 0, 0, edge, edge);
    canvas.dataset.frame = k;
    const at = byId("interp-at");
    at.style.left = `${(100 * k) / n}%`;
    at.style.width = `${100 / n}%`;
  }

  function toggle(u) {
    u.playing = !u.playing;
    const button = byId("interp-play");
    button.setAttribute("aria-pressed", String(u.playing));
    button.textContent = u.playing ? "Pause" : "Play";
    clearInterval(u.timer);
    if (u.playing && frames() > 1) u.timer = setInterval(() => tick(u), u.frameMs);
  }

  // ---- going to a frame: its z from the server's own path (linear or spherical) --------------

  function frameAt(event) {
    const box = byId("interp-strip").getBoundingClientRect();
    const n = frames();
    return n ? Math.min(n - 1, Math.max(0, Math.floor(((event.clientX - box.left) / box.width) * n))) : -1;
  }

  async function go(u, k) {
    if (k < 0) return;
    if (!u.path) {
      const r = await fetch(url(u, u.a.z, u.b.z, { method: byId("interp-form").elements.method.value, format: "json" }));
      if (!r.ok || ui !== u) return;
      u.path = (await r.json()).path;
    }
    if (!u.path[k]) return;
    if (u.playing) toggle(u);
    showFrame(k);
    document.dispatchEvent(new CustomEvent("vae:set-z", {
      detail: { z: u.path[k], source: `Frame ${k + 1} of the interpolation` },
    }));
  }

  // The arrow keys pick a frame (shown in the player), Enter or Space goes there.
  function key(u, e) {
    const n = frames();
    if (!n) return;
    const at = u.key >= 0 ? u.key : +(byId("interp-frame").dataset.frame || 0);
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      if (u.playing) toggle(u);
      u.key = Math.min(n - 1, Math.max(0, at + (e.key === "ArrowRight" ? 1 : -1)));
      showFrame(u.key);
    } else if (e.key === "Enter" || e.key === " ") {
      go(u, at);
    } else return;
    e.preventDefault();
  }

  // ---- following the page --------------------------------------------------------------------

  document.addEventListener("click", (event) => {
    if (!ui) return;
    if (event.target.id === "interp-play") return toggle(ui);
    const button = event.target.closest?.("#interp-panel [data-source]");
    const found = button && SOURCES[button.dataset.source]();
    if (!found) return;
    ui[button.dataset.end] = { z: clamp(ui, found.z), label: found.label };
    showEnd(ui, button.dataset.end);
    delete ui.panel.dataset[button.dataset.end === "a" ? "fromDefault" : "toDefault"];
    update(ui);
    document.dispatchEvent(new CustomEvent("vae:link"));
  });
  document.addEventListener("focusin", (event) => {
    const k = sliders().indexOf(event.target);
    const select = byId("sweep-dim");
    if (ui && k >= 0 && select && +select.value !== k) {
      select.value = String(k); // the sweep follows the focused slider, and shows which it is
      sweep(ui);
    }
  });
  document.addEventListener("input", (event) => {
    if (ui && event.target.closest?.("#z-form")) sweep(ui);
  });
  document.addEventListener("change", (event) => {
    if (!ui) return;
    if (event.target.id === "gif-size") update(ui); // these two live outside the form, by the buttons
    if (event.target.id === "sweep-dim") sweep(ui);
  });
  document.addEventListener("vae:sources", available);
  document.addEventListener("htmx:afterSettle", () => {
    const panel = byId("interp-panel");
    if (panel && panel !== ui?.panel) start(panel);
    else available();
  });

  const panel = byId("interp-panel");
  if (panel) start(panel);
})();
