"""The 1414 reply templates: every built-in one renders in both languages, the operator's folder comes first,
a typo in an edited template fails loudly, and the text sent is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError

from subreg.adapters.sms.templates import TEMPLATE_NAMES, JinjaReplyTemplates

GLOBALS = {"operator": "MobiDemo", "update_where": "cửa hàng", "short_code": "1414"}
CONTEXTS = {
    "status": {
        "msisdn": "0*****4567",
        "name": "Nguyễn Thị Ánh",
        "birth": "1990",
        "id_number": "********3456",
        "issue_place": "Cục Cảnh sát",
        "complete": False,
        "state": "one_way_locked",
        "missing": ["ảnh chân dung", "nơi cấp"],
        "contract_needed": True,
    },
    "not_registered": {"msisdn": "0*****4567"},
    "id_numbers": {
        "id_masked": "********3456",
        "lines": [{"msisdn": "0*****4567", "state": "complete"}, {"msisdn": "0*****4568", "state": "x"}],
    },
    "id_unknown": {"id_masked": "********3456"},
    "help": {"reason": "unknown_keyword"},
    "rate_limited": {},
}


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_built_in_template_renders_as_one_line(name, lang):
    text = JinjaReplyTemplates(None, **GLOBALS).render(name, lang, CONTEXTS[name])
    assert text
    assert "\n" not in text
    assert "  " not in text
    assert " ," not in text
    assert " ." not in text


def test_a_status_reply_says_what_is_missing_and_the_lock():
    text = JinjaReplyTemplates(None, **GLOBALS).render("status", "vi", CONTEXTS["status"])
    assert "ảnh chân dung, nơi cấp" in text
    assert "khóa một chiều" in text
    assert "hợp đồng" in text


def test_the_operators_folder_comes_first_and_the_rest_stays_built_in(tmp_path: Path):
    (tmp_path / "vi").mkdir()
    (tmp_path / "vi" / "help.txt").write_text("Soan TTTB gui {{ short_code }} ({{ operator }})", encoding="utf-8")
    templates = JinjaReplyTemplates(tmp_path, **GLOBALS)
    assert templates.render("help", "vi", {"reason": "help"}) == "Soan TTTB gui 1414 (MobiDemo)"
    built_in = JinjaReplyTemplates(None, **GLOBALS).render("rate_limited", "vi", {})
    assert templates.render("rate_limited", "vi", {}) == built_in


def test_an_unknown_variable_in_an_edited_template_fails(tmp_path: Path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "help.txt").write_text("Send {{ shortcode }}", encoding="utf-8")
    with pytest.raises(UndefinedError):
        JinjaReplyTemplates(tmp_path, **GLOBALS).render("help", "en", {"reason": "help"})
