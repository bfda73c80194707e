"""Prometheus alert rules (unit-tested with ``promtool test rules``) and the Grafana dashboard."""

from __future__ import annotations

import json
import re
import subprocess

import yaml
from prometheus_client import REGISTRY, generate_latest

import shared.metrics  # noqa: F401  (registers the shared metrics)
from tests.deploy.promtool import promtool
from tests.support import ROOT

PROM = ROOT / "deploy" / "prometheus"
TRIAGE_METRICS = {"closeloop_triage_open_tickets", "closeloop_triage_sla_breaches_total",
                  "closeloop_triage_escalations_total", "closeloop_triage_time_to_resolve_seconds_bucket"}
REQUIRED_ALERTS = {"CloseloopSlaBreachRateHigh", "CloseloopConsumerLagHigh", "CloseloopDeadLettersGrowing",
                   "CloseloopOutboxStuck"}


def run(*args: str) -> str:
    result = subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, cwd=PROM)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_rules_are_valid_and_their_unit_tests_pass() -> None:
    assert "SUCCESS: 5 rules found" in run("check", "rules", "closeloop-rules.yaml")
    assert "SUCCESS" in run("test", "rules", "tests/closeloop-rules.test.yaml")
    alerts = {r["alert"] for g in yaml.safe_load((PROM / "closeloop-rules.yaml").read_text())["groups"]
              for r in g["rules"]}
    assert REQUIRED_ALERTS <= alerts
    tested = set(re.findall(r"alertname: (\w+)", (PROM / "tests" / "closeloop-rules.test.yaml").read_text()))
    assert tested == alerts, "every alert has a unit test"


def exposed_names() -> set[str]:
    text = generate_latest(REGISTRY).decode()
    names = set(re.findall(r"^# TYPE (\S+) (\w+)", text, re.MULTILINE))
    out = set()
    for name, kind in names:
        out.add(name)
        out.update({f"{name}_total"} if kind == "counter" else set())
        out.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"} if kind == "histogram" else set())
    return out | TRIAGE_METRICS


def test_rules_and_dashboard_only_use_metrics_the_services_expose() -> None:
    names = exposed_names()
    rules = (PROM / "closeloop-rules.yaml").read_text()
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "closeloop.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    used = set(re.findall(r"closeloop_[a-z_]+", rules + " ".join(exprs)))
    assert used and used <= names, f"unknown metrics: {sorted(used - names)}"
    assert TRIAGE_METRICS <= used
