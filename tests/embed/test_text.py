from pipelines.embed.config import template_fields
from pipelines.encoder.text import content_hash, normalize_text, render_text


def test_normalize_strips_controls_and_collapses_whitespace():
    assert normalize_text("  Red\t\tbottle\x00\x07 750\u200bml \n\n") == "Red bottle 750 ml"
    assert normalize_text("ＡＣＭＥ") == "ACME"  # NFKC folds full-width letters
    assert normalize_text(None) == ""


def test_each_control_character_alone_becomes_a_space():
    # one control in otherwise printable text must still leave the printable-text fast path
    for control in ("\x00", "\x7f", "\u200b", "\u2028", "\ufeff", "\U000e0001"):
        assert normalize_text(f"caf\u00e9{control}cr\u00e8me") == "caf\u00e9 cr\u00e8me"
    assert normalize_text("caf\u00e9 cr\u00e8me \u00bd") == "caf\u00e9 cr\u00e8me 1\u20442"


def test_normalize_caps_length():
    assert normalize_text("word " * 100, max_chars=12) == "word word wo"


def test_render_fills_template_and_treats_missing_as_empty():
    row = {"title": " Toy  Story ", "year": None, "genres": "Animation"}
    assert render_text("{title} ({year}): {genres}", row) == "Toy Story (): Animation"


def test_render_returns_none_when_every_field_is_empty():
    assert render_text("{title}: {description}", {"title": " \t", "description": "\x00"}) is None


def test_template_fields_in_order_without_repeats():
    assert template_fields("{b} {a} {b}!") == ["b", "a"]


def test_hash_depends_on_text_and_model():
    base = content_hash("red bottle", "m@torch")
    assert base == content_hash("red bottle", "m@torch")
    assert base != content_hash("red bottle!", "m@torch")
    assert base != content_hash("red bottle", "m@torch-bf16")
    assert len(base) == 64
