"""``dedup/clusters`` computed on the executors: nothing that grows with the catalog reaches
the driver.

Clusters, their ids and canonical records follow ``methods.clusters`` exactly. The only
coupling between groups is a previous cluster id two of them may both claim, so each
connected component of the matches plus (member, previous id) edges is clustered on its own
in one task. A new id that happens to equal a previous id outside its component is renamed
afterwards, as the single-machine rule would have named it.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StructField, StructType

from pipelines.methods.clusters import CLUSTER_SCHEMA, cluster_rows, next_free_id
from pipelines.methods.spark_components import connected_components

# previous cluster ids become graph nodes; the prefix keeps them apart from item ids
PREVIOUS = "\x00previous:"
COMPONENT_CLUSTERS = StructType([*CLUSTER_SCHEMA.fields, StructField("fresh", BooleanType())])


def _component(strong: float, matches: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """One component's clusters, and which ids are new (not a member's previous id)."""
    triples = list(zip(matches.a, matches.b, matches.match_score.astype(float), strict=True))
    lengths = dict(zip(members.item_id, members.text_length.fillna(0).astype(int), strict=True))
    known = members.dropna(subset=["cluster_id"])
    previous = dict(zip(known.item_id, known.cluster_id, strict=True))
    rows = cluster_rows(triples, strong, lengths, previous)
    rows["fresh"] = ~rows.cluster_id.isin(set(previous.values()))
    return rows


def _per_component(strong: float):
    def run(_key, matches: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
        return _component(strong, matches, members)

    return run


def spark_clusters(
    matches: DataFrame, lengths: DataFrame, previous: DataFrame, strong: float
) -> DataFrame:
    """(item_id, cluster_id, is_canonical) of the accepted ``matches`` (a, b, match_score);
    ``lengths``: item_id, text_length; ``previous``: last run's item_id, cluster_id."""
    items = matches.select(F.col("a").alias("item_id")).unionByName(
        matches.select(F.col("b").alias("item_id"))
    )
    items = items.distinct()
    claims = items.join(previous, "item_id").select(
        F.col("item_id").alias("u"), F.concat(F.lit(PREVIOUS), "cluster_id").alias("v")
    )
    edges = matches.select(F.col("a").alias("u"), F.col("b").alias("v")).unionByName(claims)
    component = connected_components(edges).withColumnRenamed("node", "item_id")
    members = (
        items.join(component, "item_id")
        .join(previous, "item_id", "left")
        .join(lengths, "item_id", "left")
    )
    of_pair = component.select(F.col("item_id").alias("a"), F.col("component").alias("key"))
    pairs = matches.join(of_pair, "a")  # its own key column: cogroup cannot tell two apart
    grouped = pairs.groupBy("key").cogroup(members.groupBy("component"))
    clusters = grouped.applyInPandas(_per_component(strong), COMPONENT_CLUSTERS)
    return _renamed_collisions(clusters.localCheckpoint(), previous)


def _renamed_collisions(clusters: DataFrame, previous: DataFrame) -> DataFrame:
    """New ids that equal a previous id held outside their component get the next free one."""
    old = previous.select("cluster_id").distinct()
    fresh = clusters.filter("fresh").select("cluster_id").distinct()
    clashes = [r.cluster_id for r in fresh.join(old, "cluster_id", "left_semi").collect()]
    result = clusters.drop("fresh")
    if not clashes:
        return result
    renames = []
    for clash in clashes:
        base = clash.rsplit("-", 1)[0] if clash.count("-") > 1 else clash
        near = old.unionByName(fresh).filter(F.col("cluster_id").startswith(base))
        renames.append((clash, next_free_id(base, {r.cluster_id for r in near.collect()})))
    mapping = result.sparkSession.createDataFrame(renames, "cluster_id string, renamed string")
    renamed = F.when(F.col("fresh"), F.coalesce("renamed", "cluster_id"))
    return clusters.join(F.broadcast(mapping), "cluster_id", "left").select(
        "item_id", renamed.otherwise(F.col("cluster_id")).alias("cluster_id"), "is_canonical"
    )
