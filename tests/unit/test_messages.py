"""Every error code subreg can emit has a message in Vietnamese and English that names no value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from subreg.domain.common.messages import CODES, LANGS, field_label, message_for

SRC = Path(__file__).resolve().parents[2] / "src" / "subreg"
_EMITTED = re.compile(r'FieldError\([^,()]+, "([a-z_]+)"|^\s+code = "([a-z_]+)"|codes\.append\("([a-z_]+)"\)', re.M)


def _emitted_codes() -> set[str]:
    codes: set[str] = set()
    for path in SRC.rglob("*.py"):
        for match in _EMITTED.finditer(path.read_text(encoding="utf-8")):
            codes.update(g for g in match.groups() if g)
    return codes


def test_the_scan_finds_codes():
    # Control: if the regular expression stopped matching, the next test would pass vacuously.
    assert {"invalid_msisdn", "contract_required", "unreadable_input"} <= _emitted_codes()


@pytest.mark.parametrize("code", sorted(_emitted_codes()))
def test_every_emitted_code_has_a_message(code):
    assert code in CODES, f"no message for {code}"


@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("lang", LANGS)
def test_messages_render_with_a_label_and_differ_by_language(code, lang):
    text = message_for(code, "holder.id_number", lang)
    assert "{" not in text
    assert text != message_for(code, "holder.id_number", "en" if lang == "vi" else "vi")


def test_vietnamese_labels_are_used():
    assert field_label("holder.birth_year") == "năm sinh"
    assert "năm sinh" in message_for("birth_year_mismatch", "holder.birth_year")
    assert field_label("holder.birth_year", "en") == "holder.birth_year"
