"""Configuration of the neighbour graph, the outlier rule and their block sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class NeighborsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=50, ge=1, le=1000)
    # a task holds query_block_rows x key_block_rows float32 scores (2048 x 16384: 128 MiB)
    query_block_rows: int = Field(default=2048, ge=1)
    key_block_rows: int = Field(default=16384, ge=1)
    # key blocks (.npy) and the ann index are staged here: the driver and every executor
    # must be able to read it; default <lake.root>/_work/neighbors
    staging_dir: Path | None = None
    # outliers: best-neighbour score below median - outlier_mads * MAD of all best scores
    outlier_mads: float = Field(default=4.0, gt=0.0)
    # "auto": the approximate (ann) graph above ann_min_items live items, exact up to it
    # (exact costs n^2: 100k items take about a minute on 2 cores, 1M would take hours)
    method: Literal["exact", "ann", "auto"] = "auto"
    ann_min_items: int = Field(default=200_000, ge=0)
    # every ann run measures recall@k against exact on a sample; below this it fails unwritten
    ann_min_recall: float = Field(default=0.95, gt=0.0, le=1.0)
    # IVF lists of the ann index; default about 4 x sqrt(items)
    ann_nlist: int | None = Field(default=None, ge=1)
    # lists each query scans; default: the smallest power of two that reaches ann_min_recall
    # (plus a margin) on a tuning sample
    ann_nprobe: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _nprobe_within_nlist(self) -> NeighborsConfig:
        if self.ann_nprobe and self.ann_nlist and self.ann_nprobe > self.ann_nlist:
            raise ValueError(
                f"neighbors.ann_nprobe ({self.ann_nprobe}) must be <= neighbors.ann_nlist"
                f" ({self.ann_nlist}): a query scans at most every list; lower ann_nprobe"
                " or raise ann_nlist"
            )
        return self
