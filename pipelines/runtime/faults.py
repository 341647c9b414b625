"""Named crash points for the reliability suite.

``PIPELINES_CRASH_AT=<name>`` makes the process SIGKILL its whole process group (the Spark
JVM and Python workers included) when it reaches ``crash_point(<name>)``: the same as a
``kill -9`` of the job at that moment. Unset, a crash point is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "PIPELINES_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.killpg(os.getpgrp(), signal.SIGKILL)
