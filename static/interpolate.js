// Interpolation: two endpoints taken from anywhere on the page (the sliders' z, the clicked map
// point, the upload, the drawing), the decoded path between them as one strip (GET /interpolate),
// played frame by frame from that strip, and GIF downloads (the API's format=gif) of the path or of
// a sweep of the focused slider's dimension, ±span around the sliders' z as in the traversals.
(() => {
  "use strict";

  const FRAME_MS = 125;
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
    const dim = +panel.dataset.dim;
    const u = {
      panel, model: panel.dataset.model, bound: +panel.dataset.bound, span: +panel.dataset.span,
      a: { z: Array(dim).fill(-1.5), label: "−1.5 in every dimension" },
      b: { z: Array(dim).fill(1.5), label: "+1.5 in every dimension" },
      focused: 0, playing: !matchMedia("(prefers-reduced-motion: reduce)").matches, timer: 0, t: 0,
    };
    ui = u;
    byId("interp-strip").addEventListener("load", () => ui === u && restart(u));
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
    byId("interp-strip").src = url(u, u.a.z, u.b.z, { method });
    const gif = byId("gif-path");
    gif.href = url(u, u.a.z, u.b.z, { method, format: "gif" });
    gif.download = `${u.model}-path.gif`;
    sweep(u);
  }

  // The focused dimension from z_k - span to z_k + span, the others at the sliders.
  function sweep(u) {
    const z = sliders().map((s) => +s.value);
    const k = Math.min(u.focused, z.length - 1);
    const from = z.slice(), to = z.slice();
    from[k] -= u.span;
    to[k] += u.span;
    const gif = byId("gif-sweep");
    gif.href = url(u, clamp(u, from), clamp(u, to), { format: "gif" });
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
    if (u.playing && frames() > 1) u.timer = setInterval(() => tick(u), FRAME_MS);
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
    if (u.playing && frames() > 1) u.timer = setInterval(() => tick(u), FRAME_MS);
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
    update(ui);
  });
  document.addEventListener("focusin", (event) => {
    const k = sliders().indexOf(event.target);
    if (ui && k >= 0 && k !== ui.focused) {
      ui.focused = k;
      sweep(ui);
    }
  });
  document.addEventListener("input", (event) => {
    if (ui && event.target.closest?.("#z-form")) sweep(ui);
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
