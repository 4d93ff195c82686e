"""Write the tables the documentation takes from the code, between their markers.

    python docs/tables.py           # rewrite them in place
    python docs/tables.py --check   # exit 1 and name the stale ones (tests/unit/test_docs_tables.py does the same)

Each table sits in a Markdown file between `<!-- generated: NAME ... -->` and `<!-- end generated: NAME -->`;
everything outside the markers is written by hand.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

DOCS = Path(__file__).resolve().parent


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("{field}", "…")


def error_codes() -> str:
    """Every error code with its messages, from `subreg.domain.common.messages`."""
    from subreg.domain.common.messages import CODES, SUMMARIES

    lines = [
        "Per field, in `errors[]` of an API error and of a check result, on the pages and on the command line",
        f"({len(CODES)} codes; `…` stands for the field's name):",
        "",
        "| code | message (vi) | message (en) |",
        "|---|---|---|",
        *(f"| `{code}` | {_cell(vi)} | {_cell(en)} |" for code, (vi, en) in sorted(CODES.items())),
        "",
        f"Heading an API error response, as `error.code` and `error.message` ({len(SUMMARIES)} codes):",
        "",
        "| code | message (vi) | message (en) |",
        "|---|---|---|",
        *(f"| `{code}` | {_cell(vi)} | {_cell(en)} |" for code, (vi, en) in sorted(SUMMARIES.items())),
    ]
    return "\n".join(lines) + "\n"


def _default(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def settings() -> str:
    """Every setting of `subreg.config.Settings`: its variable, default and description."""
    from subreg.config import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    lines = [
        f"{len(Settings.model_fields)} settings:",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        meaning = field.description or ""
        choices = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
        if len(choices) > 1:
            meaning += "; one of " + ", ".join(f"`{v}`" for v in choices)
        lines.append(f"| `{prefix}{name.upper()}` | {_default(field.default)} | {_cell(meaning)} |")
    return "\n".join(lines) + "\n"


# (file under docs/, marker name) -> what renders the table
TABLES: dict[tuple[str, str], Callable[[], str]] = {
    ("rules.md", "error-codes"): error_codes,
    ("configuration.md", "settings"): settings,
}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated: {re.escape(name)}\b[^>]*-->\n)(.*?)(<!-- end generated: {re.escape(name)} -->)", re.S
    )


def current(text: str, name: str) -> str:
    """What stands between the markers of table `name` in `text` (ValueError when the markers are missing)."""
    match = _block(name).search(text)
    if match is None:
        raise ValueError(f"no markers for {name!r}")
    return match.group(2)


def replaced(text: str, name: str, body: str) -> str:
    """`text` with table `name` replaced by `body`."""
    current(text, name)
    return _block(name).sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


def stale() -> list[str]:
    """The tables whose text differs from what the code renders, as "file: name"."""
    out = []
    for (file, name), render in TABLES.items():
        if current((DOCS / file).read_text(encoding="utf-8"), name) != render():
            out.append(f"docs/{file}: {name}")
    return out


def main(argv: list[str]) -> int:
    """Rewrite the tables, or with --check only report the stale ones."""
    if "--check" in argv:
        names = stale()
        for name in names:
            print(f"out of date: {name} (run `python docs/tables.py`)")
        return 1 if names else 0
    for (file, name), render in TABLES.items():
        path = DOCS / file
        text = path.read_text(encoding="utf-8")
        new = replaced(text, name, render())
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote docs/{file}: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
