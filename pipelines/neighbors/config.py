"""Configuration of the neighbour graph, the outlier rule and their block sizes."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class NeighborsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=50, ge=1, le=1000)
    # a task holds query_block_rows x key_block_rows float32 scores (2048 x 16384: 128 MiB)
    query_block_rows: int = Field(default=2048, ge=1)
    key_block_rows: int = Field(default=16384, ge=1)
    # key blocks are staged here as .npy files every executor must be able to read;
    # default <lake.root>/_work/neighbors
    staging_dir: Path | None = None
    # outliers: best-neighbour score below median - outlier_mads * MAD of all best scores
    outlier_mads: float = Field(default=4.0, gt=0.0)
