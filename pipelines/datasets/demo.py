"""Point the settings at a generated demo data set (the bundled sample, or MovieLens-100k)."""

from __future__ import annotations

from pathlib import Path

from pipelines.config import Settings

SAMPLE_TEMPLATE = "{title}. {brand} {category}. {description}"
MOVIELENS_TEMPLATE = "{title} ({year}): {genres}"


def prepare_demo(settings: Settings, dataset: str, data_dir: Path) -> Settings:
    """Write the data set under ``data_dir/<dataset>`` and configure the sources to read it."""
    out = (data_dir / dataset).resolve()
    if dataset == "movielens":
        from pipelines.datasets.movielens import write_movielens

        files = write_movielens(out)
        template, payload = MOVIELENS_TEMPLATE, ["title", "year", "genres"]
    else:
        from pipelines.datasets.sample import generate_sample

        files = generate_sample(out)
        template, payload = SAMPLE_TEMPLATE, ["title", "brand", "category", "price"]
    catalog = settings.catalog.model_copy(
        update={"source": files["catalog"], "format": "csv", "id_column": "item_id",
                "text_template": template, "payload_columns": payload}
    )  # fmt: skip
    events = settings.events.model_copy(update={"source": files["events"], "format": "csv"})
    return settings.model_copy(update={"catalog": catalog, "events": events})
