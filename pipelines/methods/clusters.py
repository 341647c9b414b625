"""Clusters from accepted pairs: stable ids across runs and one canonical record each.

Link rule (no chaining): matches at or above the strong threshold join clusters through each
other (connected components). A weaker match, strongest first, then joins two clusters only
when every pair across them is a match: a chain of barely-passing pairs stays apart.
Id rule: a cluster takes the id that most of its members had in the previous run (ties: the
smaller id), unless a larger cluster took it first; otherwise a new id derived from its
smallest member. So a cluster keeps its id while it keeps a member.
Canonical rule: the member with the longest embedded text (the most complete record); ties
go to the smallest item id.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable

import pandas as pd
from pyspark.sql.types import BooleanType, StringType, StructField, StructType

from pipelines.methods.components import components


def groups_of(pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Member lists (sorted) of the connected components with two or more items."""
    pairs = list(pairs)
    items = sorted({item for pair in pairs for item in pair})
    labels = components(items, pairs)
    members: dict[int, list[str]] = defaultdict(list)
    for item in items:
        members[labels[item]].append(item)
    return [group for group in members.values() if len(group) > 1]


def linked_groups(matches: Iterable[tuple[str, str, float]], strong: float) -> list[list[str]]:
    """Clusters of (a, b, score) matches under the link rule (module docstring)."""
    matches = list(matches)
    accepted = {frozenset((a, b)) for a, b, _ in matches}
    group = {item: [item] for a, b, _ in matches for item in (a, b)}
    for members in groups_of((a, b) for a, b, score in matches if score >= strong):
        for item in members:
            group[item] = members
    weak = sorted((m for m in matches if m[2] < strong), key=lambda m: (-m[2], m[0], m[1]))
    for a, b, _ in weak:
        left, right = group[a], group[b]
        if left is right or any(frozenset((x, y)) not in accepted for x in left for y in right):
            continue
        merged = sorted(left + right)
        for item in merged:
            group[item] = merged
    unique = {id(members): members for members in group.values()}
    return [sorted(members) for members in unique.values() if len(members) > 1]


def _new_id(seed: str, used: set[str]) -> str:
    return next_free_id(f"dup-{hashlib.sha1(seed.encode()).hexdigest()[:12]}", used)


def next_free_id(base: str, used: set[str]) -> str:
    """``base``, else ``base-2``, ``base-3``, ... : the first not in ``used``."""
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def stable_ids(groups: list[list[str]], previous: dict[str, str]) -> dict[str, str]:
    """item -> cluster id for every member of ``groups``; ``previous`` is last run's map."""
    used = set(previous.values())
    taken: set[str] = set()
    assigned: dict[str, str] = {}
    for group in sorted(groups, key=lambda g: (-len(g), min(g))):
        votes = Counter(previous[m] for m in group if m in previous)
        ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
        cluster = next((cid for cid, _ in ranked if cid not in taken), None)
        if cluster is None:
            cluster = _new_id(min(group), used | taken)
        taken.add(cluster)
        assigned.update(dict.fromkeys(group, cluster))
    return assigned


def canonical(group: list[str], text_length: dict[str, int]) -> str:
    return min(group, key=lambda item: (-text_length.get(item, 0), item))


CLUSTER_SCHEMA = StructType(
    [
        StructField("item_id", StringType(), False),
        StructField("cluster_id", StringType(), False),
        StructField("is_canonical", BooleanType(), False),
    ]
)


def cluster_rows(
    matches: list[tuple[str, str, float]], strong: float, lengths: dict, previous: dict
) -> pd.DataFrame:
    groups = linked_groups(matches, strong)
    ids = stable_ids(groups, previous)
    heads = {canonical(group, lengths) for group in groups}
    rows = [(item, ids[item], item in heads) for group in groups for item in group]
    return pd.DataFrame(rows, columns=CLUSTER_SCHEMA.fieldNames())
