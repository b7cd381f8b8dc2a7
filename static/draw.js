// The drawing pad: draw with a mouse, pen or finger (pointer events). After each stroke the drawing
// goes to POST /reconstruct as a PNG, preprocessed like any upload; its reconstruction is shown, and
// the sliders (and with them the image, the grid, the map's marker) move to its latent mean.
// Strokes are kept as point lists, so Undo repaints all but the last.
(() => {
  "use strict";

  const INK = 0.065; // stroke width / pad width: MNIST strokes are about 2 px of a 20 px digit
  const HINT = "Each stroke is encoded like an upload.";
  const byId = (id) => document.getElementById(id);

  let pad = null; // the pad on the page now; a model switch brings a new one

  function current() {
    const canvas = byId("draw");
    if (!canvas) return null;
    if (pad?.canvas !== canvas) {
      pad?.abort?.abort();
      const strokes = pad?.strokes || []; // a model switch keeps the drawing (link.js: vae:model)
      pad = { canvas, strokes, stroke: null, abort: null };
      paint(pad);
    }
    return pad;
  }

  // A colour model's pad has ink and paper pickers (draw.html); a grey model's draws black on white.
  const ink = () => byId("draw-ink")?.value || "#000000";
  const paper = () => byId("draw-paper")?.value || "#ffffff";

  function pen(p, colour = p.stroke?.colour) {
    const ctx = p.canvas.getContext("2d");
    ctx.strokeStyle = colour || ink();
    ctx.lineWidth = p.canvas.width * INK;
    ctx.lineCap = ctx.lineJoin = "round";
    return ctx;
  }

  // White paper, black ink: the preprocessing inverts light paper, as for a photo of a digit.
  function paint(p) {
    const ctx = pen(p);
    ctx.fillStyle = paper();
    ctx.fillRect(0, 0, p.canvas.width, p.canvas.height);
    for (const s of p.strokes) {
      ctx.strokeStyle = s.colour || ink();
      ctx.beginPath();
      ctx.moveTo(s[0], s[1]);
      for (let k = 2; k < s.length; k += 2) ctx.lineTo(s[k], s[k + 1]);
      ctx.stroke();
    }
    byId("draw-undo").disabled = byId("draw-clear").disabled = p.strokes.length === 0;
  }

  function at(p, event) {
    const box = p.canvas.getBoundingClientRect();
    return [
      ((event.clientX - box.left) * p.canvas.width) / box.width,
      ((event.clientY - box.top) * p.canvas.height) / box.height,
    ];
  }

  function extend(p, event) {
    const ctx = pen(p);
    const s = p.stroke;
    for (const e of event.getCoalescedEvents?.() || [event]) {
      const [x, y] = at(p, e);
      ctx.beginPath();
      ctx.moveTo(s[s.length - 2], s[s.length - 1]);
      ctx.lineTo(x, y);
      ctx.stroke();
      s.push(x, y);
    }
  }

  document.addEventListener("pointerdown", (event) => {
    if (event.target.id !== "draw" || (event.pointerType === "mouse" && event.button !== 0)) return;
    const p = current();
    event.preventDefault();
    p.canvas.setPointerCapture(event.pointerId);
    p.stroke = at(p, event);
    p.stroke.colour = ink(); // each stroke keeps the ink it was drawn in
    const ctx = pen(p);
    ctx.beginPath();
    ctx.moveTo(...p.stroke);
    ctx.lineTo(...p.stroke);
    ctx.stroke();
  });

  document.addEventListener("pointermove", (event) => {
    if (event.target.id === "draw" && pad?.stroke) extend(pad, event);
  });

  // A tap (a stroke that stays within one ink width) leaves no ink worth encoding: preprocessing
  // would blow a dot up into a blob. It is dropped, said so, and changes nothing else.
  function isTap(p, s) {
    const xs = s.filter((_, k) => k % 2 === 0), ys = s.filter((_, k) => k % 2 === 1);
    const extent = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
    return extent < p.canvas.width * INK;
  }

  function finish(event) {
    if (event.target.id !== "draw" || !pad?.stroke) return;
    const tap = isTap(pad, pad.stroke);
    if (!tap) pad.strokes.push(pad.stroke);
    pad.stroke = null;
    paint(pad);
    byId("draw-hint").textContent = tap ? "A tap draws nothing: press and move to draw a stroke." : HINT;
    if (!tap) encode(pad);
  }
  document.addEventListener("pointerup", finish);
  document.addEventListener("pointercancel", finish);

  document.addEventListener("click", (event) => {
    if (!["draw-undo", "draw-clear"].includes(event.target.id)) return;
    const p = current();
    if (event.target.id === "draw-undo") p.strokes.pop();
    else p.strokes = [];
    paint(p);
    if (p.strokes.length) encode(p);
    else forget(p);
  });

  function forget(p) {
    p.abort?.abort();
    const result = byId("draw-result");
    result.querySelector(".pair").hidden = true;
    result.querySelector(".message")?.remove();
    delete result.dataset.z;
    document.dispatchEvent(new CustomEvent("vae:sources"));
  }

  // Only the latest drawing's answer counts: a new stroke aborts the request before it.
  // `follow`: the sliders move to the answer's mean (not when a model switch re-encodes a drawing
  // that did not set them last).
  async function encode(p, follow = true) {
    p.abort?.abort();
    const abort = (p.abort = new AbortController());
    const blob = await new Promise((resolve) => p.canvas.toBlob(resolve, "image/png"));
    const form = new FormData();
    form.append("image", blob, "drawing.png");
    const model = byId("draw-panel").dataset.model;
    let answer;
    try {
      const r = await fetch(`/reconstruct?model=${encodeURIComponent(model)}`, {
        method: "POST", body: form, headers: { Accept: "application/json" }, signal: abort.signal,
      });
      answer = { ok: r.ok, body: await r.json() };
    } catch (e) {
      if (e.name === "AbortError") return;
      answer = { ok: false, body: { detail: "The server cannot be reached." } };
    }
    if (abort.signal.aborted || pad !== p) return;
    show(answer, follow);
  }

  function show({ ok, body }, follow) {
    const result = byId("draw-result");
    result.querySelector(".message")?.remove();
    if (!ok) {
      const message = document.createElement("p");
      message.className = "message";
      message.setAttribute("role", "alert");
      message.textContent = body.detail;
      result.prepend(message);
      return;
    }
    byId("draw-input").src = body.input;
    byId("draw-reconstruction").src = body.reconstruction;
    result.querySelector(".pair").hidden = false;
    result.dataset.z = body.mean.map((v) => +v.toFixed(3)).join(",");
    if (follow) {
      const detail = { z: body.mean, source: "Your drawing's latent mean", from: "draw" };
      document.dispatchEvent(new CustomEvent("vae:set-z", { detail }));
    }
    document.dispatchEvent(new CustomEvent("vae:sources"));
  }

  // A new paper colour repaints the pad and encodes the drawing on it.
  document.addEventListener("change", (event) => {
    if (event.target.id !== "draw-paper") return;
    const p = current();
    paint(p);
    if (p.strokes.length) encode(p);
  });

  current();
  document.addEventListener("htmx:afterSettle", current);
  document.addEventListener("vae:model", (event) => {
    const p = current();
    if (p?.strokes.length) encode(p, event.detail.follow);
  });
})();
