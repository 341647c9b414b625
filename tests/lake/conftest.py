"""The table engine under test: both engines, delta-spark only where its jar is present."""

from __future__ import annotations

import pytest

from pipelines.lake import LakeConfig, open_lake
from pipelines.lake.delta_spark import delta_jar_available

ENGINES = ["delta-rs", "delta-spark"]


@pytest.fixture(params=ENGINES)
def lake(request, spark, tmp_path):
    if request.param == "delta-spark" and not delta_jar_available(spark):
        pytest.skip(
            "delta-spark jar not on the classpath: it is fetched from Maven at run time,"
            " which these machines cannot reach (runs on clusters that have the jar)"
        )
    return open_lake(spark, LakeConfig(root=tmp_path, engine=request.param))
