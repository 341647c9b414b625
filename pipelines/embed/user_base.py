"""The users base: each user's decayed sums of their clean events before a day (the seal),
so that a run recomputes a user from the base plus the events since the seal, not from the
user's whole history.

The base is exact, not an approximation: decay scales a sum's terms alike, so the sums of the
events before the seal, decayed to a later anchor, equal the terms they stand for. A version
is valid for what it summed, which its commit records: the catalog table and version (the
item vectors), the users settings that weigh events, and a digest of the events' files
before the seal (any commit that changes a row there changes it). A run whose window starts
on a later day folds the days in between into it (a MERGE of those days' users); anything
else (a record that differs, a window that starts before the seal, a run without an
interval) rebuilds it from every event before the seal.
"""

from __future__ import annotations

import hashlib
import json
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
SEAL, CATALOG, EVENTS_DIGEST, SETTINGS = (
    "sealed_before", "catalog", "events_digest", "users_settings"
)  # fmt: skip
Texts = Callable[[DataFrame], DataFrame | None]


@dataclass(frozen=True)
class BaseState:
    """What a base version summed: the clean events dated before ``sealed_before`` (their
    files' digest ``events``), with the item vectors of ``catalog`` (table id @ version),
    weighed by the users settings ``settings`` (a digest)."""

    sealed_before: date
    catalog: str
    events: str
    settings: str

    def metadata(self) -> dict[str, object]:
        return {SEAL: self.sealed_before.isoformat(), CATALOG: self.catalog,
                EVENTS_DIGEST: self.events, SETTINGS: self.settings}  # fmt: skip

    @classmethod
    def of_commit(cls, metadata: dict[str, str]) -> BaseState | None:
        if not {SEAL, CATALOG, EVENTS_DIGEST, SETTINGS} <= metadata.keys():
            return None
        seal = date.fromisoformat(metadata[SEAL])
        return cls(seal, metadata[CATALOG], metadata[EVENTS_DIGEST], metadata[SETTINGS])


def settings_digest(ctx: RunContext) -> str:
    """What the sums depend on among the settings: the event weights, the half-life, and
    whether event texts are embedded at all."""
    users, events = ctx.settings.users, ctx.settings.events
    weighed = {
        "event_weights": dict(sorted(users.event_weights.items())),
        "default_event_weight": users.default_event_weight,
        "half_life_days": users.half_life_days,
        "texts": bool(events.text_column) and users.text_weight != 0,
    }
    return hashlib.sha256(json.dumps(weighed, sort_keys=True).encode()).hexdigest()[:16]


def before(events: DataFrame, seal: date) -> DataFrame:
    return events.filter(F.col(EVENT_DATE) < F.lit(seal))


def since(events: DataFrame, seal: date) -> DataFrame:
    return events.filter(F.col(EVENT_DATE) >= F.lit(seal))


@dataclass
class UserBase:
    """Keeps ``users/base`` sealed at the day a run asks for; ``action`` says what it did."""

    ctx: RunContext
    items: DataFrame
    catalog: str
    texts: Texts
    action: str = ""

    def sealed_at(
        self, seal: date, events: DataFrame, events_version: int, rebuild: str | None = None
    ) -> DataFrame:
        """The base's rows as of ``seal`` for ``events`` (EVENTS at ``events_version``),
        folded or rebuilt first when needed; ``rebuild`` names a reason to rebuild whatever
        the base holds."""
        rows, state = self._current()
        reason = rebuild or self._stale(state, seal, events_version)
        if reason:
            log.info("users/base: rebuilding from every event before %s (%s)", seal, reason)
            self.action = f"rebuilt before {seal} ({reason})"
            sums = self._sums(before(events, seal))
            meta = self._summed(seal, events_version)
            version = self.ctx.lake.write(sums, USER_BASE, self.ctx.run_id, metadata=meta)
        elif state.sealed_before < seal:
            days = since(before(events, seal), state.sealed_before)
            touched = days.select("user_id").distinct()
            fresh = self._sums(days, base=rows.join(touched, "user_id", "semi"))
            self.action = f"folded {state.sealed_before} to {seal}"
            meta = self._summed(seal, events_version)
            version = self.ctx.lake.merge(fresh, USER_BASE, ["user_id"], self.ctx.run_id, meta)
        else:
            self.action = f"reused (sealed before {seal})"
            return rows
        return self.ctx.lake.read(USER_BASE, version)

    def _sums(self, events: DataFrame, base: DataFrame | None = None) -> DataFrame:
        cfg = self.ctx.settings.users
        weighted = weighted_events(events, self.items, cfg, self.texts(events), base)
        return user_sums(weighted, cfg)

    def _current(self) -> tuple[DataFrame | None, BaseState | None]:
        """The base's rows and what they summed, of one version: the one this run read, so
        that a write of the base fails if another run changed it meanwhile."""
        lake = self.ctx.lake
        if not lake.exists(USER_BASE):
            return None, None
        rows = lake.read(USER_BASE)
        return rows, BaseState.of_commit(lake.commit_metadata(USER_BASE, lake.inputs[USER_BASE]))

    def _summed(self, seal: date, events_version: int) -> dict[str, object]:
        """The commit metadata of a base sealed at ``seal`` from this run's inputs."""
        digest = self._digest(seal, events_version)
        return BaseState(seal, self.catalog, digest, self._settings).metadata()

    @property
    def _settings(self) -> str:
        return settings_digest(self.ctx)

    def _digest(self, seal: date, events_version: int) -> str:
        """The digest of the events' files dated before ``seal``."""
        return self.ctx.lake.files_digest(
            EVENTS, events_version, EVENT_DATE, lambda day: day is not None and day < str(seal)
        )

    def _stale(self, state: BaseState | None, seal: date, events_version: int) -> str | None:
        if state is None:
            return "no base yet"
        if state.settings != self._settings:
            return "the [users] weights, half-life or event texts changed"
        if state.catalog != self.catalog:
            return f"catalog {self.catalog}, base summed {state.catalog}"
        if state.sealed_before > seal:
            return f"the window starts before the seal {state.sealed_before}"
        if self._digest(state.sealed_before, events_version) != state.events:
            return "the events before the seal changed since the base summed them"
        return None
