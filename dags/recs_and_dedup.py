"""
### recs_and_dedup

After each version of the catalog embeddings that passed validation (the asset
`embeddings_catalog_validated`): build the exact top-k neighbour graph (and its outliers),
cluster near-duplicates, derive item-to-item recommendations, then score dedup and recs
against the labeled data when an evaluation set is configured (`[evaluate] dedup_gold`, or
`[evaluate] recs_items = true`); otherwise `evaluate` is skipped. Last, even after a failed
task, `run_report` writes the run's HTML report (the "Run report" tab of the run's page); the
run's state is that of the tasks before it.

Each task but the gate and the report is a `spark-submit` of `jobs/run_stage.py` against the
`spark_default` connection; the DAG run's id is stamped on table commits.
"""

from datetime import datetime

from airflow.sdk import DAG

from pipelines.orchestration.dags import (
    DEFAULT_ARGS,
    run_report,
    spark_job,
    stage_gate,
    table_asset,
)
from pipelines.tables import CATALOG_EMBEDDINGS, DEDUP_CLUSTERS, ITEM_RECS, NEIGHBORS

with DAG(
    dag_id="recs_and_dedup",
    schedule=[table_asset(CATALOG_EMBEDDINGS, validated=True)],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["embeddings", "catalog", "recs", "dedup"],
    doc_md=__doc__,
) as dag:
    neighbors = spark_job("neighbors", outlets=[table_asset(NEIGHBORS)])
    dedup = spark_job("dedup", outlets=[table_asset(DEDUP_CLUSTERS)])
    recs = spark_job("recs-items", outlets=[table_asset(ITEM_RECS)])
    gate = stage_gate("evaluation_configured", "evaluate")
    evaluate = spark_job("evaluate")
    neighbors >> dedup >> recs >> gate >> evaluate >> run_report()
