"""
### catalog_embeddings

Daily: embed the product catalog (only new or changed rows), validate the vectors with Great
Expectations, publish them to Qdrant behind the `catalog` alias (which moves only when
validation passed), and reconcile Delta with Qdrant.

Each task is a `spark-submit` of a `jobs/` entry point against the `spark_default`
connection; the DAG run's id is stamped on table commits and collection names.
Trigger with `full_refresh=true` to publish a new collection and cut the alias over.
"""

from datetime import datetime

from airflow.sdk import DAG, Param

from pipelines.orchestrate import DEFAULT_ARGS, QDRANT_KEY, spark_job, table_asset

with DAG(
    dag_id="catalog_embeddings",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"full_refresh": Param(False, type="boolean", description="publish a new collection")},
    tags=["embeddings", "catalog", "qdrant"],
    doc_md=__doc__,
) as dag:
    embed = spark_job("embed_catalog", "embed_catalog", outlets=[table_asset("embeddings/catalog")])
    validate = spark_job("validate_catalog", "validate_catalog", terminal=True)
    publish = spark_job(
        "publish_catalog",
        "publish_catalog",
        extra_args=["--full-refresh", "{{ params.full_refresh }}"],
        env_vars=QDRANT_KEY,
    )
    reconcile = spark_job("reconcile_catalog", "reconcile_catalog", env_vars=QDRANT_KEY)
    embed >> validate >> publish >> reconcile
