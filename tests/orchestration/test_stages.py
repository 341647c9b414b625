"""Before a run opens Spark or loads a model, the columns its config names are checked
against the sources' headers."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from pipelines.cli import commands
from pipelines.cli.main import main
from pipelines.orchestration import stages
from pipelines.orchestration.runner import run_job


@pytest.fixture
def config(tmp_path):
    (tmp_path / "x.csv").write_text("sku,title\nA1,a lamp\n")
    (tmp_path / "e.csv").write_text("user_id,item_id,event_time\nu1,A1,2026-01-01\n")
    path = tmp_path / "pipelines.toml"
    path.write_text(
        '[lake]\nroot = "lake"\n[catalog]\nsource = "x.csv"\nid_column = "item_id"\n'
        '[events]\nsource = "e.csv"\ntype_column = "kind"\n'
    )
    return path


@pytest.fixture
def no_spark(monkeypatch) -> list[str]:
    """Fails the test if a run gets as far as opening its Spark context."""
    opened: list[str] = []

    @contextmanager
    def open_context(*args, **kwargs):
        opened.append("opened")
        raise AssertionError("Spark was started before the columns were checked")
        yield

    for module in (commands, stages):
        monkeypatch.setattr(module, "open_context", open_context)
    return opened


def test_run_names_the_missing_id_column_before_spark_starts(config, no_spark, capsys):
    started = time.perf_counter()
    code = main(["run", "--config", str(config), "--stage", "embed-catalog"])
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 2 and no_spark == []
    assert f"[catalog] id_column = 'item_id': no such column in {config.parent / 'x.csv'}" in err
    assert "its columns are: 'sku', 'title'" in err
    assert elapsed < 1.0


def test_a_job_checks_only_the_source_its_stage_reads(config, no_spark, capsys):
    config.write_text(config.read_text().replace('"item_id"', '"sku"'))
    assert run_job(["--stage", "embed-events", "--config", str(config)]) == 2
    assert "[events] type_column = 'kind': no such column" in capsys.readouterr().err
    assert no_spark == []
    # the catalog's columns are right: that job goes on to open Spark
    assert run_job(["--stage", "embed-catalog", "--config", str(config)]) == 1
    assert no_spark == ["opened"]


def test_a_wrong_column_fails_without_even_importing_spark_or_torch(config):
    probe = (
        "import sys\nfrom pipelines.cli.main import main\n"
        f"code = main(['run', '--config', {str(config)!r}])\n"
        "print(code, 'pyspark' in sys.modules, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.split() == ["2", "False", "False"], done.stderr
    assert "set [catalog] id_column" in done.stderr
