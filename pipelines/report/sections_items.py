"""Sections about the catalog's items: the embedding map, score histograms, dedup clusters,
similar items and user recommendations, each read from the tables the run left."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.compute as pc

from pipelines.report.charts import Marker, histogram, scatter
from pipelines.report.html import missing, note, table
from pipelines.report.lake import LakeView, parse_payload, payload_labels
from pipelines.tables import (
    CATALOG_EMBEDDINGS,
    DEDUP_CLUSTERS,
    DEDUP_PAIRS,
    EVENTS,
    ITEM_RECS,
    NEIGHBORS,
    USER_RECS,
    Table,
)

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.config import Settings

MAP_SAMPLE = 5000
HISTOGRAM_SAMPLE = 500_000
COLOUR_COLUMNS = ("category", "brand", "genres", "type")
TOP_GROUPS = 9
SHOWN = 5  # clusters, items and users shown, and recommendations per item or user
CLUSTER_RECORDS, CLUSTER_PAIRS = 8, 20  # what one cluster shows side by side
HISTORY_EVENTS = 10  # a user's latest events shown next to the recommendations


@dataclass
class Catalog:
    """The live items of the version shown: id, payload (dict) and a label for each."""

    items: pd.DataFrame
    labels: dict[str, str]

    def label(self, item_id: str) -> str:
        return f"{self.labels.get(item_id, '(not in catalog)')} [{item_id}]"


def load_catalog(view: LakeView) -> Catalog | None:
    if view.version(CATALOG_EMBEDDINGS) is None:
        return None
    rows = view.frame(CATALOG_EMBEDDINGS, ["item_id", "payload", "text", "is_deleted"])
    live = rows[~rows.is_deleted.fillna(False).astype(bool)].reset_index(drop=True)
    live["fields"] = [parse_payload(p) for p in live.payload]
    return Catalog(live, payload_labels(live))


def _absent(view: LakeView, table: Table) -> str | None:
    """The "not run yet" note when ``table`` has no version for this run."""
    if view.version(table) is not None:
        return None
    when = "did not exist yet at this run" if view.exists(table) else "does not exist"
    return missing(f"{table} {when}", f"run the {table.producer} stage")


def _cluster_members(view: LakeView) -> set[str]:
    if view.version(DEDUP_CLUSTERS) is None:
        return set()
    return set(view.frame(DEDUP_CLUSTERS, ["item_id"]).item_id)


def map_section(view: LakeView, catalog: Catalog | None, colour_by: str | None) -> str:
    if catalog is None or catalog.items.empty:
        return _absent(view, CATALOG_EMBEDDINGS) or note("no live items")
    members = _cluster_members(view)
    ids = _map_sample(list(catalog.items.item_id), members)
    if len(ids) < 3:
        return note("fewer than 3 live items: nothing to map")
    coords, explained = _pca(_vectors(view, ids))
    column = _colour_column(catalog, colour_by)
    fields = dict(zip(catalog.items.item_id, catalog.items.fields, strict=True))
    groups = _groups([str(fields[i].get(column, "")) if column else "all" for i in ids])
    chart = scatter(
        coords, groups, [i in members for i in ids], [catalog.label(i) for i in ids],
        title=f"PCA of {len(ids)} items, coloured by {column or 'nothing'}",
    )  # fmt: skip
    text = (
        f"{view.provenance(CATALOG_EMBEDDINGS)}: {len(ids)} of {len(catalog.items)} live items"
        f" (every dedup cluster member first); the two axes explain {explained:.0%} of the"
        " variance. Ringed points are dedup cluster members; hover a point for its title."
    )
    return note(text) + chart


def _map_sample(ids: list[str], members: set[str]) -> list[str]:
    first = sorted(i for i in ids if i in members)[:MAP_SAMPLE]
    rest = np.array(sorted(i for i in ids if i not in members), dtype=object)
    take = min(MAP_SAMPLE - len(first), len(rest))
    picked = np.random.default_rng(0).choice(rest, size=take, replace=False) if take else []
    return first + sorted(picked)


def _vectors(view: LakeView, ids: list[str]) -> np.ndarray:
    dataset = view.dataset(CATALOG_EMBEDDINGS, ["item_id", "vector"])
    rows = dataset.to_table(columns=["item_id", "vector"], filter=pc.field("item_id").isin(ids))
    order = {item_id: n for n, item_id in enumerate(rows.column("item_id").to_pylist())}
    column = rows.column("vector").combine_chunks()
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
    matrix = flat.reshape(len(column), -1) if len(column) else np.zeros((0, 2))
    return matrix[[order[i] for i in ids]]


def _pca(vectors: np.ndarray) -> tuple[np.ndarray, float]:
    """The 2-D projection and the share of the variance it keeps."""
    from sklearn.decomposition import PCA

    if len(vectors) < 2:
        return np.zeros((len(vectors), 2)), 0.0
    pca = PCA(n_components=2, random_state=0)
    return pca.fit_transform(vectors), float(pca.explained_variance_ratio_.sum())


def _colour_column(catalog: Catalog, chosen: str | None) -> str | None:
    keys: dict[str, set[str]] = {}
    for fields in catalog.items.fields:
        for key, value in fields.items():
            keys.setdefault(key, set()).add(str(value))
    if chosen:
        return chosen if chosen in keys else None
    named = [c for c in COLOUR_COLUMNS if c in keys]
    fitting = [k for k, values in keys.items() if 2 <= len(values) <= 20 and k != "title"]
    return (named or fitting or [None])[0]


def _groups(values: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    top = set(sorted(counts, key=lambda v: (-counts[v], v))[:TOP_GROUPS])
    return [(v or "(empty)") if v in top else "other" for v in values]


def scores_section(view: LakeView, reports: Path, settings: Settings) -> str:
    charts, notes = [], []
    cosine = Marker(settings.dedup.cosine_threshold, "dedup cosine_threshold")
    if view.version(NEIGHBORS) is None:
        notes.append(_absent(view, NEIGHBORS))
    else:
        scores = _column(view, NEIGHBORS, "score")
        title = f"neighbour scores ({view.provenance(NEIGHBORS)})"
        charts.append(histogram(scores, title=title, xlabel="cosine similarity", markers=[cosine]))
    if view.version(DEDUP_PAIRS) is None:
        notes.append(_absent(view, DEDUP_PAIRS))
    else:
        match, strong = _match_thresholds(view, reports, settings)
        where = view.provenance(DEDUP_PAIRS)
        charts.append(
            histogram(
                _column(view, DEDUP_PAIRS, "cosine"),
                xlabel="cosine similarity",
                title=f"candidate pair cosine ({where})",
                markers=[cosine],
            )
        )
        charts.append(
            histogram(
                _column(view, DEDUP_PAIRS, "match_score"),
                title=f"dedup match scores ({where})",
                xlabel="match probability",
                markers=[Marker(match, "match"), Marker(strong, "strong")],
                log_count=True,
            )
        )
    return "".join(n for n in notes if n) + f'<div class="charts">{"".join(charts)}</div>'


def _column(view: LakeView, table: Table, name: str) -> np.ndarray:
    values = view.dataset(table, [name]).to_table(columns=[name]).column(name)
    data = values.to_numpy().astype(np.float64)
    if len(data) > HISTOGRAM_SAMPLE:
        data = np.random.default_rng(0).choice(data, HISTOGRAM_SAMPLE, replace=False)
    return data


def _match_thresholds(view: LakeView, reports: Path, settings: Settings) -> tuple[float, float]:
    """What the dedup run used (its model report), else what the settings say now."""
    model = reports / "dedup" / "model.json"
    commit = view.commit(DEDUP_PAIRS)
    if model.is_file() and commit is not None:
        saved = json.loads(model.read_text())
        if saved.get("run_id") == commit.run_id:
            return saved["match_threshold"], saved["strong_match_threshold"]
    return settings.dedup.threshold(), settings.dedup.strong_threshold()


def clusters_section(view: LakeView, catalog: Catalog | None) -> str:
    absent = _absent(view, DEDUP_CLUSTERS)
    if absent or catalog is None:
        return absent or _absent(view, CATALOG_EMBEDDINGS) or ""
    clusters = view.frame(DEDUP_CLUSTERS, ["item_id", "cluster_id", "is_canonical"])
    if clusters.empty:
        return note("no clusters: no two items matched")
    sizes = clusters.groupby("cluster_id").size()
    largest = sorted(sizes.index, key=lambda c: (-sizes[c], c))[:SHOWN]
    pairs = None
    if view.version(DEDUP_PAIRS) is not None:  # the pairs the clusters' own run decided
        written_by = view.commit(DEDUP_CLUSTERS).run_id
        pairs = view.frame(DEDUP_PAIRS, version=view.version_by(DEDUP_PAIRS, written_by))
    text = note(f"{len(sizes)} clusters, {len(clusters)} items ({view.provenance(DEDUP_CLUSTERS)})")
    cards = [_cluster(c, clusters[clusters.cluster_id == c], pairs, catalog) for c in largest]
    return text + "".join(cards)


def _cluster(cluster_id: str, members: pd.DataFrame, pairs, catalog: Catalog) -> str:
    members = members.sort_values(["is_canonical", "item_id"], ascending=[False, True])
    shown = members.head(CLUSTER_RECORDS)
    ids = list(shown.item_id)
    fields = dict(zip(catalog.items.item_id, catalog.items.fields, strict=True))
    names = list(dict.fromkeys(k for i in ids for k in fields.get(i, {})))
    head = [f"{i} (canonical)" if c else i for i, c in zip(ids, shown.is_canonical, strict=True)]
    rows = [[name, *(fields.get(i, {}).get(name) for i in ids)] for name in names]
    more = f", the first {len(ids)} shown" if len(members) > len(ids) else ""
    html = f"<h3>{escape(cluster_id)}: {len(members)} records{more}</h3>"
    html += table(["field", *head], rows)
    if pairs is not None:
        html += _cluster_pairs(pairs[pairs.a.isin(ids) & pairs.b.isin(ids)])
    return html


def _cluster_pairs(pairs: pd.DataFrame) -> str:
    if pairs.empty:
        return note("no scored pairs of these records in dedup/pairs")
    rows = []
    for pair in pairs.sort_values(["a", "b"]).head(CLUSTER_PAIRS).itertuples():
        scores = dict(pair.field_scores or [])
        levels = dict(pair.field_levels or [])
        detail = ", ".join(f"{k} {_score(v)} (level {levels.get(k)})" for k, v in scores.items())
        rows.append([pair.a, pair.b, pair.cosine, pair.match_score, pair.decision, detail])
    columns = ["a", "b", "cosine", "match score", "decision", "field scores"]
    return table(columns, rows)


def _score(value) -> str:
    return "missing" if value is None or value != value else f"{value:.2f}"


def similar_section(view: LakeView, catalog: Catalog | None) -> str:
    if catalog is None or catalog.items.empty:
        return _absent(view, CATALOG_EMBEDDINGS) or note("no items")
    sources = [t for t in (ITEM_RECS, NEIGHBORS) if view.version(t) is not None]
    if not sources:
        return _absent(view, ITEM_RECS) or ""
    ids = sorted(_sample(list(catalog.items.item_id), 1))
    found = {t: _top(view, t, "item_id", ids) for t in sources}
    cards = []
    for item_id in ids:
        columns, lists = [], []
        for source, frame in found.items():
            mine = frame[frame.item_id == item_id]
            target = "rec_id" if source == ITEM_RECS else "neighbor_id"
            columns += [str(source), "score"]
            lists.append(
                [(catalog.label(i), s) for i, s in zip(mine[target], mine.score, strict=True)]
            )
        cards.append(_card(catalog.label(item_id), columns, lists))
    text = note("; ".join(view.provenance(t) for t in sources))
    return text + f'<div class="cards">{"".join(cards)}</div>'


def _sample(values: list[str], seed: int) -> list[str]:
    take = min(SHOWN, len(values))
    return list(np.random.default_rng(seed).choice(np.array(values, dtype=object), take, False))


def _top(view: LakeView, table: Table, key: str, ids: list[str]) -> pd.DataFrame:
    rows = view.frame(table, None, pc.field(key).isin(ids))
    rows = rows[rows["rank"] <= SHOWN]
    return rows.sort_values([key, "rank"])


def _card(heading: str, columns: list[str], lists: list[list[tuple]]) -> str:
    depth = max((len(x) for x in lists), default=0)
    rows = []
    for n in range(depth):
        row: list = [n + 1]
        for found in lists:
            row += list(found[n]) if n < len(found) else [None, None]
        rows.append(row)
    body = table(["rank", *columns], rows) if rows else note("none")
    return f'<div class="card"><h3>{escape(heading)}</h3>{body}</div>'


def users_section(view: LakeView, catalog: Catalog | None) -> str:
    absent = _absent(view, USER_RECS)
    if absent or catalog is None:
        return absent or _absent(view, CATALOG_EMBEDDINGS) or ""
    users = sorted(set(view.frame(USER_RECS, ["user_id"]).user_id))
    picked = sorted(_sample(users, 2))
    recs = _top(view, USER_RECS, "user_id", picked)
    events = None
    if view.version(EVENTS) is not None:
        columns = ["user_id", "item_id", "event_type", "event_time"]
        events = view.frame(EVENTS, columns, pc.field("user_id").isin(picked))
    cards = [_user(user, recs, events, catalog) for user in picked]
    text = note(f"{len(users)} users with recommendations ({view.provenance(USER_RECS)})")
    return text + f'<div class="cards">{"".join(cards)}</div>'


def _user(user: str, recs: pd.DataFrame, events: pd.DataFrame | None, catalog: Catalog) -> str:
    mine = recs[recs.user_id == user][["rank", "item_id", "score"]].to_numpy()
    given = table(["rank", "recommended", "score"], [[r, catalog.label(i), s] for r, i, s in mine])
    if events is None:
        history = missing(f"{EVENTS} does not exist", "run the embed-events stage")
    else:
        latest = events[events.user_id == user].sort_values("event_time", ascending=False)
        latest = latest.head(HISTORY_EVENTS)[["event_time", "event_type", "item_id"]].to_numpy()
        history = table(
            ["time (UTC)", "event", "item"],
            [[str(t)[:16], e, catalog.label(i)] for t, e, i in latest],
        )
    return (
        f'<div class="card"><h3>user {escape(user)}</h3><h3>recent history</h3>{history}'
        f"<h3>recommendations</h3>{given}</div>"
    )
