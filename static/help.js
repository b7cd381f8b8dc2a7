// The "try this" box is for a first visit: once closed, it stays closed on later visits and after a
// model switch (localStorage; nothing is sent anywhere).
(() => {
  "use strict";

  const KEY = "vae-try-this";
  const stored = () => {
    try {
      return localStorage.getItem(KEY);
    } catch {
      return null; // storage refused (private mode, a file:// page): the box just stays open
    }
  };

  function apply() {
    const box = document.getElementById("try-this");
    if (box && stored() === "closed") box.open = false;
  }

  // A click on the summary, not the `toggle` event: a box swapped in open fires `toggle` too.
  document.addEventListener("click", (event) => {
    const box = event.target.closest?.("#try-this");
    if (!box || !event.target.closest("summary")) return;
    try {
      localStorage.setItem(KEY, box.open ? "closed" : "open"); // the click is about to flip it
    } catch {
      // nothing to remember it in
    }
  });
  document.addEventListener("htmx:afterSettle", apply);
  apply();
})();
