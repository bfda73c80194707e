"""The Kubernetes manifests: valid for the API server (``kubernetes-validate --strict``) and safe.

Core kinds are validated strictly against the Kubernetes schemas. The custom resources (Strimzi,
Prometheus Operator) have no schema in kubernetes-validate, so they are checked against the
fields their operators require.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.org import load_org
from tests.deploy.kustomize import render, render_in_python
from tests.support import ROOT

K8S = ROOT / "deploy" / "k8s"
ROLES = {"intake-web", "intake-consume", "intake-mail", "triage-web", "triage-consume", "triage-schedule", "notify-web",
         "notify-consume", "notify-schedule"}
CUSTOM = {
    ("kafka.strimzi.io/v1beta2", "Kafka"): ["spec.kafka.listeners", "spec.kafka.version"],
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"): ["spec.replicas", "spec.roles", "spec.storage",
                                                     "metadata.labels.strimzi.io/cluster"],
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): ["spec.partitions", "spec.replicas",
                                                  "metadata.labels.strimzi.io/cluster"],
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ["spec.selector.matchLabels", "spec.endpoints"],
    ("monitoring.coreos.com/v1", "PodMonitor"): ["spec.selector.matchExpressions", "spec.podMetricsEndpoints"],
    ("monitoring.coreos.com/v1", "PrometheusRule"): ["spec.groups"],
}


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render(K8S)


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def dig(doc: dict[str, Any], path: str) -> Any:
    head, _, rest = path.partition(".")
    value = doc.get(head)
    return dig(value, rest) if rest and isinstance(value, dict) else (value if not rest else None)


def test_core_kinds_pass_kubernetes_validate_strict(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    validator = shutil.which("kubernetes-validate") or str(Path(sys.executable).parent / "kubernetes-validate")
    core = [d for d in docs if (d["apiVersion"], d["kind"]) not in CUSTOM]
    assert len(core) > 30
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(core))
    result = subprocess.run([validator, "--strict", str(path)], capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "WARN" not in output and "ERROR" not in output, output
    assert output.count("passed for resource") == len(core)


def test_strict_validation_catches_a_mistake(tmp_path: Path) -> None:
    validator = shutil.which("kubernetes-validate") or str(Path(sys.executable).parent / "kubernetes-validate")
    web = yaml.safe_load((K8S / "triage-web.yaml").read_text().split("---")[0])
    web["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(web))
    result = subprocess.run([validator, "--strict", str(tmp_path / "bad.yaml")], capture_output=True, text=True)
    assert result.returncode != 0 and "readinesProbe" in result.stdout + result.stderr


def test_custom_resources_have_what_their_operators_require(docs: list[dict[str, Any]]) -> None:
    kinds = {(d["apiVersion"], d["kind"]) for d in docs}
    assert set(CUSTOM) <= kinds
    for doc in docs:
        for path in CUSTOM.get((doc["apiVersion"], doc["kind"]), []):
            if path.startswith("metadata.labels."):
                value = doc["metadata"].get("labels", {}).get(path.removeprefix("metadata.labels."))
            else:
                value = dig(doc, path)
            assert value, f"{doc['kind']}/{doc['metadata']['name']} lacks {path}"
    topics = by_kind(docs, "KafkaTopic")
    assert set(topics) == {"feedback.received", "ticket.events", "feedback.received.dlq", "ticket.events.dlq"}
    assert all(t["metadata"]["labels"]["strimzi.io/cluster"] in by_kind(docs, "Kafka") for t in topics.values())


def test_one_hardened_deployment_per_role(docs: list[dict[str, Any]]) -> None:
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == ROLES
    for name, dep in deployments.items():
        spec = dep["spec"]["template"]["spec"]
        assert dep["spec"]["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
        assert spec["securityContext"]["runAsNonRoot"] and spec["automountServiceAccountToken"] is False
        (container,) = spec["containers"]
        service, role = name.split("-")
        assert container["args"] == ["-m", f"services.{service}", role]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(container["resources"]["limits"])
        if role == "web":
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_web_roles_have_services_autoscalers_and_disruption_budgets(docs: list[dict[str, Any]]) -> None:
    deployments = by_kind(docs, "Deployment")
    hpas, pdbs = by_kind(docs, "HorizontalPodAutoscaler"), by_kind(docs, "PodDisruptionBudget")
    services = by_kind(docs, "Service")
    for web in ("intake-web", "triage-web", "notify-web"):
        assert hpas[web]["spec"]["scaleTargetRef"]["name"] == web and web in pdbs
        selector = services[web.split("-")[0]]["spec"]["selector"]
        assert selector.items() <= deployments[web]["spec"]["template"]["metadata"]["labels"].items()
    assert {"default-deny-ingress", "allow-web"} <= set(by_kind(docs, "NetworkPolicy"))


def test_migration_job_per_service_and_org_file_loads(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    jobs = by_kind(docs, "Job")
    for service in ("intake", "triage", "notify"):
        (container,) = jobs[f"{service}-migrate"]["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["-m", "shared.migrations_cli", service, "upgrade"]
    org_file = tmp_path / "org.yaml"
    org_file.write_text(by_kind(docs, "ConfigMap")["closeloop-org"]["data"]["org.yaml"])
    org = load_org(org_file)
    assert any(u.is_leadership for u in org.users.values())
    assert not any(u.token.startswith("dev-") for u in org.users.values())


def test_prometheus_rule_matches_the_rules_file_and_python_renderer_agrees(docs: list[dict[str, Any]]) -> None:
    rule = by_kind(docs, "PrometheusRule")["closeloop"]
    rules_file = yaml.safe_load((ROOT / "deploy" / "prometheus" / "closeloop-rules.yaml").read_text())
    assert rule["spec"] == rules_file
    python = render_in_python(K8S)
    assert sorted((d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")) for d in python) == sorted(
        (d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")) for d in docs)
