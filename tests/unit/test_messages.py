"""Every error code subreg can emit has a message in Vietnamese and English that names no value.

The codes are found by reading the source (ast), not by a list kept by hand:

* field codes: the code argument of `FieldError(field, code)` and `FieldValueError(code, field)`, and of
  every helper that passes one of its parameters on as that argument (`_bad`, `_field_error`, ...);
* codes computed elsewhere and handed to `FieldError` in a variable: the functions and enums that
  produce them are named in `_COMPUTED` below, and a new computed call site fails until it is named;
* response codes: the `code = "..."` attribute of every exception class, and the codes the API's
  error handlers answer with (`error_body("...")`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from subreg.domain.access.permissions import Reason
from subreg.domain.common.messages import CODES, LANGS, SUMMARIES, field_label, message_for, summary_for

SRC = Path(__file__).resolve().parents[2] / "src" / "subreg"

# The classes and functions that carry an error code, with the position and name of that argument.
_CARRIERS: dict[str, tuple[int, str]] = {"FieldError": (1, "code"), "FieldValueError": (0, "code")}

# Call sites that hand `FieldError` a code computed elsewhere: (module, the expression) -> where the codes
# come from: (module, function) whose returned or appended string constants are the codes, or (module, name)
# of a dict whose values are. A `mapping.get(key, "default")` adds its default. An entry with no source is
# explained beside it.
_COMPUTED: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("domain/common/errors.py", "code"): (),
    ("domain/common/errors.py", "self.value_code"): (),
    ("domain/compliance/rules/nd49_2017.py", "code"): (("domain/id_documents/numbers.py", "check_id_number"),),
    ("domain/compliance/rules/nd49_2017.py", "number_code"): (("domain/id_documents/numbers.py", "check_id_number"),),
    ("domain/compliance/rules/nd49_2017.py", "c"): (("domain/id_documents/numbers.py", "cccd_consistency"),),
    ("domain/id_documents/card_codes.py", "id_code"): (("domain/id_documents/numbers.py", "check_id_number"),),
    ("adapters/images/quality.py", "code"): (("domain/counter/image_rules.py", "judge"),),
    ("api/errors.py", "_PYDANTIC_CODES.get(e.get('type', ''), 'invalid_format')"): (
        ("api/errors.py", "_PYDANTIC_CODES"),
    ),
    # `decision.reason_code` is a `permissions.Reason` (checked below); audit records' ValueErrors
    # ("path: code") become InputErrors in `audit_trail._input_error` (checked below).
    ("services/counter/_shared.py", "decision.reason_code"): (),
    ("services/backoffice/review.py", "decision.reason_code"): (),
    ("services/backoffice/work_queue.py", "decision.reason_code"): (),
    ("services/common/audit_trail.py", "match['code']"): (),
}


@dataclass(frozen=True)
class _Site:
    module: str
    line: int
    expression: str


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _strings(node: ast.AST) -> set[str]:
    # The string constants of a code expression (`"a"`, `"a" if x else "b"`), not of nested calls' other arguments.
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    if isinstance(node, ast.BoolOp):
        return set().union(*(_strings(v) for v in node.values))
    return set()


def _carriers(trees: list[tuple[str, ast.Module]]) -> dict[str, tuple[int, str, set[str]]]:
    """FieldError, FieldValueError and every function or class passing a parameter on as their code."""
    carriers = {name: (index, kw, set()) for name, (index, kw) in _CARRIERS.items()}
    changed = True
    while changed:
        changed = False
        for _module, tree in trees:
            for owner in ast.walk(tree):
                if not isinstance(owner, ast.ClassDef | ast.FunctionDef):
                    continue
                func = owner
                if isinstance(owner, ast.ClassDef):
                    init = [n for n in owner.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
                    if not init:
                        continue
                    func = init[0]
                name = owner.name
                if name in carriers:
                    continue
                params = [a.arg for a in func.args.posonlyargs + func.args.args]
                offset = 1 if params[:1] in (["self"], ["cls"]) else 0
                defaults = dict(zip(reversed(params), reversed(func.args.defaults), strict=False))
                for call in ast.walk(func):
                    if not isinstance(call, ast.Call) or _name(call) not in carriers:
                        continue
                    index, kw, _ = carriers[_name(call)]  # type: ignore[index]
                    arg = _argument(call, index, kw)
                    if isinstance(arg, ast.Name) and arg.id in params:
                        default = defaults.get(arg.id)
                        carriers[name] = (
                            params.index(arg.id) - offset,
                            arg.id,
                            _strings(default) if default is not None else set(),
                        )
                        changed = True
                        break
    return carriers


def _produced(trees: dict[str, ast.Module], module: str, name: str) -> set[str]:
    """String constants a code-producing function returns or appends, or the values of a dict of codes."""
    tree = trees[module]
    for stmt in tree.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(stmt, "target", None)
        if getattr(target, "id", None) == name and isinstance(stmt.value, ast.Dict):  # type: ignore[union-attr]
            return set().union(*(_strings(v) for v in stmt.value.values))  # type: ignore[union-attr]
    (func,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name]
    codes: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Return) and node.value is not None:
            codes |= _strings(node.value)
            if isinstance(node.value, ast.List):
                codes |= set().union(*(_strings(e) for e in node.value.elts))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append":
            codes |= _strings(node.args[0])
    return codes


def _audit_value_error_codes(trees: dict[str, ast.Module]) -> set[str]:
    """The codes of the audit chain's ValueErrors ("path: code"), which `audit_trail` turns into input errors."""
    codes: set[str] = set()
    for node in ast.walk(trees["domain/privacy/audit_chain.py"]):
        if isinstance(node, ast.Call) and _name(node) == "ValueError" and node.args:
            arg = node.args[0]
            tail = arg.value if isinstance(arg, ast.Constant) else None
            if isinstance(arg, ast.JoinedStr) and isinstance(arg.values[-1], ast.Constant):
                tail = arg.values[-1].value
            match = re.search(r": ([a-z_]+)$", str(tail))
            if match:
                codes.add(match.group(1))
    return codes


def _scan() -> tuple[set[str], set[str], list[_Site]]:
    """(field codes, response codes, computed call sites not named in `_COMPUTED`)."""
    trees = list(_modules())
    by_module = dict(trees)
    carriers = _carriers(trees)
    field_codes: set[str] = set().union(*(default for _i, _k, default in carriers.values()))
    response_codes: set[str] = set()
    unknown: list[_Site] = []
    for module, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.Assign)
                        and [getattr(t, "id", None) for t in stmt.targets] == ["code"]
                        and _strings(stmt.value)
                    ):
                        response_codes |= _strings(stmt.value)
            if not isinstance(node, ast.Call):
                continue
            name = _name(node)
            if name == "error_body" and node.args:
                response_codes |= _strings(node.args[0])
            if name not in carriers:
                continue
            index, kw, _ = carriers[name]
            arg = _argument(node, index, kw)
            if arg is None:
                continue  # the carrier's default, counted above
            codes = _strings(arg)
            if codes:
                field_codes |= codes
                continue
            key = (module, ast.unparse(arg))
            if key in _COMPUTED:
                for producer in _COMPUTED[key]:
                    field_codes |= _produced(by_module, *producer)
                if isinstance(arg, ast.Call) and _name(arg) == "get" and len(arg.args) == 2:
                    field_codes |= _strings(arg.args[1])
            elif not (isinstance(arg, ast.Name) and _is_parameter(tree, node, arg.id)):
                unknown.append(_Site(module, node.lineno, ast.unparse(arg)))
    field_codes |= {r.value for r in Reason if r is not Reason.ALLOWED}
    field_codes |= _audit_value_error_codes(by_module)
    response_codes |= _http_handler_codes(by_module["api/errors.py"])
    return field_codes, response_codes, unknown


def _is_parameter(tree: ast.Module, call: ast.Call, name: str) -> bool:
    # A carrier's own definition passes its parameter on: that is what made it a carrier.
    for func in ast.walk(tree):
        if (
            isinstance(func, ast.FunctionDef)
            and any(n is call for n in ast.walk(func))
            and name in [a.arg for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs]
        ):
            return True
    return False


def _http_handler_codes(tree: ast.Module) -> set[str]:
    # `code = {404: "not_found", ...}.get(status, "http_error")`, then `error_body(code, ...)`.
    codes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["code"]:
            codes |= {n.value for n in ast.walk(node.value) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return codes


FIELD_CODES, RESPONSE_CODES, UNNAMED_SITES = _scan()


class TestTheScan:
    def test_it_finds_codes_of_every_kind(self):
        # Controls: if the scan stopped seeing a kind of code, the tests below would pass vacuously.
        assert {"invalid_msisdn", "contract_required", "unreadable_input", "too_long"} <= FIELD_CODES  # literals
        assert {"unknown_province_code", "id_gender_mismatch"} <= FIELD_CODES  # returned by identity checks
        assert {"no_face", "image_blurry"} <= FIELD_CODES  # image verdicts
        assert {"out_of_scope", "not_permitted", "password_change_required"} <= FIELD_CODES  # permissions, gate
        assert {"personal_data_key", "not_json_safe"} <= FIELD_CODES  # the audit chain's refusals
        assert {"invalid_format"} <= FIELD_CODES  # a helper's default (`_bad`)
        assert {"busy", "erased", "update_required", "internal_error", "payload_too_large"} <= RESPONSE_CODES

    def test_every_computed_code_is_traced_to_where_it_comes_from(self):
        assert UNNAMED_SITES == [], (
            "FieldError gets a code from a variable here; name where its codes come from in _COMPUTED"
        )


@pytest.mark.parametrize("code", sorted(FIELD_CODES | RESPONSE_CODES))
def test_every_emitted_code_has_a_message(code):
    # The pages and the command line show CODES' message for any code, response codes included.
    assert code in CODES, f"no message for {code}: add it to CODES in subreg/domain/common/messages.py"


@pytest.mark.parametrize("code", sorted(RESPONSE_CODES))
def test_every_response_code_has_a_summary(code):
    assert code in SUMMARIES, f"no summary for {code}: add it to SUMMARIES in subreg/domain/common/messages.py"


@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("lang", LANGS)
def test_messages_render_with_a_label_and_differ_by_language(code, lang):
    text = message_for(code, "holder.id_number", lang)
    assert "{" not in text
    assert text != message_for(code, "holder.id_number", "en" if lang == "vi" else "vi")


@pytest.mark.parametrize("code", sorted(SUMMARIES))
def test_summaries_differ_by_language_and_name_no_field(code):
    assert summary_for(code, "vi") != summary_for(code, "en")
    assert "{" not in summary_for(code, "vi") + summary_for(code, "en")


def test_vietnamese_labels_are_used():
    assert field_label("holder.birth_year") == "năm sinh"
    assert "năm sinh" in message_for("birth_year_mismatch", "holder.birth_year")
    assert field_label("holder.birth_year", "en") == "holder.birth_year"
