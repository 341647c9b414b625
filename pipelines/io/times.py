"""The one rule for an event's time, wherever events are read."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


def event_time(raw: Column) -> Column:
    """Epoch seconds (digits) or an ISO-8601 text as a UTC timestamp; null when neither."""
    text = F.trim(raw.cast("string"))
    epoch = F.when(text.rlike(r"^\d{9,11}$"), F.timestamp_seconds(text.cast("long")))
    return F.coalesce(epoch, F.try_to_timestamp(text))
