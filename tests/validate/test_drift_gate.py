"""The drift gate on a published lake: a new text template is expected drift, a refused
version says how to let it through, and --accept-drift does so on the record."""

from __future__ import annotations

import re

import pytest
from helpers.data import make_catalog
from helpers.pipeline_lake import ALL, build_golden

from pipelines.publish.errors import NotValidatedError
from pipelines.validate.errors import ValidationFailed
from pipelines.vectorstore.history import publications

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def golden(spark, tmp_path_factory):
    return build_golden(spark, tmp_path_factory.mktemp("golden"))


@pytest.fixture
def lake(golden, tmp_path):
    copy = golden.copy_to(tmp_path / "lake-copy")
    cfg = copy.settings.validate
    cfg.centroid_shift_warn = cfg.centroid_shift_fail = 1e-9  # any change at all fails
    yield copy
    copy.ctx.close()


def _page(lake) -> str:
    return (
        lake.settings.lake.root / "reports" / "data_docs" / "catalog" / "index.html"
    ).read_text()


def test_a_new_text_template_is_expected_drift(lake):
    before = lake.alias_target
    lake.settings.catalog.text_template = "{description} ({title})"
    _, validated, published = lake.run(*ALL)
    assert validated.details["drift"] == "expected"
    assert (
        "text_template changed from '{title} by {brand}: {description}'"
        in (validated.details["drift_message"])
    )
    assert published.details["mode"] == "staged" and lake.alias_target != before
    assert "passed (expected drift)" in _page(lake)


def test_a_drifted_version_is_refused_until_accepted_and_the_acceptance_is_recorded(lake):
    changed = make_catalog(60)
    changed.loc[changed.index < 30, "title"] = "Something else entirely"
    lake.write_source(changed)
    with pytest.raises(ValidationFailed) as refused:
        lake.run(*ALL)
    message = str(refused.value)
    assert "pipelines run --accept-drift" in message
    assert "trigger catalog_embeddings with accept_drift = true" in message
    assert "[validate]: centroid_shift_fail = 1e-09, stability_fail = 0.7" in message
    page = _page(lake)
    assert "Succeeded" not in page and "Failed (refused by the drift check)" in page
    assert not re.search(r"<(link|script)\b[^>]*https?:", page) and "https://" not in page
    with pytest.raises(NotValidatedError):
        lake.run("publish-catalog")

    lake.ctx.accept_drift = "alice"
    validated, published = lake.run("validate-catalog", "publish-catalog")
    assert validated.details["drift"] == "accepted"
    assert validated.details["drift_accepted_by"] == "alice"
    assert published.details["drift_accepted_by"] == "alice"
    last = publications(lake.ctx.lake, "catalog")[-1]
    assert (last.table_version, last.drift_accepted_by) == (published.table_version, "alice")
    assert last.drift_accepted_at is not None
    assert "accepted by alice" in _page(lake)
