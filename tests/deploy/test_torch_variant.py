"""deploy/torch_variant.py, the check that keeps a CUDA torch out of the CPU image."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "torch_variant.py"


@pytest.fixture
def variant() -> ModuleType:
    spec = importlib.util.spec_from_file_location("torch_variant", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_check_fails_on_a_cuda_torch(variant: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    assert "CUDA 12.8 build" in variant.check("cpu")
    assert variant.check("cuda") is None


def test_cpu_check_fails_on_nvidia_packages(variant: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(variant, "nvidia_packages", lambda: ["nvidia-cublas-cu12"])
    assert "nvidia-cublas-cu12" in variant.check("cpu")


def test_cuda_check_fails_on_a_cpu_torch(variant: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.version, "cuda", None)
    assert "CPU-only" in variant.check("cuda")


def test_script_exits_non_zero_with_the_reason() -> None:
    # this venv's torch is the CPU wheel, so asking for the other build must fail
    other = "cpu" if torch.version.cuda else "cuda"
    run = subprocess.run([sys.executable, str(SCRIPT), other], capture_output=True, text=True)
    assert run.returncode == 1 and run.stderr.startswith("error: torch")
