"""spark-submit entry point of the publish-catalog stage.

spark-submit jobs/publish_catalog.py --config pipelines.toml --run-id RUN_ID
"""

import sys

from pipelines.orchestration.runner import run_job


def main(argv: list[str] | None = None) -> int:
    return run_job("publish-catalog", argv)


if __name__ == "__main__":
    sys.exit(main())
