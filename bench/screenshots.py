"""Screenshots of the explorer for every model in weights/, saved as docs/explorer-<name>.png.

Each shot is the page at 1280x800 after uploading one test-set image of the model's data set (when the
data is on this machine), so that it shows a reconstruction, the sliders at its latent mean, the grid
with its marker and the traversals. Also docs/explorer-phone.png at 390 px wide. Models whose card says
"placeholder" are skipped unless --allow-placeholder: their pictures are noise.

    .venv/bin/python bench/screenshots.py [--out docs] [--allow-placeholder]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.data import DataError, default_folder, load_split  # noqa: E402
from model.store import weights_dir  # noqa: E402
from tests.browser.harness import launch, serve  # noqa: E402

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
    page.wait_for_timeout(500)
    page.wait_for_load_state("networkidle")
    page.wait_for_function("[...document.images].every((img) => img.complete && img.naturalWidth > 0)")


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--allow-placeholder", action="store_true", help="shoot untrained placeholder models too")
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

    with serve() as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for card in ready:
            shoot(page, url, card, args.out / f"explorer-{card['name']}.png")
        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        shoot(phone, url, ready[-1], args.out / "explorer-phone.png")
        browser.close()


if __name__ == "__main__":
    main()
