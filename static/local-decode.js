// Decoding on the page itself, so that a slider drag never waits for the network.
//
// #z-form's data-decoder links the model's decoder as ONNX (GET /decoder.onnx: float16 weights, 1.35 MB
// for the shipped models, cached for a year under a URL that names the weights' checksum). ONNX Runtime
// Web's WebAssembly build (static/onnxruntime-web-1.30.0/, one thread: no SharedArrayBuffer, no special
// headers) runs it. This script is `async` in the page's head: it asks for the runtime as soon as it
// runs, before the page's other scripts, and for the decoder file once the form is parsed; making the
// first session (compiling the 14 MB WebAssembly and starting the runtime, ~1 s of CPU on a slow
// machine) is most of the time to the first local image (docs/performance.md). Once it is ready, each change of z is decoded here: the slider's image first, then
// the traversal rows, one decode at a time and always at the latest z (moves made meanwhile collapse
// into one). The slider's image is drawn on a canvas that takes the <img>'s place; the traversal
// becomes its <img>'s source. Both equal the server's PNGs to within 1/255 per pixel
// (tests/server/test_web_decoder.py).
//
// The server stays the truth and the fallback: until the decoder is ready, or when WebAssembly is
// missing or the file cannot be had, htmx asks the server as before, and nothing is shown. While it is
// ready, the slider form's requests for /fragments/decoded are not sent (htmx:confirm); the traversal is
// still asked for after a pause, as before, and a reply for a z the sliders have left is not swapped in.
//
// Each time a new decoded image is on screen (drawn on the canvas, or the server's <img> loaded; either
// reaches the screen at the next frame), `vae:shown` fires on document with
// detail {z: [numbers], source: "local" | "server"}; tests and bench/browser.py time both paths by it.
(() => {
  "use strict";

  const ORT = "/static/onnxruntime-web-1.30.0/";
  const byId = (id) => document.getElementById(id);
  const sliders = () => [...document.querySelectorAll("#sliders input[type=range]")];

  let runtime = null; // a promise of ONNX Runtime's module, loaded once, as the page starts
  let local = null; // the ready decoder of the model on the page: {url, ort, session, input, output, logits}
  let loading = null; // the URL being loaded
  let running = false;
  const timings = {}; // ms since navigation: runtime loaded, decoder asked for, file arrived, session made
  const want = { image: false, traversal: false };

  // The ES module bundle: the runtime and its WebAssembly glue in one file, so one request before the
  // .wasm rather than two. The .wasm is fetched and compiled (streaming: application/wasm) when the
  // first session is made.
  function loadRuntime() {
    runtime ??= import(`${ORT}ort.wasm.bundle.min.mjs`).then((ort) => {
      timings.runtime = performance.now();
      ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one decodes in ~1 ms anyway
      ort.env.wasm.proxy = false;
      ort.env.wasm.wasmPaths = { wasm: `${ORT}ort-wasm-simd-threaded.wasm` };
      return ort;
    });
    return runtime;
  }

  async function fetchBytes(url) {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }

  // The decoder of the model now on the page, when it is not the one loaded (or being loaded).
  async function prepare() {
    const form = byId("z-form");
    const url = form?.dataset.decoder;
    if (local && local.url !== url) { // another model: the server decodes until its decoder is ready
      local = null;
      delete document.documentElement.dataset.decoding;
    }
    if (!url || local || loading === url || typeof WebAssembly !== "object") return;
    loading = url;
    const mark = (what) => { timings[what] = performance.now(); };
    mark("asked");
    try {
      const [ort, bytes] = await Promise.all([
        loadRuntime(),
        fetchBytes(url).then((b) => { mark("file"); return b; }),
      ]);
      // "basic" (constant folding, redundant nodes): the first session and its first run take ~150 ms
      // less than with "all" (the layout transforms), and a decode stays under 1 ms
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: ["wasm"], graphOptimizationLevel: "basic",
      });
      mark("session");
      if (byId("z-form")?.dataset.decoder !== url) return; // the model changed meanwhile
      const [input] = session.inputNames;
      const [output] = session.outputNames;
      local = { url, ort, session, input, output, logits: form.dataset.output === "logits" };
      document.documentElement.dataset.decoding = "local";
      want.image = true; // the first local image, at the z on screen (the traversal waits for a move)
      pump();
    } catch (error) {
      console.info("decoding on the server:", error.message); // no file, no runtime: the server path stays
    } finally {
      if (loading === url) loading = null;
    }
  }

  // The decoder is ready, and is the one of the model on the page (a model switch swaps the form first).
  const ready = () => local !== null && byId("z-form")?.dataset.decoder === local.url;

  function request() {
    if (!ready()) return;
    want.image = want.traversal = true;
    pump();
  }

  // One decode at a time (a session runs one call at a time), the slider's image before the traversal.
  async function pump() {
    if (running) return;
    running = true;
    try {
      while (ready() && (want.image || want.traversal)) {
        const job = want.image ? showImage : showTraversal;
        if (want.image) want.image = false;
        else want.traversal = false;
        await job(local);
      }
    } catch (error) {
      console.warn("local decoding failed; the server decodes from now on:", error);
      local = null;
      delete document.documentElement.dataset.decoding;
      showServer();
      byId("z-form")?.dispatchEvent(new Event("input", { bubbles: true }));
    } finally {
      running = false;
    }
  }

  const values = () => sliders().map((s) => s.value);

  async function decode(dec, codes, dim) {
    const z = new dec.ort.Tensor("float32", Float32Array.from(codes), [codes.length / dim, dim]);
    const out = (await dec.session.run({ [dec.input]: z }))[dec.output];
    return { data: out.data, dims: out.dims }; // (N, C, H, W)
  }

  // Tiles of `cols` images a row, as server/render.py's `tile` lays them out, into `canvas`.
  function draw(x, cols, logits, canvas) {
    const [n, c, h, w] = x.dims;
    const rows = Math.ceil(n / cols);
    if (canvas.width !== cols * w) canvas.width = cols * w;
    if (canvas.height !== rows * h) canvas.height = rows * h;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(canvas.width, canvas.height);
    const px = image.data;
    const level = (v) => Math.min(255, Math.max(0, Math.round((logits ? 1 / (1 + Math.exp(-v)) : v) * 255)));
    for (let i = 0; i < n; i++) {
      const ox = (i % cols) * w, oy = Math.floor(i / cols) * h;
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const at = 4 * ((oy + y) * canvas.width + ox + xx);
          const src = ((i * c) * h + y) * w + xx;
          for (let ch = 0; ch < 3; ch++) px[at + ch] = level(x.data[src + (c === 3 ? ch * h * w : 0)]);
          px[at + 3] = 255;
        }
      }
    }
    ctx.putImageData(image, 0, 0);
  }

  // The slider's image is drawn on a canvas that takes the <img>'s place: drawn pixels are on screen
  // at the next frame, where a new src is decoded first (~10 ms on a busy machine). The <img> keeps
  // the z shown in data-z, for the page's other scripts and for tests.
  function canvasFor(img) {
    let canvas = byId("decoded-local");
    if (!canvas || canvas.previousElementSibling !== img) {
      canvas?.remove();
      canvas = document.createElement("canvas");
      canvas.id = "decoded-local";
      canvas.setAttribute("role", "img");
      img.after(canvas);
    }
    return canvas;
  }

  async function showImage(dec) {
    const z = values();
    const img = byId("decoded");
    if (!img || !z.length) return;
    const x = await decode(dec, z.map(Number), z.length);
    if (dec !== local || !document.body.contains(img)) return;
    const canvas = canvasFor(img);
    draw(x, 1, dec.logits, canvas);
    img.dataset.source = "local";
    img.dataset.z = z.join(",");
    img.alt = `The decoded image at z = (${img.dataset.z})`;
    canvas.setAttribute("aria-label", img.alt);
    img.hidden = true;
    canvas.hidden = false;
    shown(img);
  }

  // The server's image again (local decoding stopped): the canvas goes.
  function showServer() {
    byId("decoded-local")?.remove();
    const img = byId("decoded");
    if (img) img.hidden = false;
  }

  const scratch = document.createElement("canvas");

  // latent.traverse: row k sweeps z_k over z_k - span .. z_k + span in `steps`, the others held.
  function traverse(base, span, steps) {
    const d = base.length, codes = [];
    for (let k = 0; k < d; k++) {
      for (let j = 0; j < steps; j++) {
        const z = base.slice();
        z[k] += -span + (2 * span * j) / (steps - 1);
        codes.push(...z);
      }
    }
    return codes;
  }

  async function showTraversal(dec) {
    const img = byId("traversal");
    if (!img) return;
    // span and steps come from the server's own /traverse URL, kept once the image is drawn here
    const query = new URL(img.getAttribute("src"), location.href).searchParams;
    const span = +(img.dataset.span ?? query.get("span"));
    const steps = +(img.dataset.steps ?? query.get("steps"));
    const z = values();
    if (!(steps >= 2) || !z.length) return;
    const x = await decode(dec, traverse(z.map(Number), span, steps), z.length);
    if (dec !== local || !document.body.contains(img)) return;
    draw(x, steps, dec.logits, scratch);
    Object.assign(img.dataset, { span, steps, z: z.join(","), source: "local" });
    img.src = scratch.toDataURL("image/png");
  }

  document.addEventListener("input", (event) => {
    if (event.target.closest?.("#z-form")) request();
  });

  // While the page decodes, the slider form's own requests are not sent ...
  document.addEventListener("htmx:confirm", (event) => {
    if (ready() && event.detail.elt.id === "z-form") event.preventDefault();
  });
  // ... and a reply from before it was ready, or for a traversal the sliders have left, is dropped.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (!ready()) return;
    const target = event.detail.target?.id;
    if (target === "decoded") event.detail.shouldSwap = false;
    if (target === "traversal-view") {
      const asked = event.detail.requestConfig?.parameters;
      if (sliders().some((s) => asked?.[s.name] !== undefined && asked[s.name] !== s.value)) {
        event.detail.shouldSwap = false;
      }
    }
  });
  document.addEventListener("htmx:afterSettle", prepare); // a model switch brings a new #z-form

  function shown(img) {
    const detail = { z: img.dataset.z.split(",").map(Number), source: img.dataset.source || "server" };
    document.dispatchEvent(new CustomEvent("vae:shown", { detail }));
  }
  // The server's image, once per element and source: its `load`, or the page's own image, loaded
  // before the document was parsed (this script runs as soon as it arrives).
  const announced = new WeakMap();
  function announce(img) {
    if (img?.id !== "decoded" || img.hidden || !img.complete || !img.naturalWidth) return;
    if (announced.get(img) === img.currentSrc) return;
    announced.set(img, img.currentSrc);
    shown(img);
  }
  document.addEventListener("load", (event) => announce(event.target), true);

  window.localDecode = { timings: () => ({ ...timings }) };

  // The runtime is asked for at once, while the page itself still loads (this script is `async` in
  // the head); the decoder file as soon as the form that names it is parsed.
  if (typeof WebAssembly === "object") loadRuntime().catch(() => {}); // prepare() reports a failure
  function parsed() {
    announce(byId("decoded"));
    prepare();
  }
  if (document.readyState === "loading") document.addEventListener("readystatechange", parsed, { once: true });
  else parsed();
})();
