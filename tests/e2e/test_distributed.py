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
    from zugong.runtime import SERVICES

    suffix = uuid.uuid4().hex[:8]
    read_db = f"readmodel_{suffix}"
    postgres_server.create_database(read_db)
    ports = {name: free_port() for name in SERVICES}
    gateway_port = free_port()
    env = {
        "ZUGONG_ENVIRONMENT": "production",
        "ZUGONG_AUTH__JWT_SECRET": SECRET,
        "ZUGONG_PERSONAL_DATA_KEY": "distributed-test-personal-data-key",
        "ZUGONG_VAR_DIR": str(tmp_path / "var"),
        "ZUGONG_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "ZUGONG_KAFKA__PARTITIONS": "2",
        "ZUGONG_KAFKA__TOPIC_PREFIX": f"e2e{suffix}",
        "ZUGONG_KAFKA__PROJECTOR_GROUP": f"projector-{suffix}",
        "ZUGONG_DATABASE__READMODEL_URL": postgres_server.url(read_db),
        "ZUGONG_GATEWAY__PORT": str(gateway_port),
        "ZUGONG_GATEWAY__CONSISTENCY_TIMEOUT": "30",
    }
    processes = []
    for name, port in ports.items():
        postgres_server.create_database(f"{name}_{suffix}")
        env[f"ZUGONG_DATABASE__{name.upper()}_URL"] = postgres_server.url(f"{name}_{suffix}")
        env[f"ZUGONG_GATEWAY__{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
        processes.append(ZugongProcess(name, ["serve", name, "--port", str(port)], env, tmp_path))
        processes.append(ZugongProcess(f"{name}-relay", ["relay", name], env, tmp_path))
        if hasattr(SERVICES[name], "consumer_runners"):
            processes.append(ZugongProcess(f"{name}-consumer", ["consume", name], env, tmp_path))
    processes.append(ZugongProcess("projector", ["projector"], env, tmp_path))
    gateway = ZugongProcess("gateway", ["gateway"], env, tmp_path)
    processes.append(gateway)
    for process in processes:
        process.start()
    try:
        by_name = {p.name: p for p in processes}
        for name, port in ports.items():
            by_name[name].wait_http(f"http://127.0.0.1:{port}/healthz")
        gateway.wait_http(f"http://127.0.0.1:{gateway_port}/healthz")
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

        studio = client.post("/api/v1/talent/studios", json={
            "name": "李红名师工作室", "field": "teacher", "lead": {"name": "李红"},
            "host_unit": "怀仁市第一中学", "certified_on": "2024-05-20"})
        assert studio.status_code == 201, studio.text
        funded = client.post(f"/api/v1/talent/studios/{studio.json()['id']}/grants",
                             json={"amount_yuan": 50000, "granted_on": "2024-06-01"})
        assert funded.status_code == 201, funded.text
        view = client.get(f"/api/v1/talent/studios/{studio.json()['id']}",
                          headers={"X-Consistency-Token": funded.json()["consistency_token"]})
        assert view.headers["x-consistency"] == "fresh", [p.log_tail() for p in processes]
        assert view.json()["funding_total_yuan"] == 50000
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
        consumer_logs = [p.log_tail() for p in processes if "consumer" in p.name]
        assert enrolled.status_code == 201, (enrolled.text, consumer_logs)
        trainees = client.get(f"/api/v1/training/classes/{cls.json()['id']}/trainees",
                              headers={"X-Consistency-Token": enrolled.json()["consistency_token"]})
        assert trainees.headers["x-consistency"] == "fresh", [p.log_tail() for p in processes]
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
