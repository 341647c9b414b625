"""What every spark-submit entry point in jobs/ does: parse, load settings once, run a stage.

Exit codes tell a scheduler what to do: 0 success, 2 terminal (bad config or input, failed
validation: retrying cannot help), 75 transient (EX_TEMPFAIL: a retry may succeed), 1 a bug
or an unexpected failure. Every failure ends with one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import traceback
from datetime import UTC, datetime

from pipelines.errors import ConfigError, PipelineError, StageError, where_failed
from pipelines.lake.errors import java_causes
from pipelines.orchestration.verdict import verdict_line
from pipelines.runtime.redact import redact_text

UNEXPECTED, TERMINAL, TRANSIENT = 1, 2, 75
DEBUG_HINT = "(run with --debug for the traceback)"
# pyspark logs each analysis error as a JSON record with the Java trace before raising it
SPARK_ERROR_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")
log = logging.getLogger(__name__)


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def add_interval_arguments(parser: argparse.ArgumentParser) -> None:
    help_ = "ISO-8601 time; with --interval-end: only events in [start, end) are processed"
    parser.add_argument("--interval-start", help=help_)
    parser.add_argument("--interval-end", help="ISO-8601 time, exclusive")


def parse_interval(start: str | None, end: str | None) -> tuple[datetime, datetime] | None:
    """A data interval from two ISO-8601 times (an Airflow run's data_interval_start/end);
    None when both are missing or empty (a run without an interval takes every event)."""
    start, end = start or None, end or None
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ConfigError("give both --interval-start and --interval-end, or neither")
    try:
        bounds = tuple(_utc(datetime.fromisoformat(value)) for value in (start, end))
    except ValueError as exc:
        raise ConfigError(f"interval {start!r} .. {end!r}: {exc}; use ISO-8601 times") from None
    if bounds[0] >= bounds[1]:
        raise ConfigError(f"interval start {start} is not before its end {end}")
    return bounds


def current_user() -> str:
    """Who runs this process, as recorded when a drifted version is accepted."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's user may have no name
        return f"uid {os.getuid()}"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _first_useful_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "(no message)")


def _unexpected(exc: BaseException) -> str:
    """``Type: message``; for a Java error, its deepest cause instead of the whole trace."""
    java = java_causes(exc)
    if java and (len(java) > 1 or hasattr(exc, "java_exception")):
        return f"{type(exc).__name__}: {_first_useful_line(java[-1])}"
    return f"{type(exc).__name__}: {_first_useful_line(str(exc))}"


def _wrapped_unexpected(exc: BaseException) -> BaseException | None:
    """The bug a ``StageError`` wraps: its message is that exception's whole trace."""
    cause = exc.__cause__
    if isinstance(exc, StageError) and cause is not None and not isinstance(cause, PipelineError):
        return cause
    return None


def describe_failure(exc: BaseException, hint: bool = True) -> str:
    """The one line a failed command ends with."""
    wrapped = _wrapped_unexpected(exc)
    where = where_failed(exc)
    if isinstance(exc, PipelineError) and wrapped is None:
        return f"error: {redact_text(f'{where}: {exc}' if where else str(exc))}"
    cause = _unexpected(wrapped) if wrapped else _unexpected(exc)
    text = f"{where or f'stage {exc.stage!r}'} failed: {cause}" if wrapped else cause
    return f"error: {redact_text(text)}" + (f" {DEBUG_HINT}" if hint else "")


def exit_code(exc: BaseException) -> int:
    """2 for a failure retrying cannot mend, 75 for one it may, 1 for a bug (a stage that
    failed on an exception it did not expect: Airflow's retries may still help)."""
    if isinstance(exc, PipelineError) and _wrapped_unexpected(exc) is None:
        return TRANSIENT if exc.transient else TERMINAL
    return UNEXPECTED


def quiet_spark_error_loggers() -> None:
    """Leave reporting an error to the ``error:`` line (``--debug`` keeps pyspark's)."""
    for name in SPARK_ERROR_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def report_failure(exc: BaseException, debug: bool) -> int:
    """Print the traceback (with ``--debug`` only) and the ``error:`` line; the exit code."""
    if debug:
        sys.stderr.write(redact_text("".join(traceback.format_exception(exc))))
    print(describe_failure(exc, hint=not debug), file=sys.stderr)
    return exit_code(exc)


def _job_parser() -> argparse.ArgumentParser:
    from pipelines.orchestration.stages import STAGE_NAMES

    parser = argparse.ArgumentParser(prog="jobs/run_stage.py")
    parser.add_argument("--stage", required=True, choices=STAGE_NAMES, help="the stage to run")
    parser.add_argument("--config", help="TOML settings file (default: ./pipelines.toml)")
    parser.add_argument("--run-id", help="stamped on table commits and collection names")
    parser.add_argument("--full-refresh", type=_flag, default=False, metavar="true|false")
    parser.add_argument(
        "--allow-mass-delete", type=_flag, default=False, metavar="true|false",
        help="let this run tombstone more than [catalog] max_delete_fraction of the rows",
    )  # fmt: skip
    parser.add_argument(
        "--accept-drift", type=_flag, default=False, metavar="true|false",
        help="publish this run's version even if its drift check fails (recorded as this run's)",
    )  # fmt: skip
    parser.add_argument("--debug", action="store_true", help="log the traceback of a failure")
    add_interval_arguments(parser)
    return parser


def _run(stage: str, args: argparse.Namespace):
    from pipelines.config import load_settings
    from pipelines.orchestration.stages import (
        check_sources,
        open_context,
        run_stages,
        select_stages,
    )

    settings = load_settings(args.config)
    interval = parse_interval(args.interval_start, args.interval_end)
    selected = select_stages(settings, [stage])
    check_sources(settings, selected)
    with open_context(
        settings, args.run_id, args.full_refresh, interval,
        allow_mass_delete=args.allow_mass_delete,
        accept_drift=_acceptor(args) if args.accept_drift else None,
    ) as ctx:  # fmt: skip
        [result] = run_stages(ctx, selected)
    return result


def _acceptor(args: argparse.Namespace) -> str:
    # a scheduler's job runs as a service user: the run id says which trigger it was
    return f"run {args.run_id}" if args.run_id else current_user()


def run_job(argv: list[str] | None = None) -> int:
    """``jobs/run_stage.py --stage NAME ...``: run one stage; 0, 2, 75 or 1 (module doc)."""
    args = _job_parser().parse_args(argv)
    stage = args.stage
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.debug:
        logging.getLogger("pipelines").setLevel(logging.DEBUG)
    else:
        quiet_spark_error_loggers()
    try:
        result = _run(stage, args)
    except Exception as exc:
        log.debug("%s failed", stage, exc_info=exc)
        print(describe_failure(exc, hint=not args.debug), file=sys.stderr)
        return exit_code(exc)
    print(json.dumps(result.as_dict(), default=str))
    print(verdict_line(result))  # the task log's last line: what the stage did, in words
    return 0
