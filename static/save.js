// "Save PNG": the decoded image at the sliders' z, upscaled to the chosen size (GET /decode?size=),
// named for the model and z. The link follows every change of z, model or size.
(() => {
  "use strict";

  const byId = (id) => document.getElementById(id);

  function update() {
    const link = byId("save-png");
    const model = byId("z-model")?.value;
    if (!link || !model) return;
    const z = [...document.querySelectorAll("#sliders input[type=range]")].map((s) => s.value).join(",");
    const size = byId("save-size").value;
    link.href = `/decode?${new URLSearchParams({ model, z, size }).toString().replace(/%2C/g, ",")}`;
    link.download = `${model}_z=${z}_${size}px.png`;
  }

  document.addEventListener("input", update);
  document.addEventListener("change", update);
  document.addEventListener("htmx:afterSettle", update);
  update();
})();
