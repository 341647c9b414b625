"""A stand-in ``spark-submit`` for tests: it records each call (the stage, the application,
the arguments and the job's PIPELINES__* environment) and exits with the code the test chose
for that stage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCRIPT = """#!{python}
import json, os, sys
argv = sys.argv[1:]
app = next((a for a in argv if a.endswith(".py")), None)
stage = argv[argv.index("--stage") + 1] if "--stage" in argv else "?"
job = stage.replace("-", "_")
env = {{k: v for k, v in os.environ.items() if k.startswith("PIPELINES__")}}
with open(os.environ["FAKE_SPARK_CALLS"], "a") as calls:
    calls.write(json.dumps({{"job": job, "application": app, "argv": argv, "env": env}}) + "\\n")
sys.exit(int(os.environ.get("FAKE_SPARK_EXIT_" + job, "0")))
"""


def fake_spark_submit(folder: Path, **exit_codes: int) -> dict:
    """Environment entries that put a fake ``spark-submit`` first on PATH; ``exit_codes`` by
    stage, with '_' for '-' as in task ids (``embed_catalog=2``), 0 for the others."""
    bin_dir = folder / "fake-bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "spark-submit"
    script.write_text(SCRIPT.format(python=sys.executable))
    script.chmod(0o755)
    return {
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "FAKE_SPARK_CALLS": str(folder / "calls.jsonl"),
        **{f"FAKE_SPARK_EXIT_{job}": str(code) for job, code in exit_codes.items()},
    }


def spark_calls(env: dict) -> list[dict]:
    """The calls the fake recorded, in order; ``job`` is the stage with '_' for '-'."""
    path = Path(env["FAKE_SPARK_CALLS"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
