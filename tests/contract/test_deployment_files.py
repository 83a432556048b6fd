"""docker-compose.yml describes the same deployment as the documented processes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.kernel.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
COMPONENTS = {"kafka", "postgres", "personnel", "personnel-relay", "projector", "gateway",
              "governance", "governance-relay"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_component_is_there_with_a_health_check():
    services = compose()["services"]
    assert set(services) >= COMPONENTS
    for name in COMPONENTS:
        assert "healthcheck" in services[name], name
    assert services["kafka"]["image"].startswith("apache/kafka:3.9")
    assert services["postgres"]["image"].startswith("postgres:")


def test_commands_are_real_cli_commands():
    from typer.main import get_command

    from zugong.cli import app

    cli = get_command(app)
    for name, service in compose()["services"].items():
        if "command" in service:
            assert service["command"][0] in cli.commands, (name, service["command"])


def test_every_zugong_variable_names_a_real_setting():
    env = compose()["x-zugong"]["environment"]
    fields = Settings.model_fields
    for variable in env:
        assert variable.startswith("ZUGONG_")
        path = variable.removeprefix("ZUGONG_").lower().split("__")
        assert path[0] in fields, variable
        if len(path) == 2:
            section = fields[path[0]].annotation
            assert path[1] in section.model_fields, variable


def test_secrets_have_no_defaults():
    text = COMPOSE.read_text()
    for secret in ("ZUGONG_JWT_SECRET", "ZUGONG_PERSONAL_DATA_KEY", "POSTGRES_PASSWORD"):
        assert re.search(r"\$\{" + secret + r":\?", text), secret


def _compose_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="the docker compose plugin is not installed")
def test_docker_compose_config_validates():
    env = {"ZUGONG_JWT_SECRET": "s" * 32, "ZUGONG_PERSONAL_DATA_KEY": "k" * 32,
           "POSTGRES_PASSWORD": "p", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
