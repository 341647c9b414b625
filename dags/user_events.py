"""
### user_events

Hourly, one data interval per run: ingest that hour's events (bad rows to
`quarantine/events`), recompute the vectors of the users active in it, validate the users
table with Great Expectations, publish it behind the Qdrant `users` alias (which moves only
when validation passed) and reconcile, rebuild the co-occurrence graph, then the users'
recommendations. A re-run of an hour replaces that hour's rows, so clearing a task and
running it again is safe. Last, even after a failed task, `run_report` writes the run's HTML
report (the "Run report" tab of the run's page); the run's state is that of the tasks before it.

Each task but the report is a `spark-submit` of `jobs/run_stage.py --stage NAME` against the
`spark_default` connection; the data interval travels as `--interval-start/--interval-end`.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable

from pipelines.orchestration.dags import (
    DEFAULT_ARGS,
    INTERVAL_ARGS,
    QDRANT_KEY,
    run_report,
    spark_job,
    table_asset,
)
from pipelines.tables import COOCCURRENCE, EVENTS, USER_EMBEDDINGS, USER_RECS

with DAG(
    dag_id="user_events",
    # a cron schedule alone gives zero-length intervals in Airflow 3: each run covers the hour
    schedule=CronTriggerTimetable("0 * * * *", timezone="UTC", interval=timedelta(hours=1)),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["embeddings", "users", "recs"],
    doc_md=__doc__,
) as dag:
    events = spark_job(
        "embed-events",
        extra_args=INTERVAL_ARGS,
        outlets=[table_asset(EVENTS), table_asset(USER_EMBEDDINGS)],
    )
    validate = spark_job(
        "validate-users",
        terminal=True,
        outlets=[table_asset(USER_EMBEDDINGS, validated=True)],
    )
    publish = spark_job("publish-users", env_vars=QDRANT_KEY)
    reconcile = spark_job("reconcile-users", env_vars=QDRANT_KEY)
    cooc = spark_job("cooccurrence", outlets=[table_asset(COOCCURRENCE)])
    recs = spark_job("recs-users", outlets=[table_asset(USER_RECS)])
    # nothing downstream reads a users table that failed validation
    events >> validate >> [publish, cooc]
    publish >> reconcile
    cooc >> recs
    [reconcile, recs] >> run_report()
