"""Airflow plugin: each DAG run's HTML report as a "Run report" tab on the run's page, served
by a FastAPI app in the api-server behind Airflow's login (pipelines/orchestration/report_view.py).

Airflow loads it from its plugins folder: ``AIRFLOW__CORE__PLUGINS_FOLDER`` = this folder.
"""

from airflow.plugins_manager import AirflowPlugin

from pipelines.orchestration.report_view import EXTERNAL_VIEW, URL_PREFIX, app


class RunReportPlugin(AirflowPlugin):
    name = "pipelines_run_report"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "pipelines run report"}]
    external_views = [EXTERNAL_VIEW]
