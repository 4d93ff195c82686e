"""README.md and docs/*.md name only modules that exist (`services/counter/`, `domain.compliance.phase`, ...)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "subreg"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LAYERS = r"(?:domain|services|adapters|api|web|cli)"
_PATH = re.compile(rf"(?:src/subreg/)?{_LAYERS}/[\w/]*(?:\.py)?")
_DOTTED = re.compile(rf"(?:subreg\.)?{_LAYERS}\.[A-Za-z_][\w.]*")


def _references() -> list[tuple[str, str]]:
    """(where, token) for every code span that names a module path or a dotted name of the package."""
    found = []
    for doc in DOCUMENTS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for token in re.findall(r"`([^`\s]+)`", line):
                token = re.sub(r"\[[^\]]*\]$", "", token)  # `MISSING_ITEMS[i]`
                if _PATH.fullmatch(token) or _DOTTED.fullmatch(token):
                    found.append((f"{doc.relative_to(ROOT)}:{number}", token))
    return found


def _exists(token: str) -> bool:
    if "/" in token:
        return (PACKAGE / token.removeprefix("src/subreg/")).exists()
    parts = ["subreg", *token.removeprefix("subreg.").split(".")]
    for split in range(len(parts), 1, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


REFERENCES = _references()


def test_the_scan_finds_references_of_both_kinds():
    tokens = {token for _where, token in REFERENCES}
    assert "adapters/db/tables.py" in tokens
    assert "domain.compliance.phase" in tokens


@pytest.mark.parametrize(("where", "token"), REFERENCES)
def test_every_named_module_exists(where, token):
    assert _exists(token), f"{where} names `{token}`, which is not in src/subreg"
