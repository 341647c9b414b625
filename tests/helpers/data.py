"""Small catalogs and settings files for test lakes."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd


def make_catalog(n: int, start: int = 1) -> pd.DataFrame:
    colours = ["red", "blue", "green", "black", "white"]
    kinds = ["water bottle", "headphones", "tent", "skillet", "novel", "jacket", "cable"]
    rows = [
        {
            "item_id": f"I{i:04d}",
            "title": f"{colours[i % 5].title()} {kinds[i % 7]} model {i}",
            "brand": f"Brand{i % 11}",
            "description": f"A {colours[i % 5]} {kinds[i % 7]} with feature number {i * 7 % 13}.",
            "price": f"{10 + i % 40}.99",
        }
        for i in range(start, start + n)
    ]
    return pd.DataFrame(rows)


def write_settings(tmp: Path, catalog_file: Path, **sections) -> Path:
    """A TOML config for a test lake; ``sections`` add or replace [section] key = value."""
    base = {
        "lake": {"root": "lake"},  # relative paths: a copied folder is a working lake
        "spark": {"master": "local[2]"},
        "model": {"backend": "torch", "device": "cpu"},
        "catalog": {
            "source": os.path.relpath(catalog_file, tmp),
            "format": "csv",
            "id_column": "item_id",
            "text_template": "{title} by {brand}: {description}",
            "payload_columns": ["title", "price"],
        },
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    lines = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml(value)}")
    path = tmp / "pipelines.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_error(folder: Path, text: str) -> str:
    """The message load_settings fails with on a pipelines.toml holding ``text``."""
    from pipelines.config import load_settings
    from pipelines.errors import ConfigError

    path = folder / "pipelines.toml"
    path.write_text(text)
    try:
        load_settings(path)
    except ConfigError as exc:
        return str(exc)
    raise AssertionError(f"no ConfigError for {text!r}")
