"""The seeded sample catalog and events: determinism, counts and the planted faults."""

from __future__ import annotations

import csv
import difflib
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.datasets.sample import generate_sample, main

N_ITEMS, N_USERS, N_EVENTS = 300, 60, 3000
WINDOW = (datetime(2026, 11, 7, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_sample(tmp_path_factory.mktemp("sample"))


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def clean(text: str) -> str:
    """Drop control, format and separator characters, then surrounding whitespace."""
    return "".join(c for c in text if unicodedata.category(c)[0] not in "CZ").strip()


def squash(title: str) -> str:
    return re.sub(r"[^0-9a-z]", "", title.lower())


def overlap(a: str, b: str) -> float:
    """Share of the shorter title that lines up with the other; word order, case, spacing and
    punctuation do not count."""
    a, b = ("".join(sorted(re.findall(r"[a-z]+|[0-9]+", t.lower()))) for t in (a, b))
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks) / min(len(a), len(b))


def parse_time(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = generate_sample(tmp_path / "a", seed=11)
    second = generate_sample(tmp_path / "b", seed=11)
    assert first.keys() == second.keys() >= {"catalog", "events"}
    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_same_bytes_across_processes(tmp_path: Path) -> None:
    """No dependence on hash randomisation: two interpreters with different hash seeds."""
    root = Path(__file__).resolve().parents[2]
    for name in ("a", "b"):
        env = {**os.environ, "PYTHONHASHSEED": "1" if name == "a" else "2", "PYTHONPATH": str(root)}
        args = [sys.executable, "-m", "pipelines.datasets.sample", "--out", str(tmp_path / name)]
        subprocess.run([*args, "--n-items", "60", "--n-events", "300"], check=True, env=env)
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    first = generate_sample(tmp_path / "a", seed=1)
    second = generate_sample(tmp_path / "b", seed=2)
    assert first["catalog"].read_bytes() != second["catalog"].read_bytes()
    assert first["events"].read_bytes() != second["events"].read_bytes()


def test_counts(sample: dict[str, Path]) -> None:
    catalog, events = read(sample["catalog"]), read(sample["events"])
    assert list(catalog[0]) == [
        "item_id", "title", "brand", "category", "description", "price", "year", "color"
    ]  # fmt: skip
    assert list(events[0]) == ["user_id", "item_id", "event_type", "event_time", "query"]
    assert len(catalog) == N_ITEMS + 7
    assert len(events) == N_EVENTS + 8
    assert {f"U{i:04d}" for i in range(1, N_USERS + 1)} >= {e["user_id"] for e in events} - {
        "",
        "  ",
    }


def test_good_rows_are_realistic(sample: dict[str, Path]) -> None:
    bad = {int(r["row_number"]) for r in read(sample["bad_rows"])}
    good = [r for n, r in enumerate(read(sample["catalog"]), 1) if n not in bad]
    assert {r["category"] for r in good} == {
        "electronics", "kitchen", "books", "outdoor", "toys", "clothing"
    }  # fmt: skip
    lengths = [len(r["description"].split()) for r in good]
    assert min(lengths) >= 5 and max(lengths) <= 60 and max(lengths) - min(lengths) > 30
    assert all(float(r["price"]) > 0 and 2015 <= int(r["year"]) <= 2026 for r in good)
    assert [r["item_id"] for r in good] == [f"P{i:05d}" for i in range(1, N_ITEMS + 1)]


def test_planted_duplicates(sample: dict[str, Path]) -> None:
    catalog = {r["item_id"]: r for r in read(sample["catalog"])}
    groups: dict[str, list[str]] = defaultdict(list)
    for row in read(sample["duplicates"]):
        groups[row["group_id"]].append(row["item_id"])
    assert len(groups) == 8
    for ids in groups.values():
        assert 2 <= len(ids) <= 3 and set(ids) <= set(catalog)
        rows = [catalog[i] for i in ids]
        assert len({r["brand"] for r in rows}) == 1 and len({r["category"] for r in rows}) == 1
        titles = [r["title"] for r in rows]
        assert len(set(titles)) == len(titles)
        for title in titles:
            best = max(overlap(title, other) for other in titles if other != title)
            assert best >= 0.75, (title, titles)


def test_no_accidental_exact_duplicates(sample: dict[str, Path]) -> None:
    planted = {r["item_id"] for r in read(sample["duplicates"])}
    titles = [squash(r["title"]) for r in read(sample["catalog"]) if r["item_id"] not in planted]
    counts = Counter(t for t in titles if t)
    assert max(counts.values()) == 1


def catalog_problems(catalog: list[dict[str, str]]) -> dict[int, str]:
    ids = Counter(r["item_id"].strip() for r in catalog)
    problems = {}
    for n, row in enumerate(catalog, 1):
        text = [clean(row[c]) for c in ("title", "description", "brand", "category")]
        if not row["item_id"].strip():
            problems[n] = "null_id"
        elif ids[row["item_id"].strip()] > 1:
            problems[n] = "duplicate_id"
        elif not any(text):
            problems[n] = "empty_text"
    return problems


def test_bad_rows_are_listed_and_make_their_problem(sample: dict[str, Path]) -> None:
    catalog, listed = read(sample["catalog"]), read(sample["bad_rows"])
    assert Counter(r["expected_reason"] for r in listed) == {
        "null_id": 3, "duplicate_id": 2, "empty_text": 2
    }  # fmt: skip
    assert catalog_problems(catalog) == {int(r["row_number"]): r["expected_reason"] for r in listed}
    for row in listed:
        assert catalog[int(row["row_number"]) - 1]["item_id"] == row["item_id"]
    null_ids = [r["item_id"] for r in listed if r["expected_reason"] == "null_id"]
    assert any(i and not i.strip() for i in null_ids), "one id should be whitespace only"
    dup_titles = {catalog[int(r["row_number"]) - 1]["title"] for r in listed[3:5]}
    assert len(dup_titles) == 2, "duplicated ids carry different titles"


def test_bad_events_are_listed_and_make_their_problem(sample: dict[str, Path]) -> None:
    item_ids = {r["item_id"].strip() for r in read(sample["catalog"])} - {""}
    found = {}
    for n, event in enumerate(read(sample["events"]), 1):
        when = parse_time(event["event_time"])
        if event["item_id"] not in item_ids:
            found[n] = "unknown_item"
        elif not event["user_id"].strip():
            found[n] = "null_user"
        elif when is None:
            found[n] = "bad_timestamp"
        elif when >= WINDOW[1]:
            found[n] = "future_timestamp"
        else:
            assert when >= WINDOW[0]
    listed = {int(r["row_number"]): r["expected_reason"] for r in read(sample["bad_events"])}
    assert found == listed
    assert Counter(listed.values()) == {
        "unknown_item": 3, "null_user": 2, "bad_timestamp": 2, "future_timestamp": 1
    }  # fmt: skip


def test_event_mix_and_user_preferences(sample: dict[str, Path]) -> None:
    category = {r["item_id"]: r["category"] for r in read(sample["catalog"])}
    bad = {int(r["row_number"]) for r in read(sample["bad_events"])}
    events = [e for n, e in enumerate(read(sample["events"]), 1) if n not in bad]
    share = Counter(e["event_type"] for e in events)
    assert 0.74 <= share["view"] / len(events) <= 0.86
    assert 0.10 <= share["add_to_cart"] / len(events) <= 0.20
    assert 0.02 <= share["purchase"] / len(events) <= 0.08
    assert 0.06 <= sum(bool(e["query"]) for e in events) / len(events) <= 0.14
    assert [e["event_time"] for e in events] == sorted(e["event_time"] for e in events)
    per_user: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events:
        per_user[e["user_id"]][category[e["item_id"]]] += 1
    top = [c.most_common(1)[0][1] / c.total() for c in per_user.values() if c.total() >= 20]
    assert sum(top) / len(top) > 0.45, "users should favour a category (uniform would be ~0.2)"


def test_small_and_invalid_sizes(tmp_path: Path) -> None:
    paths = generate_sample(tmp_path, n_items=5, n_users=1, n_events=3, seed=3)
    assert len(read(paths["catalog"])) == 5 + 7
    assert read(paths["duplicates"]) == []
    with pytest.raises(ValueError):
        generate_sample(tmp_path, n_items=0)


def test_cli_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--out", str(tmp_path), "--n-items", "40", "--n-events", "100", "--seed", "5"])
    assert "catalog" in capsys.readouterr().out
    assert len(read(tmp_path / "catalog.csv")) == 40 + 7
    assert len(read(tmp_path / "events.csv")) == 100 + 8
