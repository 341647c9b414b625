"""``pipelines explain-pair`` and ``pipelines dedup train``: why two records were (not)
merged, read from ``dedup/pairs``, and the model fitted from labelled pairs."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipelines.dedup.comparisons import LEVEL_NAMES, MISSING
from pipelines.errors import InputError

WATERFALL_COLUMNS = ("step", "level", "similarity", "weight", "running total", "probability")


def _probability(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** (-weight))


def waterfall(pair: dict, names: list[str]) -> list[dict]:
    """Prior, then each field's contribution (in ``names`` order), then the total, as a
    Splink waterfall chart reads."""
    weights = pair["field_weights"] or {}
    order = {name: i for i, name in enumerate(names)}
    weights = dict(sorted(weights.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    scores = pair["field_scores"] or {}
    levels = pair["field_levels"] or {}
    learned = pair["match_weight"] is not None
    prior = pair["match_weight"] - sum(weights.values()) if learned else 0.0
    running = prior
    rows = [{"step": "prior (match share)", "level": "", "similarity": "", "weight": prior}]
    rows[0]["running total"] = prior
    for name, weight in weights.items():
        running += weight
        level = levels.get(name)
        rows.append({"step": name, "level": _level_name(level),
                     "similarity": scores.get(name), "weight": weight,
                     "running total": running})  # fmt: skip
    final = pair["match_weight"] if learned else pair["match_score"]
    rows.append({"step": f"total: {pair['decision']}", "level": "", "similarity": "",
                 "weight": final, "running total": final})  # fmt: skip
    for row in rows:
        row["probability"] = _probability(row["running total"]) if learned else ""
    return rows


def _level_name(level: int | None) -> str:
    if level is None:
        return ""
    return "missing" if level == MISSING else LEVEL_NAMES[level]


def find_pair(pairs, first: str, second: str, cosine_threshold: float) -> dict:
    from pyspark.sql import functions as F

    a, b = sorted((first, second))
    found = pairs.filter((F.col("a") == a) & (F.col("b") == b)).collect()
    if not found:
        raise InputError(
            f"{a} and {b} are not a candidate pair in dedup/pairs: they are not embedding "
            f"neighbours with cosine >= dedup.cosine_threshold ({cosine_threshold}), so they "
            "were never compared. Check both ids, or lower dedup.cosine_threshold."
        )
    return found[0].asDict(recursive=True)


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3f}"
    return "" if value is None else str(value)


def print_waterfall(console: Console, pair: dict, names: list[str], as_json: bool) -> None:
    rows = waterfall(pair, names)
    if as_json:
        print(json.dumps({"a": pair["a"], "b": pair["b"], "steps": rows}, default=str))
        return
    scoring = "match weight (log2 odds)" if pair["match_weight"] is not None else "weighted mean"
    title = f"{pair['a']} vs {pair['b']}: {scoring}, cosine {pair['cosine']:.3f}"
    table = Table(title=title)
    for column in WATERFALL_COLUMNS:
        table.add_column(column, justify="left" if column == "step" else "right")
    for row in rows:
        table.add_row(*[_cell(row[column]) for column in WATERFALL_COLUMNS])
    console.print(table)


def print_model(console: Console, model_file: Path) -> None:
    """Each field's m, u and weight per level, from the stage's model report."""
    model = json.loads(model_file.read_text())
    table = Table(title=f"dedup model (m from {model['m_from']}; match share "
                        f"{model['match_share']:.4f}) - {model_file}")  # fmt: skip
    for column in ("field", "similarity", "level", "m", "u", "weight"):
        table.add_column(column)
    for field in model["fields"]:
        levels = zip(field["m"], field["u"], field["weights"], strict=True)
        for level, (m, u, weight) in enumerate(levels):
            name = field["name"] if level == 0 else ""
            kind = field["kind"] if level == 0 else ""
            cells = (f"{m:.4f}", f"{u:.4f}", f"{weight:.2f}")
            table.add_row(name, kind, _level_name(level), *cells)
    console.print(table)
