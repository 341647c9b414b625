"""Point the settings at a demo data set: the bundled sample, MovieLens-100k (recommendations,
evaluated leave-last-out) or FEBRL1-3 (deduplication, evaluated against its true pairs)."""

from __future__ import annotations

from pathlib import Path

from pipelines.config import Settings
from pipelines.datasets.sample import SAMPLE_DEDUP_FIELDS, SAMPLE_TEMPLATE

MOVIELENS_TEMPLATE = "{title} ({year}): {genres}"


def prepare_demo(settings: Settings, dataset: str, data_dir: Path) -> Settings:
    """Write the data set under ``data_dir/<dataset>`` and configure the sources to read it."""
    out = (data_dir / dataset).resolve()
    if dataset.startswith("febrl"):
        return _febrl(settings, out, int(dataset[5:] or 3))
    update: dict = {}
    if dataset == "movielens":
        from pipelines.datasets.movielens import write_movielens

        files = write_movielens(out)
        template, payload = MOVIELENS_TEMPLATE, ["title", "year", "genres"]
        update["evaluate"] = settings.evaluate.model_copy(
            update={"recs_items": True, "recs_users": True}
        )
        # a duplicate is (nearly) the same title of the same year; remakes and sequels are
        # not, and short titles need a strict threshold to keep "Fan, The" from "Craft, The"
        update["dedup"] = settings.dedup.model_copy(
            update={"fields": {"title": 3.0, "year": 1.0}, "exact_fields": ["year"],
                    "match_threshold": 0.9}
        )  # fmt: skip
    else:
        from pipelines.datasets.sample import generate_sample, write_planted_pairs

        files = generate_sample(out)
        template, payload = SAMPLE_TEMPLATE, ["title", "brand", "category", "price"]
        update["dedup"] = settings.dedup.model_copy(update={"fields": SAMPLE_DEDUP_FIELDS})
        gold = write_planted_pairs(files["duplicates"], out / "planted_pairs.csv")
        update["evaluate"] = settings.evaluate.model_copy(update={"dedup_gold": gold})
    catalog = settings.catalog.model_copy(
        update={"source": files["catalog"], "format": "csv", "id_column": "item_id",
                "text_template": template, "payload_columns": payload}
    )  # fmt: skip
    events = settings.events.model_copy(update={"source": files["events"], "format": "csv"})
    return settings.model_copy(update={"catalog": catalog, "events": events, **update})


def _febrl(settings: Settings, out: Path, version: int) -> Settings:
    from pipelines.datasets.febrl import FEBRL_DEDUP_FIELDS, FEBRL_TEMPLATE, write_febrl

    files = write_febrl(out, version)
    catalog = settings.catalog.model_copy(
        update={"source": files["records"], "format": "csv", "id_column": "rec_id",
                "text_template": FEBRL_TEMPLATE, "payload_columns": ["given_name", "surname"]}
    )  # fmt: skip
    dedup = settings.dedup.model_copy(update={"fields": list(FEBRL_DEDUP_FIELDS)})
    evaluate = settings.evaluate.model_copy(update={"dedup_gold": files["gold"]})
    return settings.model_copy(update={"catalog": catalog, "dedup": dedup, "evaluate": evaluate})
