"""docker-compose.yml, checked without a Docker engine: it parses, what it builds and mounts
exists, and the environment it sets selects the Qdrant server and the Spark master."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pipelines.config import load_settings

REPO = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
]


def _dotenv() -> dict[str, str]:
    lines = (REPO / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return {key: value for key, value in pairs}


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR} and ${VAR:-default}."""

    def replace(match: re.Match) -> str:
        name, _, default = match.group(1).partition(":-")
        return env.get(name, default)

    return re.sub(r"\$\{([^}]+)\}", replace, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _environment(compose: dict, service: str) -> dict[str, str]:
    env = _dotenv()
    raw = compose["services"][service].get("environment", {})
    return {key: _interpolate(str(value), env) for key, value in raw.items()}


def test_services_are_all_there_with_health_checks(compose):
    services = compose["services"]
    expected = {
        "postgres",
        "qdrant",
        "spark-master",
        "spark-worker",
        "airflow-init",
        *AIRFLOW_SERVICES,
    }
    assert expected <= services.keys()
    for name in ["postgres", "qdrant", "spark-master", *AIRFLOW_SERVICES]:
        assert "healthcheck" in services[name], name


def test_build_contexts_and_mounts_exist(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            context = REPO / (
                service["build"]
                if isinstance(service["build"], str)
                else service["build"]["context"]
            )
            assert (context / "Dockerfile").is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
    dockerfile = (REPO / "Dockerfile").read_text()
    for copied in ("pipelines", "dags", "jobs", "pipelines.example.toml", "pyproject.toml"):
        assert re.search(rf"^COPY .*\b{re.escape(copied)}\b", dockerfile, re.M), copied


@pytest.mark.parametrize("service", AIRFLOW_SERVICES + ["spark-worker"])
def test_environment_selects_qdrant_server_and_spark_master(compose, service, monkeypatch):
    env = _environment(compose, service)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(REPO / env["PIPELINES_CONFIG"].removeprefix("/opt/pipelines/"))
    assert settings.qdrant.url == "http://qdrant:6333"
    assert settings.qdrant.api_key.get_secret_value() == _dotenv()["QDRANT_API_KEY"]
    assert settings.spark.master == "spark://spark-master:7077"
    assert settings.lake.root == Path("/lake")
    assert str(settings.catalog.source).startswith("/lake/")


def test_airflow_connections_point_at_the_services(compose):
    env = _environment(compose, "airflow-scheduler")
    spark = json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])
    assert f"{spark['host']}:{spark['port']}" == "spark://spark-master:7077"
    qdrant = json.loads(env["AIRFLOW_CONN_QDRANT_DEFAULT"])
    assert qdrant["password"] == _dotenv()["QDRANT_API_KEY"] and qdrant["host"] == "qdrant"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert _environment(compose, "qdrant")["QDRANT__SERVICE__API_KEY"] == qdrant["password"]
