"""FEBRL3 end to end with default dedup thresholds: the issue's quality bar (F1 >= 0.95)."""

from __future__ import annotations

import json

import pytest

from pipelines.cli.main import main

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_febrl3_dedup_reaches_the_f1_bar(spark, tmp_path):
    config = tmp_path / "pipelines.toml"
    config.write_text('[lake]\nroot = "lake"\n[spark]\nmaster = "local[2]"\n')
    data = ["--data-dir", str(tmp_path / "data"), "--config", str(config)]
    stages = ["embed-catalog", "validate-catalog", "neighbors", "dedup", "evaluate"]
    assert main(["demo", "--dataset", "febrl", *data, *[f"--stage={s}" for s in stages]]) == 0
    report = json.loads((tmp_path / "data/febrl/lakehouse/reports/evaluate/dedup.json").read_text())
    assert report["items"] == 5000 and report["gold_pairs"] == 6538
    assert report["pairwise_f1"] >= 0.95 and report["bcubed_f1"] >= 0.95
