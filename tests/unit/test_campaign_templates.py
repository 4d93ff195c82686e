"""The campaign reminder template: both languages render as one line, name the wave only when there are several,
and take no personal data (an unknown variable fails the render: a template cannot use one by mistake)."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from subreg.adapters.sms.templates import JinjaReplyTemplates

GLOBALS = {"operator": "MobiDemo", "update_where": "cửa hàng", "short_code": "1414"}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_reminder_renders_as_one_line_in_both_languages(lang):
    text = JinjaReplyTemplates(None, **GLOBALS).render("campaign_reminder", lang, {"wave": 1, "waves": 1})
    assert text.startswith("MobiDemo")
    assert "TTTB" in text
    assert "1414" in text
    assert "\n" not in text
    assert "  " not in text
    assert "(1/1)" not in text
    assert "lần 1" not in text


def test_the_wave_is_named_when_there_are_several():
    templates = JinjaReplyTemplates(None, **GLOBALS)
    assert "(lần 2/5)" in templates.render("campaign_reminder", "vi", {"wave": 2, "waves": 5})
    assert "(2/5)" in templates.render("campaign_reminder", "en", {"wave": 2, "waves": 5})


def test_it_needs_nothing_but_the_wave():
    with pytest.raises(UndefinedError):
        JinjaReplyTemplates(None, **GLOBALS).render("campaign_reminder", "vi", {"wave": 1})
