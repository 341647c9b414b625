"""spark-submit entry point of the reconcile-users stage.

spark-submit jobs/reconcile_users.py --config pipelines.toml --run-id RUN_ID
"""

import sys

from pipelines.orchestration.runner import run_job


def main(argv: list[str] | None = None) -> int:
    return run_job("reconcile-users", argv)


if __name__ == "__main__":
    sys.exit(main())
