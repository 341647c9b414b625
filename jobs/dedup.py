"""spark-submit entry point of the dedup stage.

spark-submit jobs/dedup.py --config pipelines.toml --run-id RUN_ID
"""

import sys

from pipelines.orchestration.runner import run_job


def main(argv: list[str] | None = None) -> int:
    return run_job("dedup", argv)


if __name__ == "__main__":
    sys.exit(main())
