"""``pipelines tour``: what the pipeline made, read from the lake without Spark. One dedup
cluster with its records' titles and field scores, an item's similar items, a user's
recommendations next to their recent history, the evaluation, the run report, and the commands
to explore further (``./pipelines.toml`` written first, so that they read these settings)."""

from __future__ import annotations

import argparse
import filecmp
import json
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipelines.cli.demo import shown_path
from pipelines.config import DEFAULT_CONFIG_FILE, Settings
from pipelines.report import report_path, write_run_report
from pipelines.report.lake import LakeView
from pipelines.report.sections_items import Catalog, load_catalog
from pipelines.tables import DEDUP_CLUSTERS, DEDUP_PAIRS, EVENTS, ITEM_RECS, USER_RECS
from pipelines.tables import Table as LakeTable

SHOWN = 5  # similar items, recommendations and history events
CLUSTER_RECORDS = 6
GONE = "(not in the catalog now)"  # the label of an item deleted since
CANDIDATES = 50  # of the largest clusters, those whose pairs are read to pick one


def cmd_tour(settings: Settings, args: argparse.Namespace) -> int:
    console = Console()
    option = local_config(args.config, Path.cwd(), console)
    view = LakeView(settings.lake.root)
    catalog = load_catalog(view)
    if catalog is None:
        _say(console, f"no catalog embeddings under {settings.lake.root}: run the pipeline first")
        return 1
    pair = show_cluster(console, view, catalog)
    item = show_similar(console, view, catalog, pair[0] if pair else None)
    user = show_user(console, view, catalog)
    show_evaluation(console, settings.lake.reports_dir / "evaluate")
    show_report(console, settings, view)
    show_next(console, catalog, option, item, user, pair)
    return 0


def local_config(config: str | None, cwd: Path, console: Console) -> str:
    """Copy ``config`` to ``cwd/pipelines.toml`` when there is none there and its relative
    paths mean the same from ``cwd``; the ``--config`` option the commands then still need."""
    if config is None:
        return ""
    source, local = Path(config).resolve(), cwd / DEFAULT_CONFIG_FILE
    if source == local.resolve():
        return ""
    if not local.exists() and source.parent == cwd.resolve():
        shutil.copyfile(source, local)
        _say(console, f"wrote ./{DEFAULT_CONFIG_FILE} (a copy of {config}): the commands read it")
        return ""
    if local.is_file() and filecmp.cmp(source, local, shallow=False):
        return ""
    return f" --config {shlex.quote(config)}"


def _frame(view: LakeView, table: LakeTable, columns: list[str], where=None) -> pd.DataFrame | None:
    """The rows of the version shown; None (with nothing printed) when the table has none."""
    return None if view.version(table) is None else view.frame(table, columns, where)


def _missing(console: Console, table: LakeTable, dag: str) -> None:
    _say(console, f"  {table} does not exist yet: run the {table.producer} stage (DAG {dag})")


def _say(console: Console, text: str) -> None:
    """Plain text: ids and paths as written (no markup, colours or wrapping)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=Text(title))
    for column in columns:
        table.add_column(column)
    return table


def _row(table: Table, *values: object) -> None:
    """Cells as plain text: a title holding brackets is not markup."""
    table.add_row(*(Text(str(value)) for value in values))


def _heading(console: Console, text: str) -> None:
    console.print()
    console.rule(text, align="left")


def show_cluster(console: Console, view: LakeView, catalog: Catalog) -> tuple[str, str] | None:
    """One of the largest dedup clusters, its records and the field scores of its pairs; the
    best pair, for ``explain-pair``."""
    _heading(console, "A dedup cluster: records under different ids that are one product")
    clusters = _frame(view, DEDUP_CLUSTERS, ["item_id", "cluster_id", "is_canonical"])
    if clusters is None:
        _missing(console, DEDUP_CLUSTERS, "recs_and_dedup")
        return None
    if clusters.empty:
        _say(console, "  no clusters: no two items matched")
        return None
    sizes = clusters.groupby("cluster_id").size()
    largest = sorted(sizes.index[sizes == sizes.max()])[:CANDIDATES]
    candidates = clusters[clusters.cluster_id.isin(largest)]
    pairs = _cluster_pairs(view, list(candidates.item_id))
    chosen = _telling(candidates, pairs)
    members = candidates[candidates.cluster_id == chosen].sort_values(
        ["is_canonical", "item_id"], ascending=[False, True]
    )
    members = members.head(CLUSTER_RECORDS)
    ids = list(members.item_id)
    title = f"cluster {chosen}: {sizes[chosen]} records ({len(ids)} shown)"
    records = _table(title, "item_id", "title", "canonical")
    for item_id, canonical in zip(ids, members.is_canonical, strict=True):
        _row(records, item_id, _title(catalog, item_id), "yes" if canonical else "")
    console.print(records)
    mine = pairs[pairs.a.isin(ids) & pairs.b.isin(ids)] if pairs is not None else None
    if mine is None or mine.empty:
        _say(console, "  no scored pairs of these records in dedup/pairs")
        return (ids[0], ids[1]) if len(ids) > 1 else None
    columns = ("a", "b", "match", "decision", "field similarities")
    scores = _table("why: each pair's match probability and field similarities", *columns)
    for pair in mine.itertuples():
        fields = ", ".join(f"{k} {_score(v)}" for k, v in _fields(pair.field_scores).items())
        _row(scores, pair.a, pair.b, f"{pair.match_score:.3f}", pair.decision, fields)
    console.print(scores)
    first = mine.iloc[0]
    return first.a, first.b


def _telling(clusters: pd.DataFrame, pairs: pd.DataFrame | None) -> str:
    """The cluster whose matched pairs differ most in some field (the lowest field score):
    it shows the fuzzy matching at work; else the first by id."""
    ids = sorted(set(clusters.cluster_id))
    if pairs is None or pairs.empty:
        return ids[0]
    of = dict(zip(clusters.item_id, clusters.cluster_id, strict=True))
    lowest: dict[str, float] = {}
    for pair in pairs[pairs.decision == "match"].itertuples():
        cluster = of[pair.a]
        if of[pair.b] != cluster:  # a weak match that did not chain two clusters
            continue
        scores = [v for v in _fields(pair.field_scores).values() if v is not None and v == v]
        lowest[cluster] = min([lowest.get(cluster, 1.0), *scores])
    return min(ids, key=lambda c: (lowest.get(c, 1.0), c))


def _fields(scores) -> dict:
    return dict(scores or [])


def _cluster_pairs(view: LakeView, ids: list[str]) -> pd.DataFrame | None:
    """The pairs the clusters' own dedup run scored between ``ids``, best first."""
    if view.version(DEDUP_PAIRS) is None:
        return None
    written_by = view.commit(DEDUP_CLUSTERS).run_id
    where = pc.field("a").isin(ids) & pc.field("b").isin(ids)
    version = view.version_by(DEDUP_PAIRS, written_by)
    columns = ["a", "b", "match_score", "decision", "field_scores"]
    pairs = view.frame(DEDUP_PAIRS, columns, where, version)
    return pairs.sort_values(["match_score", "a", "b"], ascending=[False, True, True])


def _score(value) -> str:
    return "missing" if value is None or value != value else f"{value:.2f}"


def show_similar(
    console: Console, view: LakeView, catalog: Catalog, preferred: str | None
) -> str | None:
    """``preferred``'s item-to-item recommendations, else the first item's that has some."""
    _heading(console, "Similar items (recs/item_to_item: duplicates left out)")
    recs = _frame(view, ITEM_RECS, ["item_id", "rank", "rec_id", "score"])
    if recs is None or recs.empty:
        _missing(console, ITEM_RECS, "recs_and_dedup")
        return None
    item = preferred if preferred in set(recs.item_id) else recs.item_id.min()
    mine = recs[(recs.item_id == item) & (recs["rank"] <= SHOWN)].sort_values("rank")
    title = f"similar to {item}: {_title(catalog, item)}"
    table = _table(title, "rank", "item_id", "title", "score")
    for row in mine.itertuples():
        _row(table, row.rank, row.rec_id, _title(catalog, row.rec_id), _f(row.score))
    console.print(table)
    return item


def show_user(console: Console, view: LakeView, catalog: Catalog) -> str | None:
    """The recommendations of the user with the most clean events, next to their latest ones."""
    _heading(console, "A user's recommendations next to their recent history")
    recs = _frame(view, USER_RECS, ["user_id", "rank", "item_id", "score"])
    if recs is None or recs.empty:
        _missing(console, USER_RECS, "user_events")
        return None
    events = _frame(view, EVENTS, ["user_id", "item_id", "event_type", "event_time"])
    users = sorted(set(recs.user_id))
    if events is not None and not events.empty:
        counts = events[events.user_id.isin(users)].user_id.value_counts()
        users = sorted(users, key=lambda u: (-counts.get(u, 0), u))
    user = users[0]
    given = recs[(recs.user_id == user) & (recs["rank"] <= SHOWN)].sort_values("rank")
    history = pd.DataFrame(columns=["item_id", "event_type", "event_time"])
    if events is not None:
        mine = events[events.user_id == user]
        history = mine.sort_values(["event_time", "item_id"], ascending=False)
    history = history.head(SHOWN)
    columns = ("", "history, newest first", "event (UTC)", "recommended", "score")
    table = _table(f"user {user}", *columns)
    seen, rows = list(history.itertuples()), list(given.itertuples())
    for n in range(max(len(seen), len(rows))):
        event = seen[n] if n < len(seen) else None
        rec = rows[n] if n < len(rows) else None
        _row(
            table,
            n + 1,
            _labelled(catalog, event.item_id) if event else "",
            f"{event.event_type} {str(event.event_time)[5:16]}" if event else "",
            _labelled(catalog, rec.item_id) if rec else "",
            _f(rec.score) if rec else "",
        )
    console.print(table)
    return user


def _title(catalog: Catalog, item_id: str) -> str:
    return catalog.labels.get(item_id, GONE)


def _labelled(catalog: Catalog, item_id: str) -> str:
    return f"{_title(catalog, item_id)} [{item_id}]"


def _f(value) -> str:
    return f"{value:.3f}"


def evaluation_lines(folder: Path) -> list[str]:
    """One line per evaluate report: dedup against its true pairs, recs against baselines."""
    lines = []
    for path in sorted(folder.glob("*.json")):
        report = json.loads(path.read_text())
        run = report.get("run_id", "?")
        if path.stem == "dedup":
            lines.append(
                f"dedup against {Path(report['gold']).name} ({report['gold_pairs']} true pairs):"
                f" pairwise precision {report['pairwise_precision']:.3f}, recall"
                f" {report['pairwise_recall']:.3f}, F1 {report['pairwise_f1']:.3f};"
                f" B-cubed F1 {report['bcubed_f1']:.3f} (run {run})"
            )
        elif isinstance(report.get("results"), list):
            k = report.get("k", 10)
            scores = ", ".join(
                f"{row['method']} {row['hr_at_k']:.3f}" for row in report["results"]
            )  # fmt: skip
            lines.append(f"{path.stem.replace('_', ' ')} HR@{k}: {scores} (run {run})")
    return lines


def show_evaluation(console: Console, folder: Path) -> None:
    _heading(console, "Evaluation")
    lines = evaluation_lines(folder)
    if not lines:
        _say(console, "  not configured: set [evaluate] dedup_gold, recs_items or recs_users")
    for line in lines:
        _say(console, f"  {line}")


def show_report(console: Console, settings: Settings, view: LakeView) -> None:
    """The newest run's HTML report, written now if its DAG did not write one."""
    path = report_path(settings, view.run_id)
    if not path.is_file():
        path = write_run_report(settings, view.run_id)
    _heading(console, "Run report")
    _say(console, f"  run {view.run_id}: {shown_path(path)}")
    _say(console, f"  every run's report: {shown_path(path.parent)}/")


def show_next(
    console: Console,
    catalog: Catalog,
    option: str,
    item: str | None,
    user: str | None,
    pair: tuple[str, str] | None,
) -> None:
    _heading(console, "Try next")
    commands = []
    if item:
        title = _title(catalog, item)
        commands += [f"pipelines query {shlex.quote(title.lower())}", f"pipelines similar {item}"]
    if user:
        commands.append(f"pipelines recommend {user}")
    if pair:
        commands.append(f"pipelines explain-pair {pair[0]} {pair[1]}")
    commands.append("pipelines status")
    for command in commands:
        _say(console, f"  {command}{option}")
