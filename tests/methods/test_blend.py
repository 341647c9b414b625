"""One scoring of a block of users, ranked at several blend weights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.methods.blend import blend_block
from pipelines.vectors.blocks import write_key_block


def test_each_weight_ranks_the_same_scores_and_seen_items_never_appear(tmp_path):
    keys = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    users = pd.DataFrame(
        {
            "user_id": ["U"],
            "vector": [np.array([1.0, 0.0], dtype=np.float32)],
            "seen": [["a"]],  # nearest by embedding, but seen
            "cooc_ids": [["c"]],
            "cooc_scores": [[1.0]],
        }
    )
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "vector": list(keys)})
    recs = blend_block(users, [write_key_block(tmp_path, items)], [0.0, 1.0], n=2)
    top = recs[recs["rank"] == 1].set_index("weight")["item_id"].to_dict()
    assert top == {0.0: "b", 1.0: "c"}  # embeddings alone, then co-occurrence alone
    assert "a" not in set(recs.item_id) and len(recs) == 4
    assert list(recs.columns) == ["user_id", "rank", "item_id", "score", "weight"]
