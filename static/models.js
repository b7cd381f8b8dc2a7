// The model picker follows the weights folder: a model trained, exported or copied into it while the
// page is open appears within a few seconds, and one removed goes (server/reload.py checks the folder
// every second). The options come from /fragments/models; the select is only touched when they change.
(() => {
  const EVERY_MS = 2000;
  const key = (options) => [...options].map((o) => `${o.value}|${o.textContent}`).join("\n");

  async function refresh() {
    const select = document.getElementById("model");
    if (!select || document.hidden || document.activeElement === select) return; // never under the user
    let text;
    try {
      const r = await fetch(`/fragments/models?model=${encodeURIComponent(select.value)}`);
      if (!r.ok) return;
      text = await r.text();
    } catch {
      return; // the server is away for a moment: try again next time
    }
    const fresh = document.createElement("select");
    fresh.innerHTML = text;
    if (key(fresh.options) === key(select.options)) return;
    const value = select.value;
    select.replaceChildren(...fresh.children);
    if ([...select.options].some((o) => o.value === value)) select.value = value;
  }

  setInterval(refresh, EVERY_MS);
})();
