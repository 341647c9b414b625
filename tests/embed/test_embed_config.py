"""The embedding sections' defaults and the columns each key names."""

from __future__ import annotations

from pipelines.embed.config import CatalogConfig, EventsConfig


def test_the_event_type_column_is_optional_and_unset_by_default():
    assert EventsConfig().type_column is None
    assert "type_column" not in EventsConfig().named_columns()


def test_an_empty_type_column_still_turns_it_off():
    assert EventsConfig(type_column="").type_column is None
    assert EventsConfig(type_column="kind").named_columns()["type_column"] == ["kind"]


def test_the_catalog_names_its_columns_by_key():
    cfg = CatalogConfig(id_column="sku", text_template="{name} by {maker}", payload_columns=["p"])
    assert cfg.named_columns() == {
        "id_column": ["sku"],
        "text_template": ["name", "maker"],
        "payload_columns": ["p"],
    }
    assert CatalogConfig().text_template == "{title}"
