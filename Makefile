# Two commands on a fresh machine:  `make serve` (the app on the shipped weights) and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# extra pip arguments, e.g. PIP_ARGS='--extra-index-url https://download.pytorch.org/whl/cpu' for
# PyTorch's CPU build where PyPI's torch would be the multi-GB CUDA one (README: Two commands)
PIP_ARGS ?=

.PHONY: serve test lint bench clean

$(VENV)/.app: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(PIP_ARGS) -e .
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.app
	$(PY) -m pip install -q $(PIP_ARGS) -e '.[test]'
	touch $@

serve: $(VENV)/.app
	VAE_HOST=$(HOST) VAE_PORT=$(PORT) $(PY) -m server

test: $(VENV)/.test
	scripts/ensure-chromium
	$(PY) -m pytest

lint: $(VENV)/.test
	$(PY) -m ruff check .
	$(PY) -m mypy model server

# HTTP API benchmark (docs/performance.md); wants Debian's `wrk` for the throughput numbers.
bench: $(VENV)/.app
	$(PY) bench/api.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Build the Docker image, run it and check it (README: Deploy); CI runs it after `make test`.
.PHONY: test-image
test-image: $(VENV)/.test
	scripts/with-container-engine tests/deploy/test_image.sh
