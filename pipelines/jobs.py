"""What every spark-submit entry point in jobs/ does: parse, load settings once, run a stage.

Exit codes tell a scheduler what to do: 0 success, 2 terminal (bad config or input, failed
validation: retrying cannot help), 75 transient (EX_TEMPFAIL: a retry may succeed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime

from pipelines.errors import ConfigError, PipelineError

TERMINAL, TRANSIENT = 2, 75


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


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run_job(stage: str, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"jobs/{stage.replace('-', '_')}.py")
    parser.add_argument("--config", help="TOML settings file (default: ./pipelines.toml)")
    parser.add_argument("--run-id", help="stamped on table commits and collection names")
    parser.add_argument("--full-refresh", type=_flag, default=False, metavar="true|false")
    add_interval_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from pipelines.config import load_settings
    from pipelines.stages import open_context, run_stages, select_stages

    try:
        settings = load_settings(args.config)
        interval = parse_interval(args.interval_start, args.interval_end)
        with open_context(settings, args.run_id, args.full_refresh, interval) as ctx:
            [result] = run_stages(ctx, select_stages(settings, [stage]))
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return TRANSIENT if exc.transient else TERMINAL
    print(json.dumps(result.as_dict(), default=str))
    return 0
