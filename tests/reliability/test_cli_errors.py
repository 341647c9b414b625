"""Every failure of ``pipelines`` and of a spark-submit job ends with one ``error:`` line and
an exit code a scheduler can act on; a traceback only with ``--debug``."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipelines.cli import commands
from pipelines.cli.main import main
from pipelines.errors import ConfigError, StageError
from pipelines.orchestration import stages
from pipelines.orchestration.runner import run_job
from pipelines.vectorstore.errors import VectorStoreUnavailable

HINT = "(run with --debug for the traceback)"


def _write_config(folder: Path, extra: str = "") -> Path:
    path = folder / "pipelines.toml"
    base = '[lake]\nroot = "lake"\n[spark]\nmaster = "local[2]"\n[catalog]\nsource = "c.csv"\n'
    path.write_text(base + extra)
    (folder / "c.csv").write_text("item_id,title\nI1,a title\n")  # run checks its header first
    return path


@pytest.fixture
def config(tmp_path) -> Path:
    return _write_config(tmp_path)


def _failing_history(monkeypatch, error_factory) -> None:
    def history(settings, args):
        raise error_factory()

    monkeypatch.setattr(commands, "cmd_history", history)


def _history(config: Path, *flags: str) -> int:
    return main(["history", "some/table", "--config", str(config), *flags])


def _java_error(spark) -> Exception:
    jvm = spark._jvm
    cause = jvm.java.io.IOException("No space left on device")
    wrapped = jvm.java.lang.RuntimeException("Task failed while writing rows", cause)
    try:
        jvm.java.util.concurrent.CompletableFuture.failedFuture(wrapped).get()
    except Exception as exc:
        return exc
    raise AssertionError("the JVM did not throw")


def test_unexpected_error_is_one_line_and_exit_1(config, monkeypatch, capsys):
    _failing_history(monkeypatch, lambda: RuntimeError("\nthe disk is on fire\nmore detail"))
    assert _history(config) == 1
    err = capsys.readouterr().err
    assert err == f"error: RuntimeError: the disk is on fire {HINT}\n"


@pytest.mark.parametrize("before", [True, False], ids=["before-command", "after-command"])
def test_debug_prints_the_traceback_then_the_line(config, monkeypatch, capsys, before):
    _failing_history(monkeypatch, lambda: RuntimeError("the disk is on fire"))
    argv = ["history", "some/table", "--config", str(config)]
    assert main(["--debug", *argv] if before else [*argv, "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1] == "error: RuntimeError: the disk is on fire"


@pytest.mark.scenario(
    "An unexpected Java failure inside a command",
    "one line with its deepest cause (exit 1); the traceback only with --debug",
)
def test_java_error_shows_its_deepest_cause(spark, config, monkeypatch, capsys):
    _failing_history(monkeypatch, lambda: _java_error(spark))
    assert _history(config) == 1
    err = capsys.readouterr().err
    assert err == f"error: Py4JJavaError: java.io.IOException: No space left on device {HINT}\n"


def test_spark_analysis_error_is_one_line(spark, config, monkeypatch, capsys):
    _failing_history(monkeypatch, lambda: _raised(lambda: spark.sql("SELECT * FROM no_table")))
    assert _history(config) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: AnalysisException: [TABLE_OR_VIEW_NOT_FOUND]")
    assert line.endswith(HINT)


def _raised(action) -> Exception:
    try:
        action()
    except Exception as exc:
        return exc
    raise AssertionError("no error")


def test_stage_wrapping_a_java_error_names_the_stage_and_the_cause(
    spark, config, monkeypatch, capsys
):
    def stage_error():
        java = _java_error(spark)
        error = StageError("embed-catalog", f"Py4JJavaError: {java}")
        error.__cause__ = java
        return error

    _failing_history(monkeypatch, stage_error)
    assert _history(config) == 1  # an error the stage did not expect: retries may help
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        "error: stage 'embed-catalog' failed: Py4JJavaError: java.io.IOException:"
        f" No space left on device {HINT}"
    )


def test_transient_failure_exits_75(config, monkeypatch, capsys):
    _failing_history(monkeypatch, lambda: VectorStoreUnavailable("Qdrant is restarting"))
    assert _history(config) == 75
    assert capsys.readouterr().err == "error: Qdrant is restarting\n"


def test_error_line_hides_url_credentials(config, monkeypatch, capsys):
    _failing_history(monkeypatch, lambda: ConfigError("cannot reach http://admin:hunter2@qdrant"))
    assert _history(config) == 2
    assert capsys.readouterr().err == "error: cannot reach http://***@qdrant\n"


@pytest.fixture
def opened(monkeypatch) -> list[dict]:
    """Keyword arguments of each ``open_context`` call; the stages do nothing."""
    calls: list[dict] = []

    @contextmanager
    def fake_open_context(settings, *args, **kwargs):
        calls.append(kwargs)
        yield object()

    for module in (commands, stages):
        monkeypatch.setattr(module, "open_context", fake_open_context)
    monkeypatch.setattr(commands, "run_stages", lambda ctx, selected: [])
    return calls


def test_run_passes_allow_mass_delete(config, opened):
    assert main(["run", "--config", str(config), "--stage", "embed-catalog"]) == 0
    assert main(["run", "--config", str(config), "--allow-mass-delete"]) == 0
    assert [call["allow_mass_delete"] for call in opened] == [False, True]


def test_job_passes_allow_mass_delete(config, opened, monkeypatch):
    monkeypatch.setattr(stages, "run_stages", lambda ctx, selected: [_result()])
    for flag in ("false", "true"):
        argv = ["--config", str(config), "--allow-mass-delete", flag]
        assert run_job(["--stage", "embed-catalog", *argv]) == 0
    assert [call["allow_mass_delete"] for call in opened] == [False, True]


def test_run_accepts_drift_in_the_name_of_the_user(config, opened, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    assert main(["run", "--config", str(config)]) == 0
    assert main(["run", "--config", str(config), "--accept-drift"]) == 0
    assert [call["accept_drift"] for call in opened] == [None, "alice"]


def test_a_job_accepts_drift_in_the_name_of_its_run(config, opened, monkeypatch):
    monkeypatch.setattr(stages, "run_stages", lambda ctx, selected: [_result()])
    for flag in ("false", "true"):
        argv = ["--config", str(config), "--run-id", "manual__1", "--accept-drift", flag]
        assert run_job(["--stage", "validate-catalog", *argv]) == 0
    assert [call["accept_drift"] for call in opened] == [None, "run manual__1"]


def _result():
    from pipelines.runtime.context import StageResult

    return StageResult(stage="embed-catalog")


def test_job_failure_is_one_line_and_the_traceback_only_debug_logged(
    config, opened, monkeypatch, capsys, caplog
):
    def failing(ctx, selected):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(stages, "run_stages", failing)
    assert run_job(["--stage", "embed-catalog", "--config", str(config)]) == 1
    assert capsys.readouterr().err == f"error: RuntimeError: boom {HINT}\n"
    assert not [r for r in caplog.records if r.exc_info and r.levelname != "DEBUG"]


HOLDER = """
import sys, time
from qdrant_client import QdrantClient
client = QdrantClient(path=sys.argv[1])
print("ready", flush=True)
time.sleep(300)
"""


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINES__")}
    return {**env, "HF_HUB_OFFLINE": "1"}


@pytest.mark.scenario(
    "pipelines query while another process holds embedded Qdrant",
    "one line naming the folder, the one-process limit and the fix (exit 2)",
)
def test_query_while_another_process_holds_embedded_qdrant(tmp_path):
    config = _write_config(tmp_path, '[qdrant]\npath = "qdrant"\n')
    folder = tmp_path / "qdrant"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        query = [sys.executable, "-m", "pipelines.cli", "query", "tent", "--config", str(config)]
        done = subprocess.run(
            query, capture_output=True, text=True, env=_environment(), timeout=300, check=False
        )
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: embedded Qdrant at {folder} is in use by another process, and embedded Qdrant"
        " allows one process at a time; wait for the other run to finish, or run a Qdrant"
        " server and set [qdrant] url (see docker-compose.yml)"
    ]
