"""Cluster ids stay put across runs; canonical records follow the documented rule."""

from __future__ import annotations

from pipelines.methods.clusters import canonical, groups_of, stable_ids


def test_groups_are_connected_components_of_two_or_more():
    groups = groups_of([("a", "b"), ("b", "c"), ("x", "y")])
    assert sorted(groups) == [["a", "b", "c"], ["x", "y"]]
    assert groups_of([]) == []


def test_a_cluster_keeps_its_id_when_it_gains_a_member():
    previous = {"a": "dup-1", "b": "dup-1", "x": "dup-2", "y": "dup-2"}
    ids = stable_ids([["a", "b", "new"], ["x", "y"]], previous)
    assert ids == {"a": "dup-1", "b": "dup-1", "new": "dup-1", "x": "dup-2", "y": "dup-2"}


def test_a_split_cluster_gives_its_id_to_the_larger_part():
    previous = dict.fromkeys(["a", "b", "c", "d", "e"], "dup-1")
    ids = stable_ids([["a", "b"], ["c", "d", "e"]], previous)
    assert ids["c"] == ids["d"] == ids["e"] == "dup-1"
    assert ids["a"] == ids["b"] != "dup-1" and ids["a"].startswith("dup-")


def test_merged_clusters_take_the_majority_id_and_new_ids_are_deterministic():
    previous = {"a": "dup-9", "b": "dup-1", "c": "dup-1"}
    assert set(stable_ids([["a", "b", "c"]], previous).values()) == {"dup-1"}
    first = stable_ids([["p", "q"]], {})
    assert first == stable_ids([["q", "p"]], {}) and first["p"] not in previous.values()


def test_canonical_is_the_longest_text_then_the_smallest_id():
    assert canonical(["b", "a", "c"], {"a": 10, "b": 30, "c": 30}) == "b"
    assert canonical(["b", "a"], {"a": 5, "b": 5}) == "a"


def test_a_chain_of_weak_links_is_not_one_cluster():
    from pipelines.methods.clusters import linked_groups

    chain = [("a", "b", 0.95), ("b", "c", 0.93), ("c", "d", 0.94)]
    groups = linked_groups(chain, strong=0.999)
    assert len(groups) == 2 and ["a", "b", "c", "d"] not in groups
    assert sorted(map(len, groups)) == [2, 2]


def test_strong_links_and_fully_linked_weak_groups_do_join():
    from pipelines.methods.clusters import linked_groups

    strong = [("a", "b", 0.9999), ("b", "c", 0.9995)]  # a star through b: one cluster
    assert linked_groups(strong, strong=0.999) == [["a", "b", "c"]]
    triangle = [("x", "y", 0.95), ("y", "z", 0.93), ("x", "z", 0.92)]
    assert linked_groups(triangle, strong=0.999) == [["x", "y", "z"]]
    # a weak bridge between two strong pairs does not merge them
    bridged = [("p", "q", 0.9999), ("r", "s", 0.9999), ("q", "r", 0.95)]
    assert sorted(linked_groups(bridged, strong=0.999)) == [["p", "q"], ["r", "s"]]
