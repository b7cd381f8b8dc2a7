"""The app under uvicorn on a free 127.0.0.1 port, and Debian's Chromium driven by Playwright.

Shared by the browser tests (tests/browser/conftest.py), bench/browser.py and bench/screenshots.py;
also the scripted mouse stroke over the drawing pad that both the tests and the screenshots draw.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = os.environ.get("VAE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_missing() -> str | None:
    """Why Chromium cannot be launched, or None when it can."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium, or set VAE_CHROMIUM)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def launch(playwright: Any) -> Any:
    """A headless Chromium from `sync_playwright()` (the Debian build; no `playwright install`)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url}/readyz was not ready within {timeout:.0f} s")


@contextmanager
def serve(env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[str]:
    """Run the app in a uvicorn subprocess (settings from VAE_* variables in `env`); yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "server.app:app", "--host", "127.0.0.1", "--port", str(port),
           "--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def settled_box(page: Any, selector: str, tries: int = 40) -> Any:
    """The element's bounding box once it stays put for 100 ms: on a busy machine, images that load
    late (the traversal, the grid, an upload's pair) move what lies below them, and a mouse press
    aimed at the old place misses."""
    box = page.locator(selector).bounding_box()
    for _ in range(tries):
        page.wait_for_timeout(100)
        again = page.locator(selector).bounding_box()
        if again == box:
            return box
        box = again
    return box


def draw_stroke(page: Any, points: list[tuple[float, float]], steps: int = 4) -> None:
    """A mouse stroke over the drawing pad through `points`, given as fractions of its width and height."""
    page.locator("#draw").scroll_into_view_if_needed()  # the mouse reaches only what is in the window
    box = settled_box(page, "#draw")
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up()
