"""Connected components of a graph held as a Spark DataFrame of edges, computed on the
executors by alternating large-star and small-star rounds (Kiveris et al., "Connected
Components in MapReduce and Beyond", 2014): O(log^2 n) rounds, nothing collected.

Nodes are strings; a component is named by its smallest node.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

log = logging.getLogger(__name__)
MAX_ROUNDS = 200  # far above log^2 of any real graph: reaching it means a bug, not a big graph


def _undirected(edges: DataFrame) -> DataFrame:
    """Each edge once as (big, small), self-loops dropped."""
    return (
        edges.select(F.greatest("u", "v").alias("big"), F.least("u", "v").alias("small"))
        .filter(F.col("big") != F.col("small"))
        .distinct()
    )


def _large_star(edges: DataFrame) -> DataFrame:
    """Every node's larger neighbours are linked to its smallest neighbour (or itself)."""
    both = edges.select(F.col("big").alias("u"), F.col("small").alias("v")).unionByName(
        edges.select(F.col("small").alias("u"), F.col("big").alias("v"))
    )
    lowest = both.groupBy("u").agg(F.least(F.min("v"), F.first("u")).alias("m"))
    linked = both.filter(F.col("v") > F.col("u")).join(lowest, "u")
    return _undirected(linked.select(F.col("v").alias("u"), F.col("m").alias("v")))


def _small_star(edges: DataFrame) -> DataFrame:
    """Every node and its smaller neighbours are linked to the smallest of them."""
    lowest = edges.groupBy("big").agg(F.min("small").alias("m"))
    linked = edges.join(lowest, "big").select(F.col("small").alias("u"), F.col("m").alias("v"))
    own = lowest.select(F.col("big").alias("u"), F.col("m").alias("v"))
    return _undirected(linked.unionByName(own))


def _is_star_forest(edges: DataFrame) -> bool:
    """Whether every edge joins a node to its component's smallest node: no node has two
    smaller neighbours and no smaller end is itself the larger end of an edge."""
    twice = edges.groupBy("big").count().filter(F.col("count") > 1).limit(1)
    chained = edges.select(F.col("small").alias("big")).join(edges, "big", "left_semi").limit(1)
    return twice.unionByName(chained.select("big", F.lit(0).cast("long").alias("count"))).isEmpty()


def connected_components(edges: DataFrame) -> DataFrame:
    """(node, component) for every node of ``edges`` (columns u, v), component = smallest
    node reachable from it."""
    current = _undirected(edges).localCheckpoint()
    rounds = 0
    while not _is_star_forest(current):
        rounds += 1
        if rounds > MAX_ROUNDS:
            raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
        current = _small_star(_large_star(current)).localCheckpoint()
    log.debug("connected components: %d rounds", rounds)
    members = current.select(F.col("big").alias("node"), F.col("small").alias("component"))
    roots = current.select(F.col("small").alias("node"), F.col("small").alias("component"))
    return members.unionByName(roots).distinct().localCheckpoint()
