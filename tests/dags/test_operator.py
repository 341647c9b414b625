"""The operator every task runs (``spark_job``), against a fake spark-submit: what a job's exit
code means to Airflow, and where the Qdrant key travels."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers.airflow_env import REPO, airflow_env
from helpers.fake_spark import fake_spark_submit, spark_calls

KEY = "s3cret-qdrant-key-value"
K8S = "k8s://https://kube.example:6443"

PROBE = """
import json, os, sys
import airflow.providers.apache.spark.hooks.spark_submit as spark_hook
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from pipelines.orchestration.dags import spark_job

spark_hook.kube_client = object()  # the cncf provider is not installed; nothing calls it here
key = {"PIPELINES__QDRANT__API_KEY": sys.argv[1]}

def operator(master, stage, **kwargs):
    os.environ["AIRFLOW_CONN_SPARK_DEFAULT"] = json.dumps({"conn_type": "spark", "host": master})
    return spark_job(stage, **kwargs)

def outcome(op):
    try:
        op.execute({})
    except AirflowException as exc:
        return {"error": type(exc).__name__, "fail": isinstance(exc, AirflowFailException),
                "message": str(exc)[:300]}
    return {"error": None}

report = {"exit": {}, "submitted": {}}
for code in (0, 2, 75, 1):
    os.environ["FAKE_SPARK_EXIT_embed_catalog"] = str(code)
    report["exit"][code] = outcome(operator("local[1]", "embed-catalog"))
for master in ("yarn", "local[1]"):
    report["submitted"][master] = outcome(operator(master, "publish-catalog", env_vars=key))
k8s = operator(sys.argv[2], "publish-catalog", env_vars=key)
report["k8s_command"] = k8s._get_hook()._build_spark_submit_command(k8s.application)
report["conf"] = operator("local[1]", "dedup", conf={"spark.executor.memory": "2g"}).conf
print("PROBE " + json.dumps(report))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("operator")
    env = airflow_env(folder / "airflow", REPO / "pipelines.example.toml")
    env.update(fake_spark_submit(folder))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, KEY, K8S],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    line = next((x for x in result.stdout.splitlines() if x.startswith("PROBE ")), None)
    assert line, result.stdout[-3000:] + result.stderr[-3000:]
    calls = {}
    for call in spark_calls(env):
        calls.setdefault(call["job"], []).append(call)
    return json.loads(line.removeprefix("PROBE ")), calls, result.stdout + result.stderr


@pytest.mark.scenario(
    "A task's job exits 2 (bad input, failed validation) or 75 (transient)",
    "2 fails the Airflow task without retries (AirflowFailException); 75 and 1 are retried",
)
def test_exit_2_fails_the_task_for_good_and_other_codes_stay_retryable(probe):
    report, calls, _ = probe
    outcomes = report["exit"]
    assert outcomes["0"] == {"error": None}
    terminal = outcomes["2"]
    assert terminal["fail"], "a terminal failure (exit 2) must not be retried"
    assert "terminal failure (exit 2): see the task log's last `error:` line" in terminal["message"]
    for code in ("75", "1"):  # transient, or unknown: Airflow's retries decide
        assert outcomes[code]["error"] == "AirflowException" and not outcomes[code]["fail"], code
    # one spark-submit per execute, each of the stage through the one entry point
    submitted = calls["embed_catalog"]
    assert len(submitted) == 4
    for call in submitted:
        assert call["application"] == str(REPO / "jobs" / "run_stage.py")
        assert call["argv"][call["argv"].index(call["application"]) + 1 :][:2] == [
            "--stage", "embed-catalog",
        ]  # fmt: skip


def test_a_terminal_failure_names_the_stage_that_failed(probe):
    report, _, _ = probe
    assert "embed-catalog" in report["exit"]["2"]["message"]


@pytest.mark.scenario(
    "The Qdrant key with a YARN or Kubernetes Spark master",
    "kept off the spark-submit command line; a warning says how to pass it",
)
def test_qdrant_key_never_reaches_a_command_line(probe):
    report, calls, output = probe
    assert report["submitted"] == {"yarn": {"error": None}, "local[1]": {"error": None}}
    [yarn, local] = calls["publish_catalog"]
    for call in (yarn, local):
        assert not any(KEY in arg for arg in call["argv"]), call["argv"]
    assert not any(KEY in arg for arg in report["k8s_command"])
    # YARN and Kubernetes would copy it into a --conf: it is dropped there, with a warning;
    # a local or standalone job gets it in its environment, which no process listing shows
    assert "PIPELINES__QDRANT__API_KEY" not in yarn["env"]
    assert local["env"]["PIPELINES__QDRANT__API_KEY"] == KEY
    assert KEY not in output, "the key's value reached a log line"
    assert "PIPELINES__QDRANT__API_KEY_FILE" in output and "secretKeyRef" in output


def test_spark_redacts_api_keys_and_keeps_the_tasks_own_conf(probe):
    import re

    report, calls, _ = probe
    conf = report["conf"]
    assert conf["spark.executor.memory"] == "2g"
    redact = re.compile(conf["spark.redaction.regex"])
    for name in (
        "spark.yarn.appMasterEnv.PIPELINES__QDRANT__API_KEY",
        "spark.kubernetes.driverEnv.PIPELINES__QDRANT__API_KEY",
        "spark.hadoop.fs.s3a.secret.key",
        "spark.ssl.keyPassword",
    ):
        assert redact.search(name), name
    # every submitted job carries it, not only the one given a conf
    for job in ("embed_catalog", "publish_catalog"):
        argv = calls[job][0]["argv"]
        assert any(arg.startswith("spark.redaction.regex=") for arg in argv), job
