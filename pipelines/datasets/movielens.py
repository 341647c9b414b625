"""MovieLens-100k as shipped inside the PyPI package ``recbole==1.2.1`` (optional ``eval`` extra).

The files are found without importing recbole (whose import pulls in torch extras). They are
tab separated; column names carry a type suffix (``user_id:token``) that is stripped here.
GroupLens terms apply: use the data, do not redistribute it.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pandas as pd

from pipelines.errors import InputError

INSTALL_HINT = "pip install 'pipelines[eval]'  (or: pip install --no-deps recbole==1.2.1)"
SUBDIR = "dataset_example/ml-100k"


def movielens_dir() -> Path:
    """The installed ``recbole/dataset_example/ml-100k`` folder; InputError when missing."""
    spec = importlib.util.find_spec("recbole")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise InputError(f"MovieLens-100k needs the package recbole, not installed: {INSTALL_HINT}")
    path = Path(locations[0]) / SUBDIR
    if not (path / "ml-100k.inter").is_file() or not (path / "ml-100k.item").is_file():
        raise InputError(f"MovieLens-100k files are missing under {path}: {INSTALL_HINT}")
    return path


def _read(name: str) -> pd.DataFrame:
    """One atomic file as strings, with the ``:type`` suffixes cut from the column names."""
    path = movielens_dir() / name
    frame = pd.read_csv(
        path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8"
    )
    return frame.rename(columns=lambda c: c.split(":", 1)[0])


def load_items() -> pd.DataFrame:
    """1,682 movies: item_id (str), title, year (nullable Int64), genres ("Action,Comedy").

    Item 267 is a placeholder in the source (title "unkonwn", no year, genre "unknown").
    """
    raw = _read("ml-100k.item")
    year = raw["release_year"].where(raw["release_year"].str.fullmatch(r"\d{4}"))
    return pd.DataFrame(
        {
            "item_id": raw["item_id"],
            "title": raw["movie_title"].str.strip(),
            "year": pd.to_numeric(year).astype("Int64"),
            "genres": raw["class"].str.split().str.join(","),
        }
    )


def load_interactions() -> pd.DataFrame:
    """100,000 ratings: user_id (str), item_id (str), rating (float), timestamp (Unix s, int)."""
    raw = _read("ml-100k.inter")
    return pd.DataFrame(
        {
            "user_id": raw["user_id"],
            "item_id": raw["item_id"],
            "rating": raw["rating"].astype(float),
            "timestamp": raw["timestamp"].astype(float).astype("int64"),
        }
    )


def write_movielens(out_dir: Path) -> dict[str, Path]:
    """Write ``catalog.csv`` and ``events.csv`` in the pipeline's input layout."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    catalog = out_dir / "catalog.csv"
    load_items().to_csv(catalog, index=False, lineterminator="\n")
    inter = load_interactions()
    events = pd.DataFrame(
        {
            "user_id": inter["user_id"],
            "item_id": inter["item_id"],
            "event_type": "rating_" + inter["rating"].round().astype(int).astype(str),
            "event_time": pd.to_datetime(inter["timestamp"], unit="s", utc=True).dt.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "query": "",
        }
    )
    events_path = out_dir / "events.csv"
    events.to_csv(events_path, index=False, lineterminator="\n")
    return {"catalog": catalog, "events": events_path}
