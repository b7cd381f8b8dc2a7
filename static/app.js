// The few things htmx cannot do on the explorer page: slider read-outs, the URL, keyboard keys,
// drag-and-drop uploads, and turning a click on the grid image into two slider values.
// Every change of z ends as an `input` event on #z-form, which htmx turns into a new image.
// map.js, draw.js and interpolate.js hold the canvases below the sliders; they move the sliders
// with a `vae:set-z` event.
(() => {
  "use strict";

  const byId = (id) => document.getElementById(id);
  const sliders = () => [...document.querySelectorAll("#sliders input[type=range]")];
  const decimals = (range) => (range.step.split(".")[1] || "").length;

  function showValue(range) {
    const out = byId(`${range.id}-value`);
    if (out) out.value = Number(range.value).toFixed(decimals(range));
  }

  // The URL holds the model and the exact z. replaceState keeps the history clean; at most one
  // call per 100 ms while dragging (browsers ignore floods of them), always with the latest state.
  let urlTimer = null;
  function writeUrl() {
    urlTimer = null;
    const model = byId("z-model");
    if (!model) return;
    const z = sliders().map((s) => s.value).join(",");
    // other parts of the page keep their own parameters (map.js: the map's view)
    const rest = location.search.slice(1).split("&").filter((p) => p && !/^(model|z)=/.test(p));
    const more = rest.length ? `&${rest.join("&")}` : "";
    history.replaceState(null, "", `${location.pathname}?model=${encodeURIComponent(model.value)}&z=${z}${more}`);
  }
  function syncUrl() {
    if (urlTimer === null) urlTimer = setTimeout(writeUrl, 100);
  }

  // The grid's data attributes say which two dimensions it shows and over what range.
  function gridAxes() {
    const frame = document.querySelector(".grid-frame");
    if (!frame) return null;
    const d = frame.dataset;
    return { x: byId(`z${d.x}`), y: byId(`z${d.y}`), lo: +d.lo, hi: +d.hi, steps: +d.steps };
  }

  function placeMarker() {
    const g = gridAxes();
    const marker = byId("grid-marker");
    if (!g || !marker || !g.x || !g.y) return;
    const at = (v) => (((v - g.lo) / (g.hi - g.lo)) * (g.steps - 1) + 0.5) / g.steps; // cell centres
    const fx = at(+g.x.value);
    const fy = at(+g.y.value);
    marker.hidden = !(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1);
    marker.style.left = `${fx * 100}%`;
    marker.style.top = `${fy * 100}%`;
  }

  function pickCell(event) {
    const g = gridAxes();
    if (!g || !g.x || !g.y) return;
    const box = event.target.getBoundingClientRect();
    const cell = (f) => Math.min(g.steps - 1, Math.max(0, Math.floor(f * g.steps)));
    const value = (f) => g.lo + (cell(f) * (g.hi - g.lo)) / (g.steps - 1);
    g.x.value = value((event.clientX - box.left) / box.width);
    g.y.value = value((event.clientY - box.top) / box.height);
    byId("z-form").dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("input", (event) => {
    const target = event.target;
    if (target.type === "range") showValue(target);
    const byUser = event.isTrusted || event.detail?.byUser; // keys.js's steps are a person's too
    if (byUser && target.closest?.("#sliders")) notice(""); // a notice about the last jump is stale
    if (target.closest?.("#z-form")) {
      if (target.id === "z-form") sliders().forEach(showValue); // new sliders were swapped in
      placeMarker();
      syncUrl();
    }
  });

  document.addEventListener("click", (event) => {
    if (event.target.id === "grid") pickCell(event);
  });

  // Every slider to `detail.z` at once (a map point, a drawing's mean); each range input clamps and
  // rounds its value to its own range and step, as the server's `snap` does. A value beyond the
  // range is said, never silently changed: `detail.source` names where it came from.
  document.addEventListener("vae:set-z", (event) => {
    const all = sliders();
    event.detail.z.forEach((v, i) => {
      if (all[i]) all[i].value = v;
    });
    notice(beyond(event.detail.z, +(all[0]?.max || 0), event.detail.source || "The chosen point"));
    byId("z-form")?.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // As the server's `beyond_notice` (server/view.py) words it.
  function beyond(z, bound, source) {
    const out = z.map((v, i) => [i, v]).filter(([, v]) => Math.abs(v) > bound);
    if (!out.length) return "";
    let listed = out.slice(0, 4).map(([i, v]) => `z${i} = ${v.toFixed(2)}`).join(", ");
    if (out.length > 4) listed += ` and ${out.length - 4} more`;
    const [verb, them] = out.length === 1 ? ["lies", "it is"] : ["lie", "they are"];
    return `${source}: ${listed} ${verb} beyond the sliders' range ±${bound}; ${them} shown at the edge.`;
  }
  function notice(text) {
    const slot = byId("z-message");
    if (!slot) return;
    slot.replaceChildren();
    if (!text) return;
    const p = document.createElement("p");
    p.className = "notice";
    p.setAttribute("role", "status");
    p.textContent = text;
    slot.append(p);
  }

  // A reply for a part of the page that was replaced meanwhile (a model switch) has nowhere to go.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (!document.body.contains(event.detail.target)) event.detail.shouldSwap = false;
  });
  document.addEventListener("htmx:afterSettle", () => {
    placeMarker(); // the grid may have been redrawn under a marker that has moved since
    syncUrl(); // a new model
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.target.id === "upload-form") event.target.reset(); // so the same file can be sent again
    const status = byId("status");
    if (status && event.detail.successful) status.textContent = "";
  });
  document.addEventListener("htmx:responseError", (event) => {
    byId("status").textContent = `The server failed (${event.detail.xhr.status}); try again.`;
  });
  document.addEventListener("htmx:sendError", () => {
    byId("status").textContent = "The server cannot be reached.";
  });

  // Keys come from the legend (kbd[data-action]), so the legend always tells the truth.
  const actions = {
    prev: () => focusSlider(-1),
    next: () => focusSlider(+1),
    sample: () => byId("sample")?.click(),
    reset: () => byId("reset")?.click(),
  };
  function focusSlider(step) {
    const all = sliders();
    const i = all.indexOf(document.activeElement);
    const next = i < 0 ? (step > 0 ? 0 : all.length - 1) : (i + step + all.length) % all.length;
    all[next]?.focus();
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (event.target.matches("input:not([type=range]), select, textarea, [contenteditable]")) return;
    const kbd = [...document.querySelectorAll("kbd[data-action]")].find((k) => k.textContent === event.key.toLowerCase());
    if (!kbd) return;
    event.preventDefault();
    actions[kbd.dataset.action]();
  });

  // Drop an image anywhere: it becomes the upload field's file, and htmx sends it on `change`.
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    document.body.classList.add("dropping");
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) document.body.classList.remove("dropping");
  });
  document.addEventListener("drop", (event) => {
    document.body.classList.remove("dropping");
    const input = byId("upload");
    const file = event.dataTransfer?.files[0];
    if (!input || !file) return;
    event.preventDefault();
    const one = new DataTransfer();
    one.items.add(file);
    input.files = one.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  writeUrl(); // the URL holds the state from the first paint, even for a bare "/"
})();
