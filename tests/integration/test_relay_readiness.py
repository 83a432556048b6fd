"""A relay process answers /healthz, /metrics and /readyz on its metrics port, and /readyz
says whether it can do its job: its store answers and the broker acknowledges."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.support.processes import ZugongProcess, free_port

pytestmark = pytest.mark.kafka


def _relay(tmp_path, bootstrap: str) -> tuple[ZugongProcess, str]:
    port = free_port()
    env = {
        "ZUGONG_VAR_DIR": str(tmp_path / "var"),
        "ZUGONG_DATABASE__PERSONNEL_URL": f"sqlite+aiosqlite:///{tmp_path}/personnel.db",
        "ZUGONG_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "ZUGONG_KAFKA__TOPIC_PREFIX": f"ready{uuid.uuid4().hex[:8]}",
        "ZUGONG_METRICS_PORT": str(port),
    }
    name = f"relay-{uuid.uuid4().hex[:6]}"
    return ZugongProcess(name, ["relay", "personnel"], env, tmp_path).start(), \
        f"http://127.0.0.1:{port}"


def _ready_within(url: str, seconds: float) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        answer = httpx.get(f"{url}/readyz", timeout=5)
        if answer.status_code == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.3)


def test_relay_is_ready_when_the_broker_acknowledges(kafka_broker, tmp_path) -> None:
    relay, url = _relay(tmp_path, kafka_broker.bootstrap_servers)
    try:
        relay.wait_http(f"{url}/healthz")
        answer = _ready_within(url, 60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["checks"]["broker"] == {"ok": True, "detail": "acknowledging"}
        assert "zugong_relay_backlog_events" in httpx.get(f"{url}/metrics").text
    finally:
        relay.stop()
    assert relay.proc.returncode == 0, relay.log_tail()


def test_relay_without_a_broker_is_alive_but_not_ready(tmp_path) -> None:
    relay, url = _relay(tmp_path, f"127.0.0.1:{free_port()}")  # nothing listens there
    try:
        relay.wait_http(f"{url}/healthz")
        time.sleep(2)
        answer = httpx.get(f"{url}/readyz", timeout=5)
        assert answer.status_code == 503, answer.text
        checks = answer.json()["checks"]
        assert checks["store"]["ok"] is True
        assert checks["broker"]["ok"] is False and checks["broker"]["detail"]
        assert relay.alive  # it waits for the broker instead of exiting
    finally:
        relay.stop()
