"""What each CLI command does, given validated settings and parsed arguments."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipelines.config import Settings
from pipelines.errors import ConfigError
from pipelines.orchestration.stages import open_context, run_stages, select_stages

console = Console()


def _summary(results, path: Path | None) -> dict:
    summary = {result.stage: result.as_dict() for result in results}
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2, default=str))
    table = Table(title="run summary")
    for column in ("stage", "read", "embedded", "skipped", "quarantined", "tombstoned", "seconds"):
        stage = column == "stage"
        table.add_column(column, justify="left" if stage else "right", no_wrap=stage)
    for r in results:
        numbers = (r.rows_read, r.embedded, r.skipped, r.quarantined, r.tombstoned, r.seconds)
        table.add_row(r.stage, *map(str, numbers))
    console.print(table)
    from pipelines.orchestration.verdict import verdict_line

    for result in results:
        console.print(verdict_line(result), highlight=False, markup=False)
    return summary


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    stages = select_stages(settings, args.stage)
    if not stages:
        console.print("nothing to run: no stage has its inputs configured (see [catalog] source)")
        return 1
    from pipelines.orchestration.runner import current_user, parse_interval
    from pipelines.orchestration.stages import check_sources

    interval = parse_interval(args.interval_start, args.interval_end)
    check_sources(settings, stages)
    with open_context(
        settings, args.run_id, args.full_refresh, interval,
        allow_mass_delete=args.allow_mass_delete,
        accept_drift=current_user() if args.accept_drift else None,
    ) as ctx:  # fmt: skip
        _summary(run_stages(ctx, stages), args.summary)
    return 0


def _vector_table(settings: Settings, name: str):
    from pipelines.vectorstore.targets import catalog_table, users_table

    return {"catalog": catalog_table, "users": users_table}[name](settings)


def cmd_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.reconcile.stage import reconcile

    with open_context(settings) as ctx:
        result = reconcile(ctx, _vector_table(settings, args.table), fix=args.repair)
    console.print_json(data=result.details)
    return 0


def cmd_qdrant(settings: Settings, args: argparse.Namespace) -> int:
    """``rollback`` writes the publish history (Spark); ``status`` only reads (no Spark)."""
    from pipelines.cli.status import print_alias

    aliases = {"catalog": settings.publish.alias, "users": settings.publish.users_alias}
    alias = aliases[args.table]
    if args.action == "rollback":
        from pipelines.publish.publisher import rollback

        with open_context(settings) as ctx:
            back = rollback(ctx, alias)
        console.print(f"alias {back.alias} -> {back.collection} ({back.points} points)")
    print_alias(settings, console, alias)
    return 0


def _filters(pairs: list[str]) -> dict[str, str]:
    from pipelines.errors import ConfigError

    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise ConfigError(f"--filter {bad[0]!r} is not FIELD=VALUE, e.g. --filter brand=Acme")
    return dict(p.split("=", 1) for p in pairs)


def _print_results(results, as_json: bool, payload_fields: list[str]) -> None:
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=2, default=str))
        return
    table = Table()
    for column in ("rank", "item_id", "score", *payload_fields):
        table.add_column(column)
    for rank, r in enumerate(results, 1):
        extra = [str(r.payload.get(f, "")) for f in payload_fields]
        table.add_row(str(rank), r.item_id, f"{r.score:.4f}", *extra)
    console.print(table)


def _client(settings: Settings):
    from pipelines.cli.client import CatalogClient
    from pipelines.vectorstore import open_store

    return CatalogClient(open_store(settings), settings)


def cmd_query(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.cli.client import payload_fields

    with _client(settings) as client:
        results = client.query(args.text, args.k, _filters(args.filter))
    _print_results(results, args.json, payload_fields(results, settings.catalog.payload_columns))
    return 0


def cmd_similar(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.cli.client import payload_fields

    with _client(settings) as client:
        results = client.similar(args.item_id, args.k)
    _print_results(results, args.json, payload_fields(results, settings.catalog.payload_columns))
    return 0


def cmd_recommend(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.cli.client import payload_fields

    with _client(settings) as client:
        results = client.recommend(args.user_id, args.k)
    _print_results(results, args.json, payload_fields(results, settings.catalog.payload_columns))
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.io.export import export_table

    with open_context(settings) as ctx:
        export_table(ctx.lake.read(args.table, args.version), args.out, args.format)
    console.print(f"exported {args.table} to {args.out}")
    return 0


def cmd_history(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.lake.delta_rs import DeltaRsEngine

    # the log is engine-agnostic; no Spark session needed to read it
    versions = DeltaRsEngine(None, settings.lake.root).history(args.table)
    table = Table(title=f"history of {args.table}")
    for column in ("version", "timestamp", "operation", "run_id"):
        table.add_column(column)
    for v in versions:
        table.add_row(str(v.version), v.timestamp.isoformat(), v.operation, v.run_id or "")
    console.print(table)
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.cli.demo import prepare_demo, print_metrics, shown_path, write_demo_config

    settings = prepare_demo(settings, args.dataset, args.data_dir)
    config = shown_path(write_demo_config(settings))  # first: a failed run can re-run from it
    with open_context(settings) as ctx:
        results = run_stages(ctx, select_stages(settings, args.stage))
    _summary(results, args.summary)
    print_metrics(console, results, settings.evaluate.k)
    console.print(f"tables are under {settings.lake.root}", soft_wrap=True)
    console.print(f"settings: {config}; run again: pipelines run --config {config}", soft_wrap=True)
    return 0


def cmd_evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.evaluate.stage import evaluate_dedup, evaluate_item_recs, evaluate_user_recs

    gold = args.gold or settings.evaluate.dedup_gold
    if args.target == "dedup" and gold is None:
        raise ConfigError("evaluate dedup needs --gold PAIRS.csv or [evaluate] dedup_gold")
    with open_context(settings) as ctx:
        if args.target == "dedup":
            report = evaluate_dedup(ctx, gold)
            rows = [{k: v for k, v in report.items() if not isinstance(v, dict)}]
        elif args.target == "recs-items":
            rows = evaluate_item_recs(ctx).round(4).to_dict("records")
        else:
            rows = evaluate_user_recs(ctx).round(4).to_dict("records")
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    table = Table(title=f"evaluate {args.target}")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*map(str, row.values()))
    console.print(table)
    return 0


def cmd_explain_pair(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.cli.explain import find_pair, print_waterfall
    from pipelines.runtime.reads import current_pairs
    from pipelines.tables import DEDUP_PAIRS, require

    with open_context(settings) as ctx:
        require(ctx.lake, DEDUP_PAIRS, "explain-pair")
        pairs = current_pairs(ctx.lake)
        pair = find_pair(pairs, args.a, args.b, settings.dedup.cosine_threshold)
    print_waterfall(console, pair, settings.dedup.field_names(), args.json)
    return 0


def cmd_dedup(settings: Settings, args: argparse.Namespace) -> int:
    """``dedup train --gold PAIRS.csv``: the dedup stage with m from the labelled pairs."""
    from pipelines.cli.explain import print_model

    dedup = settings.dedup.model_copy(update={"gold_pairs": args.gold})
    if not dedup.learned:
        raise ConfigError("dedup train needs dedup.fields as a list of column names, not weights")
    settings = settings.model_copy(update={"dedup": dedup})
    with open_context(settings, args.run_id) as ctx:
        _summary(run_stages(ctx, select_stages(settings, ["dedup"])), None)
        print_model(console, ctx.reports_dir / "dedup" / "model.json")
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.cli.status import print_status

    print_status(settings, console, args.query)
    return 0


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.report import main as write_report

    return write_report(settings, args)


def cmd_tour(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.cli.tour import cmd_tour as tour

    return tour(settings, args)
