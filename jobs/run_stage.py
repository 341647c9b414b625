"""The spark-submit entry point of every stage.

    spark-submit jobs/run_stage.py --stage neighbors --config pipelines.toml --run-id RUN_ID

Exit codes: 0 done, 2 terminal (bad config or input, failed validation), 75 transient (a
retry may succeed), 1 unexpected. ``--help`` lists the stages and options.
"""

import sys

from pipelines.orchestration.runner import run_job

if __name__ == "__main__":
    sys.exit(run_job())
