"""The runner times every stage and tags a failure with the stage, run and tables read."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from pipelines.errors import InputError, StageError
from pipelines.orchestration.runner import describe_failure, exit_code
from pipelines.orchestration.stages import Stage, run_stages
from pipelines.runtime.context import StageResult


class _Lake:
    def __init__(self):
        self.inputs: dict[str, int] = {}

    def begin(self):
        self.inputs.clear()


def _stage(name: str, body) -> Stage:
    stage = Stage(name, "unused:unused", lambda settings: True)
    object.__setattr__(stage, "load", lambda: body)
    return stage


def _context(reports_dir):
    return SimpleNamespace(lake=_Lake(), run_id="run-7", reports_dir=reports_dir)


def test_a_failure_names_the_stage_the_run_and_the_versions_it_read(tmp_path):
    def reads_then_fails(ctx):
        ctx.lake.inputs.update({"embeddings/catalog": 4, "dedup/clusters": 2})
        raise InputError("neighbors/catalog is empty")

    with pytest.raises(InputError) as caught:
        run_stages(_context(tmp_path), [_stage("dedup", reads_then_fails)])
    line = describe_failure(caught.value)
    assert line == (
        "error: stage dedup (run run-7; read dedup/clusters@2, embeddings/catalog@4):"
        " neighbors/catalog is empty"
    )
    assert exit_code(caught.value) == 2  # the type, and so the exit code, is kept


def test_an_unexpected_error_is_wrapped_with_the_same_context(tmp_path):
    def bug(ctx):
        raise KeyError("vector")

    with pytest.raises(StageError) as caught:
        run_stages(_context(tmp_path), [_stage("neighbors", bug)])
    line = describe_failure(caught.value, hint=False)
    assert line == "error: stage neighbors (run run-7; read no table) failed: KeyError: 'vector'"
    assert exit_code(caught.value) == 1


def test_each_stage_is_timed_by_the_runner_and_reads_start_afresh(tmp_path):
    seen = []

    def first(ctx):
        ctx.lake.inputs["events/clean"] = 1
        time.sleep(0.05)
        return StageResult("first")

    def second(ctx):
        seen.append(dict(ctx.lake.inputs))
        return StageResult("second")

    results = run_stages(_context(tmp_path), [_stage("first", first), _stage("second", second)])
    assert [r.stage for r in results] == ["first", "second"]
    assert results[0].seconds >= 0.05 and results[1].seconds < 0.05
    assert seen == [{}]  # the second stage does not inherit the first one's reads


def test_each_stage_result_and_a_failure_are_kept_for_the_run_report(tmp_path):
    from pipelines.report import read_stage_results
    from pipelines.runtime.context import StageResult

    def fails(ctx):
        raise InputError("neighbors/catalog is empty")

    ok = _stage("neighbors", lambda ctx: StageResult(stage="neighbors", rows_read=5))
    with pytest.raises(InputError):
        run_stages(_context(tmp_path), [ok, _stage("dedup", fails)])
    kept = {row["stage"]: row for row in read_stage_results(tmp_path, "run-7")}
    assert kept["neighbors"]["rows_read"] == 5 and "seconds" in kept["neighbors"]
    assert "neighbors/catalog is empty" in kept["dedup"]["error"]
