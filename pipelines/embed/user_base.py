"""The users base: each user's decayed sums of their clean events before a day (the seal),
so that a run recomputes a user from the base plus the events since the seal, not from the
user's whole history.

The base is exact, not an approximation: decay scales a sum's terms alike, so the sums of the
events before the seal, decayed to a later anchor, equal the terms they stand for. It is
valid for one catalog version (the item vectors it summed), for the events it read (the
clean rows before the seal, counted), and only while no run rewrites a day before its seal.
A run whose window starts on a later day folds the days in between into it (a MERGE of
those days' users); anything else (a new catalog version, an earlier window, a count that
moved, a run without an interval) rebuilds it from every event before the seal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.embed.events import EVENT_DATE
from pipelines.methods.user_vectors import user_sums, weighted_events
from pipelines.runtime.context import RunContext
from pipelines.tables import EVENTS, USER_BASE

log = logging.getLogger(__name__)
SEAL, CATALOG, ROWS = "sealed_before", "catalog_version", "events_before_seal"
Texts = Callable[[DataFrame], DataFrame | None]


@dataclass(frozen=True)
class BaseState:
    """What a base version summed: the clean events dated before ``sealed_before`` (there
    were ``events`` of them), with the vectors of catalog version ``catalog_version``."""

    sealed_before: date
    catalog_version: int
    events: int

    def metadata(self) -> dict[str, object]:
        return {SEAL: self.sealed_before.isoformat(), CATALOG: self.catalog_version,
                ROWS: self.events}  # fmt: skip

    @classmethod
    def of_commit(cls, metadata: dict[str, str]) -> BaseState | None:
        if not {SEAL, CATALOG, ROWS} <= metadata.keys():
            return None
        seal = date.fromisoformat(metadata[SEAL])
        return cls(seal, int(metadata[CATALOG]), int(metadata[ROWS]))


def before(events: DataFrame, seal: date) -> DataFrame:
    return events.filter(F.col(EVENT_DATE) < F.lit(seal))


def since(events: DataFrame, seal: date) -> DataFrame:
    return events.filter(F.col(EVENT_DATE) >= F.lit(seal))


@dataclass
class UserBase:
    """Keeps ``users/base`` sealed at the day a run asks for; ``action`` says what it did."""

    ctx: RunContext
    items: DataFrame
    catalog_version: int
    texts: Texts
    action: str = ""

    def sealed_at(self, seal: date, rebuild: str | None = None) -> DataFrame:
        """The base's rows as of ``seal`` (folded or rebuilt first when needed; ``rebuild``
        names a reason to rebuild whatever the base holds)."""
        lake, events = self.ctx.lake, self.ctx.lake.read(EVENTS)
        state = self._state()
        reason = rebuild or self._stale(state, seal, events)
        if reason:
            log.info("users/base: rebuilding from every event before %s (%s)", seal, reason)
            self.action = f"rebuilt before {seal} ({reason})"
            version = self._write(self._sums(before(events, seal)), seal, events)
        elif state.sealed_before < seal:
            days = since(before(events, seal), state.sealed_before)
            old = lake.read(USER_BASE)
            touched = days.select("user_id").distinct()
            fresh = self._sums(days, base=old.join(touched, "user_id", "semi"))
            self.action = f"folded {state.sealed_before} to {seal}"
            version = self._merge(fresh, seal, events)
        else:
            self.action = f"reused (sealed before {seal})"
            return lake.read(USER_BASE)
        return lake.read(USER_BASE, version)

    def _sums(self, events: DataFrame, base: DataFrame | None = None) -> DataFrame:
        cfg = self.ctx.settings.users
        weighted = weighted_events(events, self.items, cfg, self.texts(events), base)
        return user_sums(weighted, cfg)

    def _state(self) -> BaseState | None:
        lake = self.ctx.lake
        if not lake.exists(USER_BASE):
            return None
        return BaseState.of_commit(lake.commit_metadata(USER_BASE, lake.version(USER_BASE)))

    def _stale(self, state: BaseState | None, seal: date, events: DataFrame) -> str | None:
        if state is None:
            return "no base yet"
        if state.catalog_version != self.catalog_version:
            return f"catalog version {self.catalog_version}, base summed {state.catalog_version}"
        if state.sealed_before > seal:
            return f"the window starts before the seal {state.sealed_before}"
        counted = before(events, state.sealed_before).count()
        if counted != state.events:
            return f"{counted} events before the seal, base summed {state.events}"
        return None

    def _after(self, seal: date, events: DataFrame) -> dict[str, object]:
        return BaseState(seal, self.catalog_version, before(events, seal).count()).metadata()

    def _write(self, sums: DataFrame, seal: date, events: DataFrame) -> int:
        meta = self._after(seal, events)
        return self.ctx.lake.write(sums, USER_BASE, self.ctx.run_id, metadata=meta)

    def _merge(self, sums: DataFrame, seal: date, events: DataFrame) -> int:
        meta = self._after(seal, events)
        return self.ctx.lake.merge(sums, USER_BASE, ["user_id"], self.ctx.run_id, meta)
