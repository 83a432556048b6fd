"""The projector process answers /healthz, /metrics and /readyz on its metrics port; /readyz
is 200 once its projections consume and their database answers, with the lag in the detail."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.support.processes import ZugongProcess, free_port

pytestmark = pytest.mark.kafka


def test_projector_reports_ready_once_consuming(kafka_broker, tmp_path) -> None:
    port = free_port()
    suffix = uuid.uuid4().hex[:8]
    env = {
        "ZUGONG_VAR_DIR": str(tmp_path / "var"),
        "ZUGONG_DATABASE__READMODEL_URL": f"sqlite+aiosqlite:///{tmp_path}/readmodel.db",
        "ZUGONG_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "ZUGONG_KAFKA__TOPIC_PREFIX": f"pready{suffix}",
        "ZUGONG_KAFKA__PROJECTOR_GROUP": f"pready-{suffix}",
        "ZUGONG_METRICS_PORT": str(port),
    }
    projector = ZugongProcess(f"projector-{suffix}", ["projector"], env, tmp_path).start()
    url = f"http://127.0.0.1:{port}"
    try:
        projector.wait_http(f"{url}/healthz", timeout=90)
        deadline = time.monotonic() + 90
        while True:
            answer = httpx.get(f"{url}/readyz", timeout=10)
            if answer.status_code == 200 or time.monotonic() > deadline:
                break
            assert answer.status_code == 503, answer.text
            time.sleep(0.5)
        assert answer.status_code == 200, answer.text
        checks = answer.json()["checks"]
        assert checks["projections"]["ok"] and "personnel" in checks["projections"]["detail"]
        assert checks["lag"]["ok"] and "threshold 10000" in checks["lag"]["detail"]
        assert "zugong_projection_events_total" in httpx.get(f"{url}/metrics").text
    finally:
        projector.stop()
