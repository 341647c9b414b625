"""spark-submit entry point of the embed-catalog stage.

spark-submit jobs/embed_catalog.py --config pipelines.toml --run-id RUN_ID
"""

from __future__ import annotations

import argparse
import json
import sys

from pipelines.config import load_settings
from pipelines.stages import open_context, run_stages, select_stages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="TOML settings file (default: ./pipelines.toml)")
    parser.add_argument("--run-id", help="stamped on the table commit")
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    with open_context(settings, args.run_id) as ctx:
        results = run_stages(ctx, select_stages(settings, ["embed-catalog"]))
    print(json.dumps([r.as_dict() for r in results], default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
