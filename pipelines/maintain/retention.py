"""How much history a table's VACUUM keeps: pure arithmetic, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable

# writers' clocks (commit and deletion timestamps) may differ from this host's
MARGIN_HOURS = 1.0


def vacuum_hours(
    window_hours: float, protected_ages_hours: Iterable[float], margin_hours: float = MARGIN_HOURS
) -> int:
    """The retention to VACUUM a table with: the configured window, stretched so that every
    protected version's commit (``protected_ages_hours``: hours since each) lies inside it,
    since a version's files are tombstoned no earlier than its own commit. Whole hours,
    rounded up: deltalake takes an integer and rounding down could cut a protected version."""
    needed = max([window_hours, *(age + margin_hours for age in protected_ages_hours)])
    return math.ceil(needed)


def ages_hours(commit_ms: dict[int, int], versions: Iterable[int], now_ms: int) -> list[float]:
    """Hours since each of ``versions`` was committed (``commit_ms``: version -> commit time);
    versions missing from the log are skipped, as nothing could read them anyway."""
    return [(now_ms - commit_ms[v]) / 3_600_000 for v in versions if v in commit_ms]
