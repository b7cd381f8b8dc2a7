"""API fixtures: tiny random models in a tmp weights folder (never the shipped weights) and a
`client` that runs the app's lifespan. Helpers live in api_checks.py: `from conftest import` would
find tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_checks import save_tiny_models, tiny_settings
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings


@pytest.fixture(scope="session")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_models(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="session")
def settings(weights: Path) -> Settings:
    return tiny_settings(weights)


@pytest.fixture(scope="session")
def client_with(settings: Settings) -> Callable[..., TestClient]:
    """A client of an app whose settings differ from `settings` by the given overrides."""

    def make(**overrides: Any) -> TestClient:
        return TestClient(create_app(settings.model_copy(update=overrides)))

    return make


@pytest.fixture(scope="module")
def client(client_with: Callable[..., TestClient]) -> Iterator[TestClient]:
    with client_with() as c:
        yield c
