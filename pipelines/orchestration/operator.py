"""The SparkSubmitOperator every pipelines task runs.

A job's exit code decides whether Airflow retries (see orchestration.runner), secrets stay off
the spark-submit command line, Spark logs at WARN (jobs/log4j2.properties), and the result line
the job prints becomes the ``extra`` of the task's asset events. Imported by ``dags.spark_job``
when a task is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from pipelines.orchestration.runner import TERMINAL
from pipelines.orchestration.verdict import asset_extra, result_from_line
from pipelines.runtime.context import StageResult
from pipelines.runtime.redact import is_secret_name
from pipelines.runtime.spark_config import with_log_config

# Spark's default pattern plus API keys: Spark masks matching conf and env entries in its UI,
# event logs and its own log lines
REDACTION_REGEX = "(?i)secret|password|token|access[.]?key|api[._-]?key"

_ERROR_CODE = re.compile(r"Error code is: (-?\d+)")


class SparkJobOperator(SparkSubmitOperator):
    """spark-submit of a ``jobs/`` entry point.

    Exit 2 (terminal: bad config or input, failed validation) fails the task without retries;
    75 (transient) and any other failure are left to the task's retries. On YARN and
    Kubernetes, secret-named ``env_vars`` are dropped, as the hook would pass them as --conf.
    """

    def __init__(self, *, conf: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(conf=with_log_config(with_redaction(conf)), **kwargs)
        self._result: StageResult | None = None

    def execute(self, context: Any) -> Any:
        self._result = None
        try:
            returned = super().execute(context)
        except AirflowException as exc:
            if exit_code(self._hook, exc) != TERMINAL:
                raise
            raise AirflowFailException(
                f"stage {self._stage()}: terminal failure (exit 2): "
                "see the task log's last `error:` line"
            ) from exc
        self._add_asset_extra(context)
        return returned

    def _add_asset_extra(self, context: Any) -> None:
        """Rows and table version of the job's result on each outlet's asset event (a job in
        cluster mode prints its result where this task cannot read it: no extra then)."""
        events = context.get("outlet_events")
        if self._result is None or events is None:
            return
        extra = asset_extra(self._result, context.get("run_id"))
        for asset in self.outlets or []:
            events[asset].extra = dict(extra)

    def _remember_result(self, lines: Iterator[str]) -> Iterator[str]:
        """Pass spark-submit's output on, keeping the job's result line."""
        stage = self._stage()
        for line in lines:
            self._result = result_from_line(line, stage) or self._result
            yield line

    def _stage(self) -> str:
        """The ``--stage`` this task runs (every task runs the same application)."""
        args = [str(arg) for arg in self.application_args or []]
        if "--stage" in args[:-1]:
            return args[args.index("--stage") + 1]
        return Path(self.application).stem

    def _get_hook(self) -> SparkSubmitHook:
        hook = super()._get_hook()
        secrets = [k for k, v in (self.env_vars or {}).items() if v and is_secret_name(k)]
        if secrets and (hook._is_yarn or hook._is_kubernetes):
            self._warn_dropped(secrets)
            self.env_vars = {k: v for k, v in self.env_vars.items() if k not in secrets}
            hook = super()._get_hook()
        # the hook reads spark-submit's output in this one method; the result line is in it
        process_log = hook._process_spark_submit_log
        hook._process_spark_submit_log = lambda lines: process_log(self._remember_result(lines))
        return hook

    def _warn_dropped(self, names: list[str]) -> None:
        for name in names:
            self.log.warning(
                "%s is not passed to the job: on YARN or Kubernetes spark-submit would put it on "
                "its command line, visible in process listings, logs and the Spark UI. Supply it "
                "through a file ([qdrant] api_key_file, or %s_FILE) or, on Kubernetes, a secret "
                "(spark.kubernetes.driver.secretKeyRef.%s=<secret>:<key> in the Spark conf)",
                name,
                name,
                name,
            )


def with_redaction(conf: dict[str, Any] | None) -> dict[str, Any]:
    """``conf`` with a ``spark.redaction.regex`` that also covers API keys (a task's own
    pattern is kept, widened)."""
    conf = dict(conf or {})
    own = conf.get("spark.redaction.regex")
    conf["spark.redaction.regex"] = f"{REDACTION_REGEX}|{own}" if own else REDACTION_REGEX
    return conf


def exit_code(hook: SparkSubmitHook | None, error: Exception) -> int | None:
    """The job's exit code: the driver pod's in Kubernetes cluster mode, else spark-submit's
    (the driver's own in client mode); read from the error's text if the hook keeps neither."""
    driver = getattr(hook, "_spark_exit_code", None)
    if driver:
        return driver
    returncode = getattr(getattr(hook, "_submit_sp", None), "returncode", None)
    if returncode is not None:
        return returncode
    found = _ERROR_CODE.search(str(error))
    return int(found.group(1)) if found else None
