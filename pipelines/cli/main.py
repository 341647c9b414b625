"""The ``pipelines`` command: run stages, export tables, show table history, run demos."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipelines.tables import TABLES

log = logging.getLogger("pipelines")
VECTOR_TABLES = ["catalog", "users"]  # the embeddings tables served behind an alias
TABLE_HELP = "a lake table: " + ", ".join(table.name for table in TABLES)
DEBUG_HELP = "print the traceback of a failure"
DATASETS = ["sample", "movielens", "febrl", "febrl1", "febrl2", "febrl3"]


def _parser() -> argparse.ArgumentParser:
    from pipelines.orchestration.runner import add_interval_arguments
    from pipelines.orchestration.stages import STAGE_NAMES

    parser = argparse.ArgumentParser(prog="pipelines", description=__doc__)
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML settings file (default: ./pipelines.toml)")
    # after the command too; SUPPRESS keeps a --debug given before it
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[common], help="run stages (default: all configured)")
    run.add_argument("--stage", action="append", choices=STAGE_NAMES, help="repeatable")
    run.add_argument("--run-id", help="run id stamped on commits (default: manual__<utc time>)")
    run.add_argument("--summary", type=Path, help="write the per-stage summary JSON here")
    run.add_argument("--full-refresh", action="store_true", help="publish a new collection")
    run.add_argument(
        "--allow-mass-delete",
        action="store_true",
        help="let this run tombstone more than [catalog] max_delete_fraction of the rows",
    )
    run.add_argument(
        "--accept-drift",
        action="store_true",
        help="publish this run's version even if its drift check fails (recorded with your name)",
    )
    add_interval_arguments(run)
    _init_command(sub)
    _report_command(sub, common)
    export = sub.add_parser("export", parents=[common], help="export a table to one file")
    export.add_argument("table", help=TABLE_HELP)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument("--version", type=int, help="table version (default: current)")
    history = sub.add_parser("history", parents=[common], help="list a table's versions")
    history.add_argument("table", help=TABLE_HELP)
    reconcile = sub.add_parser("reconcile", parents=[common], help="compare Delta and Qdrant")
    reconcile.add_argument("--repair", action="store_true", help="fix what differs")
    reconcile.add_argument("--table", choices=VECTOR_TABLES, default="catalog")
    qdrant = sub.add_parser("qdrant", parents=[common], help="manage the served alias")
    qdrant.add_argument("action", choices=["rollback", "status"])
    qdrant.add_argument("--table", choices=VECTOR_TABLES, default="catalog", help="whose alias")
    query = sub.add_parser("query", parents=[common], help="search the catalog by free text")
    query.add_argument("text")
    query.add_argument("--k", type=int, default=10)
    query.add_argument("--filter", action="append", default=[], metavar="FIELD=VALUE")
    query.add_argument("--json", action="store_true")
    similar = sub.add_parser("similar", parents=[common], help="items nearest to an item")
    similar.add_argument("item_id")
    similar.add_argument("--k", type=int, default=10)
    similar.add_argument("--json", action="store_true")
    recommend = sub.add_parser("recommend", parents=[common], help="items for a user")
    recommend.add_argument("user_id")
    recommend.add_argument("--k", type=int, default=10)
    recommend.add_argument("--json", action="store_true")
    sub.add_parser("tour", parents=[common], help="what the pipeline made: a short tour, no Spark")
    status = sub.add_parser("status", parents=[common], help="tables, validation, alias")
    status.add_argument("--query", help="also run a sample query and a similar-items lookup")
    demo = sub.add_parser("demo", parents=[common], help="generate a data set and run on it")
    demo.add_argument("--dataset", choices=DATASETS, default="sample")
    demo.add_argument("--data-dir", type=Path, default=Path("data/generated"))
    demo.add_argument("--summary", type=Path)
    demo.add_argument("--stage", action="append", choices=STAGE_NAMES, help="default: all")
    evaluate = sub.add_parser("evaluate", parents=[common], help="score against labeled data")
    evaluate.add_argument("target", choices=["dedup", "recs-items", "recs-users"])
    evaluate.add_argument("--gold", type=Path, help="dedup: CSV of true pairs (columns a, b)")
    evaluate.add_argument("--json", action="store_true")
    _dedup_commands(sub, common)
    return parser


def _report_command(sub, common: argparse.ArgumentParser) -> None:
    report = sub.add_parser("report", parents=[common], help="write one run's HTML report")
    report.add_argument("--run", help="the run id (default: the run of the newest commit)")
    report.add_argument("--out", type=Path, help="the HTML file (default: <lake>/reports/runs/)")
    report.add_argument("--colour-by", help="payload column colouring the map (default: category)")


def _init_command(sub) -> None:
    init = sub.add_parser("init", help="propose a pipelines.toml for your own data")
    where = "a CSV or Parquet file or folder, or a Delta table folder"
    init.add_argument("source", type=Path, help=f"the catalog: {where}")
    init.add_argument("--events", type=Path, help=f"user events: {where}")
    init.add_argument("--out", type=Path, default=Path("pipelines.toml"), help="the file to write")
    init.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    init.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)


def _dedup_commands(sub, common: argparse.ArgumentParser) -> None:
    explain = sub.add_parser(
        "explain-pair", parents=[common], help="why two items were or were not merged"
    )
    explain.add_argument("a", help="an item id")
    explain.add_argument("b", help="another item id")
    explain.add_argument("--json", action="store_true")
    dedup = sub.add_parser("dedup", parents=[common], help="dedup model from labelled pairs")
    dedup.add_argument("action", choices=["train"])
    dedup.add_argument("--gold", type=Path, required=True, help="CSV of true pairs (a, b)")
    dedup.add_argument("--run-id", help="run id stamped on commits (default: manual__<utc time>)")


def _setup_logging(debug: bool) -> None:
    from rich.logging import RichHandler

    handler = RichHandler(show_path=False, rich_tracebacks=False, log_time_format="[%X]")
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s")
    logging.getLogger("pipelines").setLevel(logging.DEBUG if debug else logging.INFO)
    if not debug:
        from pipelines.orchestration.runner import quiet_spark_error_loggers

        quiet_spark_error_loggers()


def main(argv: list[str] | None = None) -> int:
    """Exit 0 on success, 2 for a terminal failure, 75 for a transient one, 1 for a bug."""
    args = _parser().parse_args(argv)
    _setup_logging(args.debug)
    from pipelines.cli import commands
    from pipelines.config import load_settings
    from pipelines.orchestration.runner import report_failure

    try:
        if args.command == "init":  # it writes the config the other commands read
            from pipelines.cli.init import cmd_init

            return cmd_init(args)
        settings = load_settings(args.config)
        handler = getattr(commands, f"cmd_{args.command.replace('-', '_')}")
        return handler(settings, args)
    except Exception as exc:
        return report_failure(exc, args.debug)


if __name__ == "__main__":
    sys.exit(main())
