"""The tables in docs/ that the code owns say what the code says (they are written by docs/tables.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _tables() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_tables", DOCS / "tables.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tables = _tables()


@pytest.mark.parametrize(("file", "name"), sorted(tables.TABLES))
def test_the_generated_table_matches_the_code(file, name):
    text = (DOCS / file).read_text(encoding="utf-8")
    assert tables.current(text, name) == tables.TABLES[file, name](), (
        f"docs/{file} ({name}) differs from the code: run `python docs/tables.py` and commit the result"
    )


def test_every_setting_has_a_description():
    from subreg.config import Settings

    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_a_table_is_only_replaced_between_its_markers():
    text = "before\n<!-- generated: x (how) -->\nold\n<!-- end generated: x -->\nafter\n"
    assert tables.replaced(text, "x", "new\n") == (
        "before\n<!-- generated: x (how) -->\nnew\n<!-- end generated: x -->\nafter\n"
    )
    with pytest.raises(ValueError, match="no markers"):
        tables.replaced("no markers here", "x", "new\n")
