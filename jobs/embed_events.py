"""spark-submit entry point of the embed-events stage.

spark-submit jobs/embed_events.py --config pipelines.toml --run-id RUN_ID
"""

import sys

from pipelines.orchestration.runner import run_job


def main(argv: list[str] | None = None) -> int:
    return run_job("embed-events", argv)


if __name__ == "__main__":
    sys.exit(main())
