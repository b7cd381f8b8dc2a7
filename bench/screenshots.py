"""Screenshots of the explorer for every model in weights/, saved as docs/explorer-<name>.png.

Each shot is the page at 1280x800 after uploading one test-set image of the model's data set (when the
data is on this machine), so that it shows a reconstruction, the sliders at its latent mean, the grid
with its marker and the traversals. Below it, docs/beyond-<name>.png shows the panels under the
first screen: the latent map with a hovered point, a drawn digit and its reconstruction, the
interpolation from the drawing to a clicked map point, and the model insight. Also
docs/explorer-phone.png at 390 px wide on a touch screen. The labelled pictures alone (--only labelled):
docs/insight-<name>.png (the model-insight panel: axes on the training curve, the glossary) and
docs/traversal-<name>.png (rows labelled with dimension, KL and inactive) for a z=10 model with an
inactive dimension,
and the phone shot. docs/map-<name>.png (also alone: --only map): the latent map zoomed in until its
points are images, over the manifold layer, with a lasso selection and its panel (with VAE_DATA_DIR
holding the training split, 70,000 points). Models whose card says "placeholder" are skipped unless
--allow-placeholder: their pictures are noise. The test-set encodings are cached in a temporary
folder, never next to the weights.

    .venv/bin/python bench/screenshots.py [--out docs] [--allow-placeholder] [--only labelled|map]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.data import DataError, default_folder, load_split  # noqa: E402
from model.store import weights_dir  # noqa: E402
from tests.browser.harness import draw_stroke, launch, serve  # noqa: E402

EXAMPLE = {"mnist": 7, "fashion-mnist": 9}  # a test image to upload: index 7 is a 9, 9 a sandal


def example_png(dataset: str) -> bytes | None:
    folder = default_folder(dataset)
    if folder is None:
        return None
    try:
        image = load_split(folder, "test").images[EXAMPLE.get(dataset, 0)]
    except DataError:
        return None
    buf = io.BytesIO()
    Image.fromarray(image, mode="L").save(buf, format="PNG")
    return buf.getvalue()


def settle(page: Any) -> None:
    """Wait until the debounced grid and traversal requests are done and every image is painted."""
    page.wait_for_timeout(800)  # not "networkidle": the map and the page's decoder may still be loading
    page.wait_for_function("!document.querySelector('.htmx-request')")
    page.wait_for_function("[...document.images].filter((img) => img.getAttribute('src'))"
                           ".every((img) => img.complete && img.naturalWidth > 0)")


def shoot_beyond(page: Any, path: Path) -> None:
    """The panels below the first screen, after drawing a 7, clicking a map point and hovering another."""
    page.locator("#map-panel").scroll_into_view_if_needed()
    page.wait_for_selector("#map-panel[data-state=ready], #map-panel[data-state=error]", timeout=120_000)
    draw_stroke(page, [(0.25, 0.22), (0.75, 0.22), (0.45, 0.85)], steps=8)
    page.locator("#draw-reconstruction").wait_for()
    page.click("[data-end=a][data-source=draw]")
    if page.locator("#map-panel").get_attribute("data-state") == "ready":
        clicked = page.evaluate("latentMap.pointAt(3)")
        page.mouse.click(clicked["x"], clicked["y"])
        page.click("[data-end=b][data-source=map]")
        hovered = page.evaluate("latentMap.pointAt(11)")
        page.mouse.move(hovered["x"], hovered["y"])
    settle(page)
    page.locator(".beyond").screenshot(path=str(path))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def shoot_map(page: Any, url: str, card: dict[str, Any], path: Path) -> None:
    """The map panel: a lasso around its middle, then zoomed in there until about 80 points are in
    view, drawn as their images over the manifold layer."""
    page.goto(f"{url}/?model={card['name']}")
    page.locator("#map-panel").scroll_into_view_if_needed()
    page.wait_for_selector("#map-panel[data-state=ready], #map-panel[data-state=error]", timeout=120_000)
    if page.locator("#map-panel").get_attribute("data-state") != "ready":
        return
    box = page.locator("#map-overlay").bounding_box()
    x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
    page.keyboard.down("Shift")
    page.mouse.move(x - 70, y - 40)
    page.mouse.down()
    for dx, dy in ((40, -80), (90, -10), (60, 70), (-50, 60), (-70, -40)):
        page.mouse.move(x + dx, y + dy, steps=6)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.check("#map-manifold")
    page.evaluate("""([x, y]) => { while (latentMap.inView() > 80) latentMap.zoomAt(1.2, x, y); }""",
                  [x + 10, y])  # inside the lasso
    page.wait_for_function("latentMap.mode() === 'images' && latentMap.tilesLoading() === 0 "
                           "&& latentMap.manifold() !== null")
    settle(page)
    page.locator("#map-panel").screenshot(path=str(path))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def shoot(page: Any, url: str, card: dict[str, Any], path: Path) -> None:
    page.goto(f"{url}/?model={card['name']}")
    upload = example_png(card.get("dataset", ""))
    if upload:
        image = {"name": "example.png", "mimeType": "image/png", "buffer": upload}
        page.set_input_files("#upload", files=[image])
        page.locator("#upload-reconstruction").wait_for()
    settle(page)
    page.screenshot(path=str(path))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def dim(card: dict[str, Any]) -> int:
    size: int = card.get("latent_dim") or card.get("config", {}).get("latent_dim", 2)
    return size


def shoot_labelled(page: Any, url: str, card: dict[str, Any], out: Path) -> None:
    """The insight panel and the traversals of one model, each as its own picture."""
    page.goto(f"{url}/?model={card['name']}&z=0.5,-0.5" + ",0" * (dim(card) - 2))
    settle(page)
    for part, selector in (("insight", ".insight-panel"), ("traversal", ".traversal-panel")):
        path = out / f"{part}-{card['name']}.png"
        page.locator(selector).screenshot(path=str(path))
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--allow-placeholder", action="store_true", help="shoot untrained placeholder models too")
    ap.add_argument("--only", choices=["all", "labelled", "map"], default="all",
                    help="labelled: only the insight panel, the traversals and the phone; map: only the maps")
    args = ap.parse_args()

    cards = [json.loads(p.read_text()) for p in sorted(weights_dir().glob("*.json"))
             if p.with_suffix(".safetensors").is_file()]
    ready = [c for c in cards if args.allow_placeholder or not c.get("placeholder")]
    for c in cards:
        if c not in ready:
            print(f"skipped {c['name']}: placeholder weights (train it, or pass --allow-placeholder)")
    if not ready:
        return
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as cache, serve({"VAE_CACHE_DIR": cache}) as url, \
            sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        if args.only in ("all", "map"):
            for card in ready:
                shoot_map(page, url, card, args.out / f"map-{card['name']}.png")
        if args.only == "map":
            browser.close()
            return
        if args.only == "all":
            for card in ready:
                shoot(page, url, card, args.out / f"explorer-{card['name']}.png")
                shoot_beyond(page, args.out / f"beyond-{card['name']}.png")
        wide = [c for c in ready if dim(c) > 2] or ready  # one with an inactive dimension, if any
        shoot_labelled(page, url, next((c for c in wide if min(c["metrics"].get("kl_per_dim") or [1]) < 0.05),
                                       wide[-1]), args.out)
        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                 has_touch=True, is_mobile=True)
        shoot(phone, url, ready[-1], args.out / "explorer-phone.png")
        browser.close()


if __name__ == "__main__":
    main()
