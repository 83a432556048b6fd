"""Distributed mode end to end: personnel service, relay, projector (faust) and gateway as
separate processes, over a real Kafka broker and PostgreSQL, driven through the gateway."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from services.kernel.auth import TokenIssuer
from tests.e2e.helpers import cadre_body, unit_body
from tests.support.processes import ZugongProcess, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]

SECRET = "distributed-test-secret-0123456789abcdef"


@pytest.fixture
def distributed(kafka_broker, postgres_server, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    store_db, read_db = f"personnel_{suffix}", f"readmodel_{suffix}"
    training_db = f"training_{suffix}"
    for name in (store_db, read_db, training_db):
        postgres_server.create_database(name)
    service_port, gateway_port, training_port = free_port(), free_port(), free_port()
    env = {
        "ZUGONG_ENVIRONMENT": "production",
        "ZUGONG_AUTH__JWT_SECRET": SECRET,
        "ZUGONG_PERSONAL_DATA_KEY": "distributed-test-personal-data-key",
        "ZUGONG_VAR_DIR": str(tmp_path / "var"),
        "ZUGONG_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "ZUGONG_KAFKA__PARTITIONS": "2",
        "ZUGONG_KAFKA__TOPIC_PREFIX": f"e2e{suffix}",
        "ZUGONG_KAFKA__PROJECTOR_GROUP": f"projector-{suffix}",
        "ZUGONG_DATABASE__PERSONNEL_URL": postgres_server.url(store_db),
        "ZUGONG_DATABASE__READMODEL_URL": postgres_server.url(read_db),
        "ZUGONG_DATABASE__TRAINING_URL": postgres_server.url(training_db),
        "ZUGONG_GATEWAY__PERSONNEL_URL": f"http://127.0.0.1:{service_port}",
        "ZUGONG_GATEWAY__TRAINING_URL": f"http://127.0.0.1:{training_port}",
        "ZUGONG_GATEWAY__PORT": str(gateway_port),
        "ZUGONG_GATEWAY__CONSISTENCY_TIMEOUT": "30",
    }
    processes = [
        ZugongProcess("personnel", ["serve", "personnel", "--port", str(service_port)], env, tmp_path),
        ZugongProcess("relay", ["relay", "personnel"], env, tmp_path),
        ZugongProcess("projector", ["projector"], env, tmp_path),
        ZugongProcess("gateway", ["gateway"], env, tmp_path),
        ZugongProcess("training", ["serve", "training", "--port", str(training_port)], env, tmp_path),
        ZugongProcess("training-relay", ["relay", "training"], env, tmp_path),
        ZugongProcess("training-consumer", ["consume", "training"], env, tmp_path),
    ]
    for process in processes:
        process.start()
    try:
        processes[0].wait_http(f"http://127.0.0.1:{service_port}/healthz")
        processes[3].wait_http(f"http://127.0.0.1:{gateway_port}/healthz")
        processes[4].wait_http(f"http://127.0.0.1:{training_port}/healthz")
        yield f"http://127.0.0.1:{gateway_port}", processes
    finally:
        for process in reversed(processes):
            process.stop()


def test_recruit_and_read_back_through_separate_processes(distributed):
    base, processes = distributed
    token = TokenIssuer(SECRET).mint("e2e-admin", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=40) as client:
        unit = client.post("/api/v1/personnel/units", json=unit_body())
        assert unit.status_code == 201, unit.text
        unit_id = unit.json()["id"]
        recruited = client.post("/api/v1/personnel/cadres", json=cadre_body(unit_id))
        assert recruited.status_code == 201, recruited.text
        accepted = recruited.json()

        got = client.get(f"/api/v1/cadres/{accepted['id']}",
                         headers={"X-Consistency-Token": accepted["consistency_token"]})
        assert got.status_code == 200, (got.text, [p.log_tail() for p in processes])
        assert got.headers["x-consistency"] == "fresh"
        assert got.json()["name"] == "李娜"
        assert got.json()["unit"]["name"] == "怀仁市委组织部"

        # training learns of the cadre through Kafka (its own consumer), never from personnel's DB
        cls = client.post("/api/v1/training/classes", json={
            "name": "2024年中青班", "kind": "young_cadre", "mode": "offline",
            "starts_on": "2024-04-08", "ends_on": "2024-04-19", "planned_hours": 60,
            "capacity": 30})
        assert cls.status_code == 201, cls.text
        deadline = time.monotonic() + 60
        while True:
            enrolled = client.post(f"/api/v1/training/classes/{cls.json()['id']}/enrolments",
                                   json={"cadre_id": accepted["id"]})
            if enrolled.status_code != 409 or time.monotonic() > deadline:
                break
            assert "cadre-not-yet-known" in enrolled.text
            time.sleep(0.2)
        assert enrolled.status_code == 201, (enrolled.text, processes[6].log_tail())
        trainees = client.get(f"/api/v1/training/classes/{cls.json()['id']}/trainees",
                              headers={"X-Consistency-Token": enrolled.json()["consistency_token"]})
        assert trainees.headers["x-consistency"] == "fresh", processes[5].log_tail()
        assert [(t["cadre_id"], t["name"]) for t in trainees.json()["items"]] == [
            (accepted["id"], "李娜")]

        bad = client.post("/api/v1/personnel/cadres",
                          json={**cadre_body(unit_id), "national_id": "140624199204090000"})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"

        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["kafka_and_projections"]["ok"] is True

    with httpx.Client(base_url=base, timeout=10) as anonymous:
        assert anonymous.get("/api/v1/cadres").status_code == 401
