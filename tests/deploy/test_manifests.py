"""deploy/k8s/: valid against the Kubernetes schemas (offline), and wired to the app and the image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
# the oldest Kubernetes we claim (autoscaling/v2 is GA from 1.23) and the newest the package knows
VERSIONS = ["1.28", kubernetes_validate.latest_version()]


def documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def one(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in documents() if doc["kind"] == kind]
    return found


def container() -> dict[str, Any]:
    (app,) = one("Deployment")["spec"]["template"]["spec"]["containers"]
    return app


def test_manifests_exist() -> None:
    assert MANIFESTS, "no deploy/k8s/*.yaml"
    assert {doc["kind"] for doc in documents()} >= {"Deployment", "Service", "HorizontalPodAutoscaler"}


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_validate_against_kubernetes_schemas(version: str) -> None:
    for doc in documents():
        # strict: a misspelt field is an error, not silently ignored
        kubernetes_validate.validate(doc, version, strict=True)


def test_schema_validation_rejects_a_misspelt_field() -> None:
    broken = one("Deployment")
    broken["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_readiness_probe_asks_readyz_and_liveness_asks_healthz() -> None:
    app = container()
    assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_probes_and_service_reach_the_port_the_app_listens_on() -> None:
    app = container()
    (port,) = app["ports"]
    env = {e["name"]: e["value"] for e in app["env"]}
    assert port["containerPort"] == int(env.get("VAE_PORT", "8000")) == 8000
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert app[probe]["httpGet"]["port"] == port["name"]
    assert one("Service")["spec"]["ports"][0]["targetPort"] == port["name"]


def test_service_selects_the_deployments_pods() -> None:
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    selector = one("Service")["spec"]["selector"]
    assert selector and selector.items() <= labels.items()


def test_autoscaler_scales_the_deployment_on_cpu_it_requests() -> None:
    hpa, deployment = one("HorizontalPodAutoscaler"), one("Deployment")
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2, "one replica is a single point of failure"
    # utilisation is measured against the request: without a CPU request the HPA cannot scale
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu"}
    assert {"cpu", "memory"} <= container()["resources"]["requests"].keys()


def test_pods_run_as_the_images_non_root_user() -> None:
    pod = one("Deployment")["spec"]["template"]["spec"]["securityContext"]
    user = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("USER "))
    assert pod["runAsNonRoot"] is True
    assert f"{pod['runAsUser']}:{pod['runAsGroup']}" == user.split()[1]


def test_read_only_root_keeps_a_writable_tmp() -> None:
    app = container()
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    assert "/tmp" in {m["mountPath"] for m in app["volumeMounts"]}
