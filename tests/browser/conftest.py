"""A live app (uvicorn on 127.0.0.1, tiny models) and Debian's Chromium, for the Playwright tests.

Without Chromium the browser tests skip on a workstation but fail in CI (env CI set): CI never
silently skips them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import chromium_missing, launch, serve

UPLOAD_LIMIT = 100_000  # bytes: small, so that the "too large" test uploads little


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory, synthetic_data_dir: Path) -> Path:
    """A VAE_DATA_DIR with mnist/ (the synthetic test set, 100 images) and no fashion-mnist/."""
    root = tmp_path_factory.mktemp("data")
    (root / "mnist").symlink_to(synthetic_data_dir, target_is_directory=True)
    return root


def app_env(tmp_path_factory: pytest.TempPathFactory, weights: Path, data_root: Path) -> dict[str, str]:
    """Settings for a server under test: its models, the synthetic data, and encodings cached in a
    fresh tmp folder (never next to shipped weights)."""
    cache = tmp_path_factory.mktemp("encodings")
    return {"VAE_WEIGHTS_DIR": str(weights), "VAE_DATA_DIR": str(data_root), "VAE_CACHE_DIR": str(cache)}


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_weights_dir: Path, data_root: Path
) -> Iterator[str]:
    env = app_env(tmp_path_factory, tiny_weights_dir, data_root)
    env["VAE_MAX_UPLOAD_BYTES"] = str(UPLOAD_LIMIT)
    with serve(env) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    why = chromium_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI runs the browser tests and never skips them")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def open_page(browser: Any, live_server: str, width: int, height: int, **options: Any) -> Iterator[Any]:
    """A tab whose JavaScript errors fail the test; `options` go to the browser context (has_touch)."""
    viewport = {"width": width, "height": height}
    context = browser.new_context(base_url=live_server, viewport=viewport, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[Exception] = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh tab at 1280x800 whose JavaScript errors fail the test."""
    yield from open_page(browser, live_server, 1280, 800)


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Any]:
    yield from open_page(browser, live_server, 390, 844)
