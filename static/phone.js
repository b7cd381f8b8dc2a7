// On a phone the decoded image sticks to the top while the sliders scroll under it, and lets go
// once the sliders panel has scrolled past, so that it never covers the headings and controls of
// the panels below (the grid's, the traversals'). Sticky positioning takes no room in the layout, so
// letting go moves nothing.
(() => {
  "use strict";

  let watched = null;
  let observer = null;

  // Whether any of the sliders panel shows below the stuck image: the window less the image's height.
  function watch() {
    const sliders = document.querySelector(".sliders-panel");
    const image = document.querySelector(".decoded-panel");
    if (sliders === watched || !image) return;
    observer?.disconnect();
    watched = sliders;
    if (!sliders) return;
    const covered = Math.round(image.getBoundingClientRect().height);
    observer = new IntersectionObserver(([entry]) => {
      image.classList.toggle("released", !entry.isIntersecting && entry.boundingClientRect.top < covered);
    }, { rootMargin: `-${covered}px 0px 0px 0px` });
    observer.observe(sliders);
  }

  document.addEventListener("htmx:afterSettle", watch);
  watch();
})();
