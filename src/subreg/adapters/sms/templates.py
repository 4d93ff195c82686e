"""The 1414 reply texts: Jinja2 files by language, the operator's own folder first (setting `sms_templates_dir`).

A template's line breaks and indentation are for whoever edits it: the rendered text is one line with single
spaces (an SMS has no room for layout). Variables are documented at the top of each file; an unknown
variable is an error when rendering (StrictUndefined), so a typo in an edited template fails its test, not
a subscriber's reply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

__all__ = ["TEMPLATE_NAMES", "JinjaReplyTemplates"]

_NO_SPACE_BEFORE_PUNCTUATION = re.compile(r" ([,.;:])")  # left by a template's line breaks
_BUILT_IN = Path(__file__).with_name("templates")
TEMPLATE_NAMES = ("status", "not_registered", "id_numbers", "id_unknown", "help", "rate_limited")


class JinjaReplyTemplates:
    """`render(name, lang, context)`: `<dir>/<lang>/<name>.txt`, the built-in file when the operator has none."""

    def __init__(self, override_dir: Path | None = None, **globals_: Any) -> None:
        folders = [override_dir, _BUILT_IN] if override_dir else [_BUILT_IN]
        self._env = Environment(
            loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
            undefined=StrictUndefined,
            autoescape=False,  # plain text for a phone, never HTML  # noqa: S701
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._env.globals.update(globals_)
        self._cache: dict[tuple[str, str], Any] = {}

    def render(self, name: str, lang: str, context: Mapping[str, Any]) -> str:
        key = (name, lang)
        template = self._cache.get(key)
        if template is None:
            template = self._cache[key] = self._env.get_template(f"{lang}/{name}.txt")
        return _NO_SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(template.render(**context).split()))
