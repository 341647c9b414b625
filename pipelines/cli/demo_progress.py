"""Follow ``airflow dags test`` for ``make demo``: its whole output goes to a log file, and the
terminal gets one line per task as it starts and as it ends (its state and seconds), then the
run's state. A failed run also prints its error lines and the log's path.

    airflow dags test DAG 2>&1 | python -m pipelines.cli.demo_progress DAG --log FILE

Exits 0 only when the output ends with the run finished in state success.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TextIO

# what dag.test() logs per task, and the execution API's state change
STAMP = r"^(?P<at>\d{4}-\d\d-\d\dT[\d:.]+Z?) "
TI = r".*ti_id=(?P<ti>[\w-]+)"
STARTING = re.compile(STAMP + r".*\[DAG TEST\] starting task_id=(?P<task>\S+)")
RUNNING = re.compile(r"\[DAG TEST\] running task <TaskInstance: \S+?\.(?P<task>\S+) " + TI)
STATE = re.compile(STAMP + r".*Task instance state updated .*new_state=(?P<state>\w+)" + TI)
ENDED = re.compile(STAMP + r".*\[DAG TEST\] end task task_id=(?P<task>\S+)")
FINISHED = re.compile(
    STAMP + r".*DagRun Finished: dag_id=[^,]+, .*?run_id=(?P<run>[^,]+), .*?state=(?P<state>\w+)"
)
# the job's own failure line (orchestration.runner), and the last line of a traceback
ERROR = re.compile(r"\berror: |^[\w.]+(?:Exception|Error): ")
LOGGER_SUFFIX = re.compile(r"\s+\[[\w.]+\] loc=\S+$")  # what Airflow's log format appends
TAIL = 20  # lines of the log shown when the run never finished


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Progress:
    """Reads the output line by line and says what each task did; ``ok`` at the end."""

    def __init__(self, dag: str, log_path: Path, out: TextIO):
        self.dag, self.log_path, self.out = dag, log_path, out
        self.started: dict[str, datetime] = {}
        self.tasks: dict[str, str] = {}  # ti id -> task id
        self.states: dict[str, str] = {}  # task id -> its last state
        self.first: datetime | None = None
        self.run: tuple[str, str] | None = None  # run id, state
        self.errors: list[str] = []
        self.tail: list[str] = []

    def say(self, text: str) -> None:
        self.out.write(f"[{self.dag}] {text}\n")
        self.out.flush()

    def feed(self, line: str) -> None:
        line = line.rstrip("\n")
        self.tail = [*self.tail[-(TAIL - 1) :], line]
        stamp = re.match(STAMP, line)
        if stamp and self.first is None:
            self.first = _time(stamp["at"])
        if error := ERROR.search(line):
            message = LOGGER_SUFFIX.sub("", line[error.start() :])
            if message not in self.errors:
                self.errors.append(message)
        if found := STARTING.search(line):
            self.started[found["task"]] = _time(found["at"])
            self.say(f"{found['task']} started")
        elif found := RUNNING.search(line):
            self.tasks[found["ti"]] = found["task"]
        elif found := STATE.search(line):
            if found["ti"] in self.tasks:
                self.states[self.tasks[found["ti"]]] = found["state"].lower()
        elif found := ENDED.search(line):
            task = found["task"]
            seconds = self._seconds(self.started.get(task), found["at"])
            self.say(f"{task} {self.states.get(task, 'ended')} in {seconds}")
        elif found := FINISHED.search(line):
            self.run = (found["run"], found["state"].lower())
            seconds = self._seconds(self.first, found["at"])
            self.say(f"run {found['run']} {self.run[1]} in {seconds}")

    @staticmethod
    def _seconds(since: datetime | None, at: str) -> str:
        return "?" if since is None else f"{(_time(at) - since).total_seconds():.0f} s"

    @property
    def ok(self) -> bool:
        return self.run is not None and self.run[1] == "success"

    def finish(self) -> bool:
        """Print what a failure needs (the log's path, its error lines); whether it succeeded."""
        if self.ok:
            return True
        if self.run is None:
            self.say("the run did not finish; the log ends with:")
            self.out.writelines(f"  {line}\n" for line in self.tail)
        failed = [task for task, state in self.states.items() if state != "success"]
        if failed:
            self.say(f"tasks not successful: {', '.join(failed)}")
        if self.errors:
            self.say("error lines:")
            self.out.writelines(f"  {line[:300]}\n" for line in self.errors[-8:])
        self.say(f"the whole log: {self.log_path}")
        self.out.flush()
        return False


def follow(lines: Iterable[str], dag: str, log_path: Path, out: TextIO = sys.stdout) -> bool:
    """Copy ``lines`` to ``log_path`` and report progress on ``out``; whether the run succeeded."""
    progress = Progress(dag, log_path, out)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        for line in lines:
            log.write(line)
            log.flush()
            progress.feed(line)
    return progress.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dag", help="the DAG id, shown on each line")
    parser.add_argument("--log", type=Path, required=True, help="where the whole output goes")
    args = parser.parse_args(argv)
    return 0 if follow(sys.stdin, args.dag, args.log) else 1


if __name__ == "__main__":
    sys.exit(main())
