"""Seeded synthetic product catalog and user events, written as CSV, with planted faults.

Files written to ``out_dir``:

* ``catalog.csv``: item_id, title, brand, category, description, price, year, color.
  ``n_items`` good rows plus 7 bad ones at random positions.
* ``events.csv``: user_id, item_id, event_type, event_time, query. ``n_events`` good rows
  plus 8 bad ones.
* ``planted_duplicates.csv`` (group_id, item_id): near-duplicate products under distinct ids.
* ``bad_rows.csv`` / ``bad_events.csv`` (row_number, ids, expected_reason): the planted bad
  rows; ``row_number`` is 1-based among data rows (the header is not counted).
* ``planted_pairs.csv`` (a, b), from the command line only: the planted groups as true pairs,
  for ``[evaluate] dedup_gold``.

Same arguments give byte-identical files: only a seeded ``random.Random`` is used.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from pipelines.datasets._words import CATEGORIES, COLORS, GENERIC, Category, noisy_title

Row = tuple[str | None, ...]
ByCategory = dict[str, list[tuple[str, "Product"]]]
WINDOW_START = datetime(2026, 11, 7, tzinfo=UTC)  # 14 days, through 2026-11-20
WINDOW_S = 14 * 86400
EVENT_TYPES = ("view", "add_to_cart", "purchase")
EVENT_WEIGHTS = (80, 15, 5)
CATALOG_HEADER = ("item_id", "title", "brand", "category", "description", "price", "year", "color")
EVENTS_HEADER = ("user_id", "item_id", "event_type", "event_time", "query")
DUPLICATES_HEADER = ("group_id", "item_id")
BAD_ROWS_HEADER = ("row_number", "item_id", "expected_reason")
BAD_EVENTS_HEADER = ("row_number", "user_id", "item_id", "expected_reason")

# how the demo renders a sample catalog row as text
SAMPLE_TEMPLATE = "{title}. {brand} {category}. {description}"
SAMPLE_DEDUP_FIELDS = ["title", "brand", "category", "description", "year", "color"]


@dataclass(frozen=True)
class Product:
    title: str
    brand: str
    category: str
    noun: str
    spec: str
    description: str
    price: float
    year: int
    color: str

    def row(self, item_id: str | None) -> Row:
        return (item_id, self.title, self.brand, self.category, self.description,
                f"{self.price:.2f}", str(self.year), self.color or None)  # fmt: skip


def _description(rng: Random, cat: Category, head: str) -> str:
    """Whole sentences, 5 to 60 words, opening with ``head``."""
    target, words = rng.randint(5, 60), head.split()
    for sentence in rng.sample(cat.features + GENERIC, len(cat.features + GENERIC)):
        if len(words) >= target:
            break
        more = sentence.format(n=rng.randint(2, 48)).split()
        if len(words) + len(more) <= 60:
            words += more
    return " ".join(words)


def _product(rng: Random, name: str, used: set[str]) -> Product:
    """A product whose (brand, noun, spec) is not in ``used``; adds it there."""
    cat = CATEGORIES[name]
    for attempt in range(100):
        brand, (noun, specs) = rng.choice(cat.brands), rng.choice(cat.nouns)
        spec = rng.choice(specs) if specs else ""
        if attempt >= 30:
            spec = f"{spec} Series {rng.randint(2, 999)}".strip()
        if _key(brand, noun, spec) not in used:
            break
    used.add(_key(brand, noun, spec))
    adj = rng.choice(cat.adjectives) if rng.random() < 0.7 else ""
    title = " ".join(p for p in (brand, adj, noun, spec) if p)
    head = " ".join(p for p in ("The", adj, noun, "by", brand) if p) + "."
    lo, hi = cat.price
    color = "" if name == "books" else rng.choice(COLORS)
    price, year = round(rng.uniform(lo, hi), 2), rng.randint(2015, 2026)
    return Product(title, brand, name, noun, spec, _description(rng, cat, head), price, year, color)


def _key(brand: str, noun: str, spec: str) -> str:
    return f"{brand}|{noun}|{spec}".lower()


def _variant(rng: Random, base: Product, taken: set[str]) -> Product:
    """The same product listed again: a noisy title and a slightly different price."""
    title = noisy_title(rng, base.brand, base.title, taken)
    return replace(base, title=title, price=round(base.price * rng.uniform(0.95, 1.05), 2))


def _catalog_products(rng: Random, n_items: int) -> tuple[list[Product], list[list[int]]]:
    """Good products, shuffled, and the positions of each near-duplicate group."""
    sizes = [rng.choice((2, 3)) for _ in range(min(8, n_items // 20))]
    used: set[str] = set()
    names, n_unique = sorted(CATEGORIES), n_items - sum(sizes) + len(sizes)
    uniques = [_product(rng, rng.choice(names), used) for _ in range(n_unique)]
    groups: list[list[Product]] = []
    for base, size in zip(rng.sample(uniques, len(sizes)), sizes, strict=True):
        taken = {base.title}
        groups.append([base] + [_variant(rng, base, taken) for _ in range(size - 1)])
    grouped = {id(p) for g in groups for p in g}
    products = [p for p in uniques if id(p) not in grouped] + [p for g in groups for p in g]
    rng.shuffle(products)
    where = {id(p): i for i, p in enumerate(products)}
    return products, [[where[id(p)] for p in g] for g in groups]


def _scatter(rng: Random, good: list[Row], bad: list[Row]) -> tuple[list[Row], list[int]]:
    """Insert ``bad`` rows at random positions; return all rows and the bad rows' numbers."""
    total = len(good) + len(bad)
    slots = set(rng.sample(range(total), len(bad)))
    goods, bads, rows, numbers = iter(good), iter(bad), [], []
    for i in range(total):
        if i in slots:
            rows.append(next(bads))
            numbers.append(i + 1)
        else:
            rows.append(next(goods))
    return rows, numbers


def _bad_catalog_rows(rng: Random, n_items: int, used: set[str]) -> list[tuple[Row, str]]:
    def fresh(item_id: str | None) -> Row:
        return _product(rng, rng.choice(sorted(CATEGORIES)), used).row(item_id)

    dup_id = f"P{n_items + 1:05d}"
    blank = ("   ", "\t\x07", "", None, "19.99", "2021", "black")
    blank2 = ("\u200b\u00a0", "\x1f \x7f", " ", "\t", "5.00", "2019", "")
    return [
        (fresh(""), "null_id"),
        (fresh("   "), "null_id"),
        (fresh(None), "null_id"),
        (fresh(dup_id), "duplicate_id"),
        (fresh(dup_id), "duplicate_id"),
        ((f"P{n_items + 2:05d}", *blank), "empty_text"),
        ((f"P{n_items + 3:05d}", *blank2), "empty_text"),
    ]


def _query(rng: Random, p: Product) -> str:
    noun = p.noun.lower()
    under = f"{noun} under {int(p.price // 10 + 1) * 10}"
    options = (noun, f"{p.brand} {noun}".lower(), f"best {noun}", f"{p.color} {noun}".strip())
    return rng.choice((*options, under, f"cheap {noun.split()[-1]}"))


def _user_events(
    rng: Random, user: str, count: int, by_cat: ByCategory, prefs: list[float]
) -> list[Row]:
    """One user's events in time order; carts and purchases follow recent views."""
    names, viewed, rows = sorted(by_cat), [], []
    for second in sorted(rng.randrange(WINDOW_S) for _ in range(count)):
        kind = rng.choices(EVENT_TYPES, EVENT_WEIGHTS)[0] if viewed else "view"
        query = None
        if kind == "view":
            items = by_cat[rng.choices(names, prefs)[0]]
            popularity = [1 / (rank + 1) ** 0.7 for rank in range(len(items))]
            item_id, product = rng.choices(items, popularity)[0]
            viewed.append(item_id)
            query = _query(rng, product) if rng.random() < 0.12 else None
        else:
            item_id = rng.choice(viewed[-5:])
        stamp = (WINDOW_START + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append((user, item_id, kind, stamp, query))
    return rows


def _events(
    rng: Random, items: list[tuple[str, Product]], n_users: int, n_events: int
) -> list[Row]:
    by_cat: ByCategory = {}
    for item in items:
        by_cat.setdefault(item[1].category, []).append(item)
    for members in by_cat.values():
        rng.shuffle(members)  # popularity rank within the category
    users = [f"U{i:04d}" for i in range(1, n_users + 1)]
    counts = Counter(rng.choices(users, [rng.lognormvariate(0, 0.8) for _ in users], k=n_events))
    rows: list[Row] = []
    for user in users:
        favourites = rng.sample(sorted(by_cat), min(2, len(by_cat)))
        prefs = [
            0.6 if c == favourites[0] else 0.25 if c in favourites else 0.05 for c in sorted(by_cat)
        ]
        rows += _user_events(rng, user, counts[user], by_cat, prefs)
    return sorted(rows, key=lambda r: (r[3], r[0]))


def _bad_events(n_users: int, ids: tuple[str, str, str]) -> list[tuple[Row, str]]:
    u = [f"U{i % n_users + 1:04d}" for i in range(6)]
    return [
        ((u[0], "P99991", "view", "2026-11-10T08:00:00Z", None), "unknown_item"),
        ((u[1], "P99992", "purchase", "2026-11-12T09:30:00Z", None), "unknown_item"),
        ((u[2], "X-404", "view", "2026-11-15T17:45:10Z", "lamp"), "unknown_item"),
        (("", ids[0], "view", "2026-11-11T11:11:11Z", None), "null_user"),
        (("  ", ids[1], "add_to_cart", "2026-11-13T13:00:00Z", None), "null_user"),
        ((u[3], ids[2], "view", "2026-11-31T25:61:00Z", None), "bad_timestamp"),
        ((u[4], ids[0], "view", "last tuesday", None), "bad_timestamp"),
        ((u[5], ids[1], "purchase", "2099-11-15T12:00:00Z", None), "future_timestamp"),
    ]


def _field(value: str | None) -> str:
    """CSV field: None is an empty field, "" is a quoted empty string."""
    if value is None:
        return ""
    special = value == "" or value != value.strip() or not value.isprintable()
    if special or any(c in value for c in ',"'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _write(path: Path, header: tuple[str, ...], rows: list[Row]) -> Path:
    lines = [",".join(header)] + [",".join(_field(v) for v in row) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return path


def write_planted_pairs(duplicates: Path, out: Path) -> Path:
    """The planted groups as true pairs (CSV a, b with a < b) for ``evaluate dedup``."""
    import csv
    from itertools import combinations

    with Path(duplicates).open(newline="") as handle:
        groups: dict[str, list[str]] = {}
        for row in csv.DictReader(handle):
            groups.setdefault(row["group_id"], []).append(row["item_id"])
    pairs = [pair for members in groups.values() for pair in combinations(sorted(members), 2)]
    return _write(Path(out), ("a", "b"), sorted(pairs))


def generate_sample(
    out_dir: Path, n_items: int = 300, n_users: int = 60, n_events: int = 3000, seed: int = 7
) -> dict[str, Path]:
    """Write the catalog, events and the planted-fault lists; return their paths by name."""
    if min(n_items, n_users, n_events) < 1 or n_items >= 90000:
        raise ValueError("need 1 <= n_items < 90000, n_users >= 1 and n_events >= 1")
    rng, out_dir = Random(seed), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    products, groups = _catalog_products(rng, n_items)
    items = [(f"P{i:05d}", p) for i, p in enumerate(products, start=1)]
    used = {_key(p.brand, p.noun, p.spec) for p in products}
    bad = _bad_catalog_rows(rng, n_items, used)
    catalog, numbers = _scatter(rng, [p.row(i) for i, p in items], [r for r, _ in bad])
    events = _events(rng, items, n_users, n_events)
    bad_ev = _bad_events(n_users, (items[0][0], items[-1][0], items[len(items) // 2][0]))
    events, ev_numbers = _scatter(rng, events, [r for r, _ in bad_ev])
    dups = [(f"G{g:02d}", items[i][0]) for g, grp in enumerate(groups, 1) for i in sorted(grp)]
    bad_rows = [(str(n), r[0], why) for n, (r, why) in zip(numbers, bad, strict=True)]
    bad_ev_rows = [
        (str(n), r[0], r[1], why) for n, (r, why) in zip(ev_numbers, bad_ev, strict=True)
    ]
    return {
        "catalog": _write(out_dir / "catalog.csv", CATALOG_HEADER, catalog),
        "events": _write(out_dir / "events.csv", EVENTS_HEADER, events),
        "duplicates": _write(out_dir / "planted_duplicates.csv", DUPLICATES_HEADER, dups),
        "bad_rows": _write(out_dir / "bad_rows.csv", BAD_ROWS_HEADER, bad_rows),
        "bad_events": _write(out_dir / "bad_events.csv", BAD_EVENTS_HEADER, bad_ev_rows),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--n-items", type=int, default=300)
    parser.add_argument("--n-users", type=int, default=60)
    parser.add_argument("--n-events", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    paths = generate_sample(args.out, args.n_items, args.n_users, args.n_events, args.seed)
    pairs = write_planted_pairs(paths["duplicates"], args.out / "planted_pairs.csv")
    for name, path in {**paths, "planted_pairs": pairs}.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
