"""spark-submit entry point of the maintain stage (Delta VACUUM, leftovers swept).

spark-submit jobs/maintain.py --config pipelines.toml --run-id RUN_ID
"""

import sys

from pipelines.orchestration.runner import run_job


def main(argv: list[str] | None = None) -> int:
    return run_job("maintain", argv)


if __name__ == "__main__":
    sys.exit(main())
