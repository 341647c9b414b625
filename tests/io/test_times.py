"""One rule for an event's time: epoch seconds or ISO-8601, UTC; anything else is null."""

from datetime import UTC, datetime

from pyspark.sql import functions as F

from pipelines.io.times import event_time


def test_epoch_seconds_and_iso_texts_parse_and_the_rest_is_null(spark):
    raw = ["1700000000", "2026-01-02T10:00:00Z", "yesterday", "12", None]
    frame = spark.createDataFrame([(value,) for value in raw], "raw string")
    seconds = F.unix_timestamp(event_time(F.col("raw"))).alias("s")
    parsed = [row.s for row in frame.select(seconds).collect()]
    assert parsed == [
        1700000000,
        int(datetime(2026, 1, 2, 10, 0, tzinfo=UTC).timestamp()),
        None,
        None,  # a small number is not an epoch time: ordinals are refused, not guessed
        None,
    ]
