"""Prometheus rules and the Grafana dashboard name only metrics (and labels) the platform
exports; promtool validates the rules and their unit tests when it is installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from services.kernel.metrics import Metrics

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "infra" / "prometheus"
GRAFANA = REPO / "infra" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "zugong.json"

SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
            "gauge": ("",), "summary": ("", "_count", "_sum", "_created"), "info": ("_info",)}
TARGET_LABELS = {"job", "instance", "component"}
METRIC = re.compile(r"\b((?:zugong|process|python)_[a-zA-Z0-9_]+|up)\b(\s*\{([^}]*)\})?")
LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def exported() -> dict[str, set[str]]:
    """Every sample name a platform process exports -> the labels it carries."""
    metrics = Metrics()
    names: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        for suffix in SUFFIXES.get(family.type, ("",)):
            names[family.name + suffix] = set()
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    for wrapper in vars(metrics).values():
        if isinstance(wrapper, MetricWrapperBase):
            for name in list(names):
                if name == wrapper._name or name.startswith(wrapper._name + "_"):
                    names[name].update(wrapper._labelnames)
    for name in names:
        if name.endswith("_bucket"):
            names[name].add("le")
    names["up"] = set()
    return names


def referenced(expression: str) -> list[tuple[str, set[str]]]:
    return [(m.group(1), set(LABEL.findall(m.group(3) or ""))) for m in METRIC.finditer(expression)]


def check_expression(expression: str, where: str) -> None:
    names = exported()
    found = referenced(expression)
    assert any(name.startswith("zugong_") or name in ("up", "process_resident_memory_bytes",
                                                        "process_cpu_seconds_total")
               for name, _ in found), f"{where}: names no platform metric: {expression}"
    for name, labels in found:
        assert name in names, f"{where}: {name} is not exported by the platform"
        unknown = labels - names[name] - TARGET_LABELS
        assert not unknown, f"{where}: {name} has no label {unknown}"


def rules() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def panels() -> list[dict]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = []
    for panel in dashboard["panels"]:
        found += panel.get("panels", []) if panel["type"] == "row" else [panel]
    return found


def test_the_checker_rejects_unknown_metrics_and_labels():
    with pytest.raises(AssertionError, match="not exported"):
        check_expression("rate(zugong_nosuch_total[5m])", "x")
    with pytest.raises(AssertionError, match="no label"):
        check_expression('zugong_relay_backlog_events{topic="x"}', "x")
    with pytest.raises(AssertionError, match="names no platform metric"):
        check_expression("vector(1)", "x")
    check_expression('sum by (le) (rate(zugong_command_duration_seconds_bucket{service="a"}[5m]))',
                     "x")


def test_every_alert_names_exported_metrics_and_says_what_to_do():
    names = {rule["alert"] for rule in rules()}
    assert {"ZugongProjectionStalled", "ZugongProjectionLagging", "ZugongRelayBacklogGrowing",
            "ZugongDeadLetters", "ZugongKafkaConsumerLag", "ZugongHighErrorRate",
            "ZugongSlaBreached"} <= names
    for rule in rules():
        check_expression(rule["expr"], rule["alert"])
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_every_dashboard_panel_queries_exported_metrics():
    found = panels()
    assert len(found) >= 15
    datasource = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for panel in found:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == uid
        for target in panel["targets"]:
            check_expression(target["expr"], panel["title"])
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "zugong.yml").read_text())
    assert provider["providers"][0]["options"]["path"]


PLATFORM_FAMILIES = ("zugong_command", "zugong_events_", "zugong_relay_", "zugong_projection_",
                     "zugong_kafka_", "zugong_http_", "zugong_sla_", "zugong_dead_letters",
                     "zugong_consistency")


def test_every_platform_metric_is_on_the_dashboard():
    """The pipeline's own metrics; a service's domain metrics belong on its own dashboard."""
    on_dashboard = {name for panel in panels() for target in panel["targets"]
                    for name, _ in referenced(target["expr"])}
    families = {family.name for family in Metrics().registry.collect()
                if family.name.startswith(PLATFORM_FAMILIES)}
    assert len(families) >= 15
    for family in families:
        assert any(name == family or name.startswith(family + "_") for name in on_dashboard), \
            f"{family} is on no dashboard panel"


def test_the_scrape_config_covers_every_kind_of_process():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"gateway", "services", "relays", "projector"} <= jobs
    alert_jobs = re.search(r'job=~"([^"]+)"', next(
        r["expr"] for r in rules() if r["alert"] == "ZugongProcessDown")).group(1).split("|")
    assert set(alert_jobs) == {"gateway", "services", "relays", "projector"}


def test_promtool_validates_the_config_rules_and_their_unit_tests():
    if not shutil.which("promtool"):
        message = "promtool is not installed (make test installs it: apt-get install prometheus)"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"{message}; CI=true does not skip", pytrace=False)
        pytest.skip(message)
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"],
                 ["test", "rules", "alerts_test.yml"]):
        result = subprocess.run(["promtool", *args], cwd=PROMETHEUS, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
