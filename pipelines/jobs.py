"""What every spark-submit entry point in jobs/ does: parse, load settings once, run a stage.

Exit codes tell a scheduler what to do: 0 success, 2 terminal (bad config or input, failed
validation: retrying cannot help), 75 transient (EX_TEMPFAIL: a retry may succeed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from pipelines.errors import PipelineError

TERMINAL, TRANSIENT = 2, 75


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def run_job(stage: str, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"jobs/{stage.replace('-', '_')}.py")
    parser.add_argument("--config", help="TOML settings file (default: ./pipelines.toml)")
    parser.add_argument("--run-id", help="stamped on table commits and collection names")
    parser.add_argument("--full-refresh", type=_flag, default=False, metavar="true|false")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from pipelines.config import load_settings
    from pipelines.stages import open_context, run_stages, select_stages

    try:
        settings = load_settings(args.config)
        with open_context(settings, args.run_id, args.full_refresh) as ctx:
            [result] = run_stages(ctx, select_stages(settings, [stage]))
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return TRANSIENT if exc.transient else TERMINAL
    print(json.dumps(result.as_dict(), default=str))
    return 0
