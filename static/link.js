// The rest of the page's link: the grid as drawn (gx, gy, lo, hi, steps), the temperature (t), the
// interpolation's endpoints and method (from, to, method); server/link.py reads them back. app.js
// writes model and z and map.js the map's view: every writer keeps the others' parameters. A value
// at its default is left out, so a plain link stays short.
// A model switch goes into the history (Back returns to the previous model) and keeps what still
// fits the new model: z, the grid, the endpoints when the latent size is the same; the temperature
// and method always. The upload or drawing that last set z is encoded again by the new model.
(() => {
  "use strict";

  const byId = (id) => document.getElementById(id);
  const OWN = ["gx", "gy", "lo", "hi", "steps", "t", "from", "to", "method"];

  function own() {
    const out = {};
    const g = document.querySelector(".grid-frame")?.dataset;
    const form = byId("grid-form");
    if (g && form) {
      const fields = [g.x, g.y, +g.lo, +g.hi, g.steps].map(String);
      if (fields.join(",") !== form.dataset.default.split(",").map((v) => String(+v)).join(",")) {
        Object.assign(out, { gx: g.x, gy: g.y, lo: fields[2], hi: fields[3], steps: g.steps });
      }
    }
    const t = byId("temperature");
    if (t && +t.value !== +t.dataset.default) out.t = t.value;
    const interp = byId("interp-panel")?.dataset;
    if (interp) {
      if (interp.fromDefault === undefined) out.from = interp.from;
      if (interp.toDefault === undefined) out.to = interp.to;
      const method = byId("interp-form")?.elements.method.value;
      if (method && method !== "linear") out.method = method;
    }
    return out;
  }

  let timer = 0;
  function write() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const q = new URLSearchParams(location.search);
      OWN.forEach((k) => q.delete(k));
      for (const [k, v] of Object.entries(own())) q.set(k, v);
      history.replaceState(history.state, "", `${location.pathname}?${q.toString().replace(/%2C/g, ",")}`);
    }, 150);
  }
  for (const type of ["input", "change", "vae:link", "htmx:afterSettle"]) document.addEventListener(type, write);

  // ---- a model switch -----------------------------------------------------------------------

  // What set the sliders last: "upload", "draw", or "" (the user, a sample, a map point).
  let lastSource = "";
  let lastFile = null;
  document.addEventListener("change", (event) => {
    if (event.target.id === "upload" && event.target.files[0]) lastFile = event.target.files[0];
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.target.id === "upload-form" && event.detail.successful) lastSource = "upload";
  });
  document.addEventListener("vae:set-z", (event) => {
    lastSource = event.detail.from === "draw" ? "draw" : "";
  });
  document.addEventListener("input", (event) => {
    if ((event.isTrusted || event.detail?.byUser) && event.target.closest?.("#sliders")) lastSource = "";
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.target.id === "sample" || event.target.id === "reset") lastSource = "";
  });

  const dim = () => document.querySelectorAll("#sliders input[type=range]").length;

  // The switch's request carries what fits the new model (the server checks it all again).
  let switching = null;
  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.id !== "model") return;
    const select = event.detail.elt;
    const same = +select.selectedOptions[0]?.dataset.dim === dim();
    const p = event.detail.parameters;
    const kept = own();
    if (kept.t) p.t = kept.t;
    if (kept.method) p.method = kept.method;
    if (same) {
      p.z = [...document.querySelectorAll("#sliders input[type=range]")].map((s) => s.value).join(",");
      for (const k of ["gx", "gy", "lo", "hi", "steps", "from", "to"]) if (kept[k]) p[k] = kept[k];
    }
    switching = { model: select.value, source: lastSource, file: lastFile };
    // a new history entry for the new model, at once (app.js and this file then rewrite it in place)
    const q = new URLSearchParams(location.search);
    q.set("model", select.value);
    for (const k of ["z", ...OWN]) q.delete(k);
    for (const [k, v] of Object.entries(p)) if (k !== "model") q.set(k, v);
    history.pushState({ vae: "model" }, "", `${location.pathname}?${q.toString().replace(/%2C/g, ",")}`);
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    if (!switching || byId("z-model")?.value !== switching.model) return;
    const { source, file } = switching;
    switching = null;
    lastSource = "";
    if (source === "upload" && file && byId("upload")) {
      const one = new DataTransfer();
      one.items.add(file);
      byId("upload").files = one.files;
      byId("upload").dispatchEvent(new Event("change", { bubbles: true }));
    }
    document.dispatchEvent(new CustomEvent("vae:model", { detail: { follow: source === "draw" } }));
  });

  // Back and Forward between models: the page for that entry's link, as the server renders it.
  window.addEventListener("popstate", () => {
    const model = new URLSearchParams(location.search).get("model");
    if (!model || model === byId("z-model")?.value || !window.htmx) return;
    byId("model").value = model;
    htmx.ajax("GET", `/${location.search}`, { target: "#explorer", swap: "outerHTML" });
  });
})();
