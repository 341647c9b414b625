"""
### catalog_embeddings

Daily: embed the product catalog (only new or changed rows), validate the vectors with Great
Expectations, publish them to Qdrant behind the `catalog` alias (which moves only when
validation passed), and reconcile Delta with Qdrant. Last, even after a failed task, `maintain`
vacuums the Delta tables and sweeps leftovers, then `run_report` writes the run's HTML report
(the "Run report" tab of the run's page); the run's state is that of the tasks before it.

Each task but the report is a `spark-submit` of `jobs/run_stage.py --stage NAME` against the
`spark_default` connection; the DAG run's id is stamped on table commits and collection names.
Trigger with `full_refresh=true` to publish a new collection and cut the alias over, with
`allow_mass_delete=true` to let the catalog's deletions exceed `[catalog] max_delete_fraction`,
and with `accept_drift=true` to publish a version whose drift check failed (recorded with the
run id in `publish/history`).
"""

from datetime import datetime

from airflow.sdk import DAG, Param

from pipelines.orchestration.dags import (
    DEFAULT_ARGS,
    QDRANT_KEY,
    run_report,
    spark_job,
    table_asset,
)
from pipelines.tables import CATALOG_EMBEDDINGS

with DAG(
    dag_id="catalog_embeddings",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "full_refresh": Param(False, type="boolean", description="publish a new collection"),
        "allow_mass_delete": Param(
            False,
            type="boolean",
            description="allow this run to tombstone more than [catalog] max_delete_fraction"
            " of the live items",
        ),
        "accept_drift": Param(
            False,
            type="boolean",
            description="publish this run's version even if it drifted past [validate]"
            " centroid_shift_fail / stability_fail; recorded in publish/history",
        ),
    },
    tags=["embeddings", "catalog", "qdrant"],
    doc_md=__doc__,
) as dag:
    embed = spark_job(
        "embed-catalog",
        extra_args=["--allow-mass-delete", "{{ params.allow_mass_delete }}"],
        outlets=[table_asset(CATALOG_EMBEDDINGS)],
    )
    validate = spark_job(
        "validate-catalog",
        terminal=True,
        extra_args=["--accept-drift", "{{ params.accept_drift }}"],
        outlets=[table_asset(CATALOG_EMBEDDINGS, validated=True)],
    )
    publish = spark_job(
        "publish-catalog",
        extra_args=["--full-refresh", "{{ params.full_refresh }}"],
        env_vars=QDRANT_KEY,
    )
    reconcile = spark_job("reconcile-catalog", env_vars=QDRANT_KEY)
    # a teardown, not just all_done: a plain last task's success would mark a failed run success
    maintain = spark_job("maintain").as_teardown()
    embed >> validate >> publish >> reconcile >> maintain >> run_report()
