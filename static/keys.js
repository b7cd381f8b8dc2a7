// Keys that a browser's range input and the page's images do not have on their own:
// - an arrow key moves the focused slider by a step the image shows (#sliders' data-key-step, 0.1),
//   Shift + arrow by a coarse one (data-coarse-step, 0.5); Home and End stay the browser's;
// - the grid and the traversals take the focus; the arrows move a cell outline over the picture and
//   Enter or Space goes there, as a click does. A click on a traversal cell goes there too.
// Every move ends as an `input` event on #z-form, as a drag does.
(() => {
  "use strict";

  const byId = (id) => document.getElementById(id);
  const ARROWS = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  const changed = () => byId("z-form")?.dispatchEvent(new Event("input", { bubbles: true }));

  // ---- sliders -------------------------------------------------------------------------------

  function stepSlider(event) {
    const range = event.target;
    const [dx, dy] = ARROWS[event.key];
    const d = byId("sliders").dataset;
    const step = +(event.shiftKey ? d.coarseStep : d.keyStep);
    const sign = dx || -dy; // up is more, as the browser has it
    const value = Math.min(+range.max, Math.max(+range.min, +range.value + sign * step));
    range.value = value.toFixed(2);
    // a person's move, as a drag is (the event itself is the page's, so not `isTrusted`)
    range.dispatchEvent(new CustomEvent("input", { bubbles: true, detail: { byUser: true } }));
    event.preventDefault();
  }

  // ---- the grid and the traversals: a cell outline moved by the arrows -----------------------

  // Each picture as rows x cols cells, where z is now, and what going to cell (row, col) sets.
  const PICTURES = {
    grid: {
      frame: () => document.querySelector(".grid-frame"),
      shape(frame) {
        const d = frame.dataset;
        return { rows: +d.steps, cols: +d.steps };
      },
      // the cell under the marker, else the middle
      home(frame) {
        const d = frame.dataset, n = +d.steps;
        const cell = (v) => Math.round(((v - d.lo) / (d.hi - d.lo)) * (n - 1));
        const x = cell(+byId(`z${d.x}`).value), y = cell(+byId(`z${d.y}`).value);
        const inside = (k) => k >= 0 && k < n;
        return inside(x) && inside(y) ? [y, x] : [n >> 1, n >> 1];
      },
      go(frame, row, col) {
        const d = frame.dataset, n = +d.steps;
        const value = (k) => +d.lo + (k * (d.hi - d.lo)) / (n - 1);
        byId(`z${d.x}`).value = value(col);
        byId(`z${d.y}`).value = value(row);
      },
    },
    traversal: {
      frame: () => document.querySelector(".traversal-frame"),
      shape(frame) {
        return { rows: +frame.dataset.rows, cols: +frame.dataset.steps };
      },
      home(frame) {
        return [0, +frame.dataset.steps >> 1]; // z0 at its current value
      },
      // row k sweeps z_k from base_k - span to base_k + span, as the server's /traverse draws it
      go(frame, row, col) {
        const d = frame.dataset, n = +d.steps, span = +d.span;
        // the z the picture shows: local-decode.js's, when it redrew it here, else the server's
        const base = +(byId("traversal")?.dataset.z || d.base).split(",")[row];
        byId(`z${row}`).value = base - span + (2 * span * col) / (n - 1);
      },
    },
  };

  const focusCell = { grid: null, traversal: null }; // [row, col] while that picture has the focus

  function outline(kind) {
    const p = PICTURES[kind], frame = p.frame(), at = focusCell[kind];
    const box = frame?.querySelector(".cell-focus");
    if (!box) return;
    box.hidden = !at;
    if (!at) return;
    const { rows, cols } = p.shape(frame);
    Object.assign(box.style, {
      left: `${(100 * at[1]) / cols}%`, top: `${(100 * at[0]) / rows}%`,
      width: `${100 / cols}%`, height: `${100 / rows}%`,
    });
  }

  function go(kind, row, col) {
    const p = PICTURES[kind];
    p.go(p.frame(), row, col);
    changed();
  }

  function pictureKey(kind, event) {
    const p = PICTURES[kind], frame = p.frame();
    const { rows, cols } = p.shape(frame);
    const at = focusCell[kind] || p.home(frame);
    if (ARROWS[event.key]) {
      const [dx, dy] = ARROWS[event.key];
      focusCell[kind] = [Math.min(rows - 1, Math.max(0, at[0] + dy)), Math.min(cols - 1, Math.max(0, at[1] + dx))];
      outline(kind);
    } else if (event.key === "Enter" || event.key === " ") {
      focusCell[kind] = at;
      go(kind, ...at);
    } else return;
    event.preventDefault();
  }

  const kindOf = (el) => (el?.classList?.contains("grid-frame") ? "grid"
    : el?.classList?.contains("traversal-frame") ? "traversal" : null);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.matches?.("#sliders input[type=range]") && ARROWS[event.key]) return stepSlider(event);
    const kind = kindOf(target);
    if (kind) pictureKey(kind, event);
  });
  document.addEventListener("focusin", (event) => {
    const kind = kindOf(event.target);
    if (kind && !focusCell[kind]) {
      focusCell[kind] = PICTURES[kind].home(event.target);
      outline(kind);
    }
  });
  document.addEventListener("focusout", (event) => {
    const kind = kindOf(event.target);
    if (kind && !swapping) {
      focusCell[kind] = null;
      outline(kind);
    }
  });

  // A click on a traversal cell goes there (the grid's clicks are app.js's).
  document.addEventListener("click", (event) => {
    const frame = event.target.closest?.(".traversal-frame");
    if (!frame || event.target.id !== "traversal") return;
    const box = event.target.getBoundingClientRect();
    const { rows, cols } = PICTURES.traversal.shape(frame);
    const row = Math.min(rows - 1, Math.floor(((event.clientY - box.top) / box.height) * rows));
    const col = Math.min(cols - 1, Math.floor(((event.clientX - box.left) / box.width) * cols));
    go("traversal", row, col);
  });

  // The pictures are redrawn after every move: keep the focus, and the outline, on the new one.
  let swapping = false;
  let refocus = null;
  document.addEventListener("htmx:beforeSwap", () => {
    refocus = kindOf(document.activeElement);
    swapping = Boolean(refocus);
  });
  document.addEventListener("htmx:afterSettle", () => {
    if (refocus) PICTURES[refocus].frame()?.focus({ preventScroll: true });
    if (refocus) outline(refocus);
    refocus = null;
    swapping = false;
  });
})();
