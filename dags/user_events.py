"""
### user_events

Hourly, one data interval per run: ingest that hour's events (bad rows to
`quarantine/events`), recompute the vectors of the users active in it, validate the users
table with Great Expectations, publish it behind the Qdrant `users` alias (which moves only
when validation passed) and reconcile, rebuild the co-occurrence graph, then the users'
recommendations. A re-run of an hour replaces that hour's rows, so clearing a task and
running it again is safe.

Each task is a `spark-submit` of a `jobs/` entry point against the `spark_default`
connection; the data interval travels as `--interval-start/--interval-end`.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable

from pipelines.orchestration.dags import (
    DEFAULT_ARGS,
    INTERVAL_ARGS,
    QDRANT_KEY,
    spark_job,
    table_asset,
)

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
        "embed_events",
        "embed_events",
        extra_args=INTERVAL_ARGS,
        outlets=[table_asset("events/clean"), table_asset("embeddings/users")],
    )
    validate = spark_job(
        "validate_users",
        "validate_users",
        terminal=True,
        outlets=[table_asset("embeddings/users", validated=True)],
    )
    publish = spark_job("publish_users", "publish_users", env_vars=QDRANT_KEY)
    reconcile = spark_job("reconcile_users", "reconcile_users", env_vars=QDRANT_KEY)
    cooc = spark_job(
        "cooccurrence", "cooccurrence", outlets=[table_asset("neighbors/cooccurrence")]
    )
    recs = spark_job("recs_users", "recs_users", outlets=[table_asset("recs/user_to_item")])
    # nothing downstream reads a users table that failed validation
    events >> validate >> [publish, cooc]
    publish >> reconcile
    cooc >> recs
