"""spark-submit entry point of the recs-items stage.

spark-submit jobs/recs_items.py --config pipelines.toml --run-id RUN_ID
"""

import sys

from pipelines.orchestration.runner import run_job


def main(argv: list[str] | None = None) -> int:
    return run_job("recs-items", argv)


if __name__ == "__main__":
    sys.exit(main())
