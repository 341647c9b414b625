"""A demo data set in a lake of its own: the bundled sample, MovieLens-100k (recommendations,
evaluated leave-last-out) or FEBRL1-3 (deduplication, evaluated against its true pairs).

``pipelines demo --dataset NAME`` writes the data under ``<data dir>/NAME/``, its settings to
``<data dir>/NAME/pipelines.toml`` and its tables to ``<data dir>/NAME/lakehouse`` (with an
embedded Qdrant inside), so it never touches another lake, and ``pipelines run --config
<data dir>/NAME/pipelines.toml`` runs it again.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from pipelines.config import DEFAULT_CONFIG_FILE, Settings
from pipelines.datasets.sample import SAMPLE_DEDUP_FIELDS, SAMPLE_TEMPLATE
from pipelines.dedup.config import DedupConfig
from pipelines.embed.config import CatalogConfig, EventsConfig
from pipelines.runtime.redact import is_secret_name
from pipelines.vectorstore.config import QdrantConfig

MOVIELENS_TEMPLATE = "{title} ({year}): {genres}"
LAKE_FOLDER = "lakehouse"


def prepare_demo(settings: Settings, dataset: str, data_dir: Path) -> Settings:
    """Write the data set under ``data_dir/<dataset>``; the settings that read it, into a lake
    of its own. The data's sections (catalog, events, dedup, evaluate) are the data set's
    alone: none is kept from ``settings``, which give only how to run (Spark, model, ...)."""
    out = (data_dir / dataset).resolve()
    if dataset.startswith("febrl"):
        sections = _febrl(out, int(dataset[5:] or 3))
    elif dataset == "movielens":
        sections = _movielens(out)
    else:
        sections = _sample(out)
    # what the data set scores, at the k and seed of ``settings``
    scored = {"dedup_gold": None, "recs_items": False, "recs_users": False, **sections["evaluate"]}
    sections["evaluate"] = settings.evaluate.model_copy(update=scored)
    lake = settings.lake.model_copy(update={"root": out / LAKE_FOLDER})
    # a Qdrant server, or a path set for another lake, would share aliases with that lake
    qdrant = QdrantConfig()
    neighbors = settings.neighbors.model_copy(update={"staging_dir": None})
    return settings.model_copy(
        update={"lake": lake, "qdrant": qdrant, "neighbors": neighbors, **sections}
    )


def _sample(out: Path) -> dict[str, Any]:
    from pipelines.datasets.sample import generate_sample, write_planted_pairs

    files = generate_sample(out)
    return {
        "catalog": _catalog(files["catalog"], "item_id", SAMPLE_TEMPLATE,
                            ["title", "brand", "category", "price"]),
        "events": EventsConfig(source=files["events"], format="csv", type_column="event_type"),
        "dedup": DedupConfig(fields=SAMPLE_DEDUP_FIELDS),
        "evaluate": {"dedup_gold": write_planted_pairs(files["duplicates"],
                                                       out / "planted_pairs.csv")},
    }  # fmt: skip


def _movielens(out: Path) -> dict[str, Any]:
    from pipelines.datasets.movielens import write_movielens

    files = write_movielens(out)
    return {
        "catalog": _catalog(files["catalog"], "item_id", MOVIELENS_TEMPLATE,
                            ["title", "year", "genres"]),
        "events": EventsConfig(source=files["events"], format="csv"),
        # a duplicate is (nearly) the same title of the same year; remakes and sequels are
        # not, and short titles need a strict threshold to keep "Fan, The" from "Craft, The"
        "dedup": DedupConfig(fields={"title": 3.0, "year": 1.0}, exact_fields=["year"],
                             match_threshold=0.9),
        "evaluate": {"recs_items": True, "recs_users": True},
    }  # fmt: skip


def _febrl(out: Path, version: int) -> dict[str, Any]:
    from pipelines.datasets.febrl import FEBRL_DEDUP_FIELDS, FEBRL_TEMPLATE, write_febrl

    files = write_febrl(out, version)
    return {
        "catalog": _catalog(files["records"], "rec_id", FEBRL_TEMPLATE,
                            ["given_name", "surname"]),
        "events": EventsConfig(),  # no events: the user stages are not selected
        "dedup": DedupConfig(fields=list(FEBRL_DEDUP_FIELDS)),
        "evaluate": {"dedup_gold": files["gold"]},
    }  # fmt: skip


def _catalog(source: Path, id_column: str, template: str, payload: list[str]) -> CatalogConfig:
    return CatalogConfig(
        source=source, format="csv", id_column=id_column, text_template=template,
        payload_columns=payload,
    )  # fmt: skip


def write_demo_config(settings: Settings) -> Path:
    """The demo's settings as ``pipelines.toml`` beside its lake: every value that is not the
    default, paths inside the demo's folder relative to the file, no secrets."""
    folder = settings.lake.root.parent
    values = settings.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    lines = [
        "# written by `pipelines demo`; run it again with",
        f"#   pipelines run --config {shown_path(folder / DEFAULT_CONFIG_FILE)}",
        "# Every key left out takes its default: pipelines.example.toml lists them all.",
    ]
    for section, keys in values.items():
        kept = {k: v for k, v in keys.items() if not is_secret_name(k)}
        if kept:
            lines += ["", f"[{section}]"]
            lines += [f"{_key(k)} = {_toml(_relative(v, folder))}" for k, v in kept.items()]
    path = folder / DEFAULT_CONFIG_FILE
    path.write_text("\n".join(lines) + "\n")
    return path


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory when under it (as a user types it)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _relative(value: Any, folder: Path) -> Any:
    if isinstance(value, str) and os.path.isabs(value) and Path(value).is_relative_to(folder):
        return Path(value).relative_to(folder).as_posix()
    return value


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml(value: Any) -> str:
    """A TOML value: JSON writes strings, numbers and lists as TOML does; tables inline."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


DEDUP_METRICS = (
    "items", "gold_pairs", "predicted_pairs", "pairwise_precision", "pairwise_recall",
    "pairwise_f1", "bcubed_precision", "bcubed_recall", "bcubed_f1",
)  # fmt: skip
RECS_TITLES = {
    "recs_items": "item-to-item recommendations, leave-last-out",
    "recs_users": "user recommendations, leave-last-out",
}


def metric_tables(details: dict, k: int) -> list[Table]:
    """The evaluate stage's figures (its result's details) as tables."""
    tables = []
    if "dedup" in details:
        title = f"dedup against {Path(details['dedup']['gold']).name}"
        dedup = Table(title=title, min_width=len(title) + 4)
        dedup.add_column("metric")
        dedup.add_column("value", justify="right")
        for name in DEDUP_METRICS:
            dedup.add_row(name, str(details["dedup"][name]))
        tables.append(dedup)
    for key, title in RECS_TITLES.items():
        if key not in details:
            continue
        recs = Table(title=title)
        for column in ("method", "users", f"HR@{k}", f"NDCG@{k}"):
            recs.add_column(column, justify="left" if column == "method" else "right")
        for row in details[key]:
            recs.add_row(row["method"], str(row["users"]), *(f"{row[c]:.4f}" for c in
                         ("hr_at_k", "ndcg_at_k")))  # fmt: skip
        tables.append(recs)
    return tables


def print_metrics(console: Console, results: list, k: int) -> None:
    """The metric tables of the run's evaluate stage, if it ran."""
    for result in results:
        if result.stage != "evaluate":
            continue
        tables = metric_tables(result.details, k)
        if not tables:
            console.print("evaluate: nothing configured to score")
        for table in tables:
            console.print(table)
