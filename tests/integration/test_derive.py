"""Bulk derivation (`subreg complete --derive`) on SQLite and PostgreSQL: what is filled, with which provenance,
that nothing present is overwritten, that a dry run counts what the real run does, and the restorations.

The base is loaded through the bulk loader (which stores derived values, as every writer does), then taken back
to what a base loaded before derivations looks like: the derivable values removed from the sealed payloads and
`purpose` / `subscriber_type` cleared (`strip_derivable`). A few lines get the verdict an earlier version stored
for them (incomplete for lack of a nationality) and are locked one-way, so the run has lines to complete and
restore.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from subreg.adapters.processes import InlinePool
from subreg.domain.compliance.rules import get_rule_set
from subreg.services.backoffice.derive import (
    CHANNEL,
    DeriveOptions,
    complete_by_derivation,
    derivable_id_types,
    fills_of,
)
from subreg.services.enforcement.sweep import request_restores
from subreg.services.registry.bulk_load import bulk_load
from subreg.services.registry.demo_data import generate_records
from subreg.services.registry.ports import holder_aad
from subreg.services.registry.reading import record_of
from subreg.services.registry.rows import compliance_columns, dumps_sorted, week_start

AS_OF = date(2018, 3, 15)
RULES = get_rule_set()
_PERSON_DERIVED = ("nationality", "gender", "birth_year")


def load_base(container: Any, n: int, seed: int = 5) -> None:
    """`n` demo subscriptions stored by the bulk loader."""
    with container.uow() as uow:
        bulk_load(
            generate_records(n, seed, as_of=AS_OF), uow=uow, vault=container.vault, blobs=container.blobs,
            as_of=AS_OF, rule_set=container.rule_set, batch_size=500,
        )  # fmt: skip


def _strip_person(person: Any) -> None:
    if isinstance(person, dict) and person.get("id_type") in ("cmnd", "cccd"):
        for name in _PERSON_DERIVED:
            person.pop(name, None)


def strip_derivable(container: Any, *, legacy_verdicts: int = 5) -> None:
    """Take the base back to before derivations (see the module docstring); every 7th CMND holder keeps a
    nationality it was GIVEN as `USA` (a value the rules refuse: it must stay as it is)."""
    vault = container.vault
    with container.engine.begin() as c:
        holders = c.execute(text("SELECT id, kek_id, wrapped_dek, aad_ref, payload FROM holders ORDER BY id")).all()
        updates = []
        for i, (hid, kek, wrapped, aad, payload) in enumerate(holders):
            dek = vault.unwrap(kek, bytes(wrapped))
            personal = orjson.loads(vault.open(dek, bytes(payload), holder_aad(bytes(aad))))
            for section in ("holder", "guardian"):
                _strip_person(personal.get(section))
            for user in (personal.get("organization") or {}).get("users") or []:
                _strip_person(user)
            holder = personal.get("holder") or {}
            if i % 7 == 3 and holder.get("id_type") == "cmnd":
                holder["nationality"] = "USA"
            updates.append({"p": vault.seal(dek, dumps_sorted(personal), holder_aad(bytes(aad))), "id": hid})
        c.execute(text("UPDATE holders SET payload = :p WHERE id = :id"), updates)
        c.execute(text("UPDATE subscriptions SET purpose = NULL WHERE subscriber_type = 'individual' AND id % 2 = 0"))
        c.execute(text("UPDATE subscriptions SET subscriber_type = NULL WHERE subscriber_type = 'individual' "
                       "AND id % 5 = 0"))  # fmt: skip
        # An individual who GAVE another purpose keeps it.
        c.execute(text("UPDATE subscriptions SET purpose = 'organization_use' WHERE subscriber_type = 'individual' "
                       "AND id % 11 = 1"))  # fmt: skip
        legacy = c.execute(
            text(
                "SELECT s.id FROM subscriptions s JOIN holders h ON h.id = s.holder_id WHERE s.verdict = 0 "
                "AND NOT coalesce(s.contract_needed, false) AND h.id_type = 'cccd' AND s.status = 'active' "
                "ORDER BY s.id LIMIT :n"
            ),
            {"n": legacy_verdicts},
        ).all()
        for (line,) in legacy:
            c.execute(
                text(
                    "UPDATE subscriptions SET complete = false, verdict = 1, missing = 'holder.nationality', "
                    "enf_state = 2, enf_step_on = :d, status = 'one_way_locked' WHERE id = :id"
                ),
                {"id": line, "d": AS_OF},
            )


def records(container: Any) -> dict[int, dict[str, Any]]:
    """line id -> its holder's personal data and its clear purpose / type / verdict."""
    vault = container.vault
    with container.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT s.id, s.purpose, s.subscriber_type, s.verdict, h.kek_id, h.wrapped_dek, h.aad_ref, h.payload "
                "FROM subscriptions s JOIN holders h ON h.id = s.holder_id ORDER BY s.id"
            )
        ).all()
    out = {}
    for line, purpose, kind, verdict, kek, wrapped, aad, payload in rows:
        personal = orjson.loads(vault.open(vault.unwrap(kek, bytes(wrapped)), bytes(payload), holder_aad(bytes(aad))))
        out[int(line)] = {"personal": personal, "purpose": purpose, "subscriber_type": kind, "verdict": verdict}
    return out


def run(container: Any, *, dry_run: bool = False, batch: int = 37) -> Any:
    store = container.derive_store()
    try:
        return complete_by_derivation(
            DeriveOptions(as_of=AS_OF, batch_size=batch, dry_run=dry_run), store=store, uow_factory=container.uow,
            vault=container.vault, rule_set=container.rule_set, pool=InlinePool(), now=lambda: datetime.now(UTC),
            restore=lambda: request_restores(uow=container.uow(), channel=CHANNEL, now=datetime.now(UTC)),
        )  # fmt: skip
    finally:
        store.close()


def provenance(container: Any) -> list[tuple[Any, ...]]:
    with container.engine.connect() as c:
        return [
            tuple(r)
            for r in c.execute(
                text("SELECT subscription_id, path, method, rule, source, staff_id FROM field_provenance ORDER BY 1, 2")
            )
        ]


class TestDerivationsOfTheRuleSet:
    def test_the_id_types_derived_from_are_the_rule_sets(self):
        assert set(derivable_id_types(RULES, as_of=AS_OF)) == {"cmnd", "cccd"}

    def test_a_cccd_gives_nationality_gender_and_birth_year_with_their_sources(self):
        record = {"subscriber_type": "individual", "holder": {"id_type": "cccd", "id_number": "079301123456"}}
        fills = fills_of(record, RULES.check(record, as_of=AS_OF).derived, RULES.name)
        assert fills["holder.nationality"] == ("VNM", "nd49-2017:nationality", "holder.id_type")
        assert fills["holder.gender"] == ("female", "nd49-2017:gender", "holder.id_number")  # digit 3: 2000s, odd
        assert fills["holder.birth_year"] == (2001, "nd49-2017:birth_year", "holder.id_number")
        assert fills["purpose"] == ("personal_use", "nd49-2017:purpose", "subscriber_type")

    def test_a_cmnd_gives_nationality_only(self):
        record = {"subscriber_type": "individual", "purpose": "personal_use",
                  "holder": {"id_type": "cmnd", "id_number": "012345678"}}  # fmt: skip
        fills = fills_of(record, RULES.check(record, as_of=AS_OF).derived, RULES.name)
        assert set(fills) == {"holder.nationality"}

    def test_a_passport_gives_nothing_and_an_individual_type_is_derived_from_the_shape(self):
        record = {"holder": {"id_type": "passport", "id_number": "B1234567"}}
        fills = fills_of(record, RULES.check(record, as_of=AS_OF).derived, RULES.name)
        assert fills == {
            "subscriber_type": ("individual", "nd49-2017:subscriber_type", "organization"),
            "purpose": ("personal_use", "nd49-2017:purpose", "subscriber_type"),
        }

    def test_a_date_of_birth_present_means_no_birth_year(self):
        record = {"holder": {"id_type": "cccd", "id_number": "079301123456", "date_of_birth": "2001-02-03"}}
        fills = fills_of(record, RULES.check(record, as_of=AS_OF).derived, RULES.name)
        assert "holder.birth_year" not in fills

    def test_a_value_present_is_never_replaced_even_one_the_rules_refuse(self):
        holder = {"id_type": "cccd", "id_number": "079301123456", "gender": "male", "nationality": "USA"}
        record = {"subscriber_type": "individual", "purpose": "organization_use", "holder": holder}
        derived = {**RULES.check(record, as_of=AS_OF).derived, "holder.gender": "female", "purpose": "personal_use"}
        fills = fills_of(record, derived, RULES.name)
        assert "holder.gender" not in fills
        assert "holder.nationality" not in fills
        assert "purpose" not in fills

    def test_an_organization_type_is_left_to_staff(self):
        assert fills_of({}, {"subscriber_type": "organization"}, RULES.name) == {}


def test_the_run_fills_absent_values_with_provenance_history_and_restorations(container):
    load_base(container, 240)
    strip_derivable(container)
    before = records(container)
    report = run(container)

    after = records(container)
    rows = provenance(container)
    assert report.values_filled == len(rows) > 0
    assert report.made_complete == report.restorable == 5
    assert report.restores_requested == 5
    by_line: dict[int, list[str]] = {}
    for line, path, method, rule, source, staff in rows:
        assert method == "derived"
        assert staff is None
        assert rule == f"nd49-2017:{path.rsplit('.', 1)[-1]}"
        assert source is not None
        by_line.setdefault(line, []).append(path)
    for line, paths in by_line.items():
        for path in paths:
            if path in ("purpose", "subscriber_type"):
                assert before[line][path] is None
                assert after[line][path] is not None
            else:
                section, name = path.split(".", 1)
                if section == "holder":
                    assert name not in before[line]["personal"]["holder"]
                    assert name in after[line]["personal"]["holder"]
    # Nothing present was overwritten: given values as they were, the rest only gained keys.
    for line, b in before.items():
        a = after[line]
        if b["purpose"] is not None:
            assert a["purpose"] == b["purpose"]
        holder_b, holder_a = b["personal"].get("holder", {}), a["personal"].get("holder", {})
        assert {k: holder_a.get(k) for k in holder_b} == holder_b
    assert any(b["personal"].get("holder", {}).get("nationality") == "USA" for b in before.values())
    assert not [r for r in rows if r[1] == "holder.nationality" and before[r[0]]["personal"]["holder"].get(
        "nationality")]  # fmt: skip
    with container.engine.connect() as c:
        history = c.execute(
            text("SELECT subscription_id, action, changes FROM subscription_history WHERE channel = 'derivation'")
        ).all()
        queued = c.execute(text("SELECT count(*) FROM enforcement_recheck WHERE channel = 'derivation'")).scalar_one()
        audits = c.execute(text("SELECT count(*) FROM audit_log WHERE action = 'records:derived'")).scalar_one()
    assert {int(h[0]) for h in history} == set(by_line)
    assert all(h[1] == "updated" and orjson.loads(h[2]) == {"fields": by_line[int(h[0])]} for h in history)
    assert queued == 5
    assert audits == 2

    again = run(container)  # nothing left: nothing filled or recorded twice
    assert again.values_filled == 0
    assert provenance(container) == rows


def test_a_dry_run_counts_what_the_real_run_does_and_changes_nothing(container):
    load_base(container, 200, seed=9)
    strip_derivable(container)
    before = records(container)
    dry = run(container, dry_run=True, batch=23)
    assert records(container) == before
    assert provenance(container) == []
    real = run(container, batch=50)
    assert dry.values_filled > 0
    for key in ("lines_read", "lines_filled", "values_filled", "filled", "made_complete", "restorable"):
        assert getattr(dry, key) == getattr(real, key), key


def test_a_line_changed_after_it_was_read_is_left_for_the_next_run(container):
    load_base(container, 60, seed=3)
    strip_derivable(container, legacy_verdicts=0)
    store = container.derive_store()
    real = store.candidates

    def racing(after: int, limit: int, types: Any) -> list[Any]:
        rows = real(after, limit, types)
        if rows:  # the counter updates the first line of each page between the read and the write
            with container.engine.begin() as c:
                c.execute(text("UPDATE subscriptions SET version = version + 1 WHERE id = :id"), {"id": rows[0][0]})
        return rows

    store.candidates = racing  # type: ignore[method-assign]
    try:
        report = complete_by_derivation(
            DeriveOptions(as_of=AS_OF, batch_size=20), store=store, uow_factory=container.uow, vault=container.vault,
            rule_set=container.rule_set, pool=InlinePool(), now=lambda: datetime.now(UTC),
        )  # fmt: skip
    finally:
        store.close()
    assert report.skipped_changed > 0
    assert run(container).values_filled > 0  # the next run fills what was left


@pytest.mark.parametrize("workers", [2])
def test_worker_processes_give_the_same_result(container, workers):
    from subreg.adapters.processes import ForkPool

    load_base(container, 120, seed=4)
    strip_derivable(container)
    store = container.derive_store()
    try:
        report = complete_by_derivation(
            DeriveOptions(as_of=AS_OF, batch_size=16, dry_run=True), store=store, uow_factory=container.uow,
            vault=container.vault, rule_set=container.rule_set, pool=ForkPool(workers), now=lambda: datetime.now(UTC),
        )  # fmt: skip
    finally:
        store.close()
    assert report.values_filled == run(container).values_filled > 0


def test_the_command_has_help_with_an_example():
    from typer.testing import CliRunner

    from subreg.cli.main import app

    result = CliRunner().invoke(app, ["complete", "--help"])
    assert result.exit_code == 0
    assert "Example: subreg complete --derive --dry-run --json" in result.output
    assert "--dry-run" in result.output
    assert "--batch" in result.output


def answers(container: Any) -> dict[int, tuple[Any, ...]]:
    """line id -> (its stored compliance columns, a fresh check of its record at AS_OF as columns, the values
    still derivable in it)."""
    out: dict[int, tuple[Any, ...]] = {}
    names = ("complete", "missing", "error_codes", "verdict", "missing_mask")
    with container.engine.connect() as c:
        stored = {
            int(r[0]): tuple(r[1:])
            for r in c.execute(text(f"SELECT id, {', '.join(names)}, valid_until FROM subscriptions"))  # noqa: S608
        }
    with container.uow() as uow:
        for line, columns in stored.items():
            sub = uow.subscriptions.get_by_id(line)
            record = record_of(sub, uow=uow, vault=container.vault)
            result = RULES.check(record, as_of=AS_OF)
            fresh = compliance_columns(result, RULES, AS_OF)
            until = week_start(RULES.valid_until(record, as_of=AS_OF))
            stored_until = columns[-1]
            stored_until = date.fromisoformat(stored_until) if isinstance(stored_until, str) else stored_until
            out[line] = (
                (bool(columns[0]), *columns[1:-1], stored_until),
                (bool(fresh["complete"]), *(fresh[n] for n in names[1:]), until),
                fills_of(record, result.derived, RULES.name),
            )
    return out


def test_filling_changes_no_answer_of_the_rule_set_and_leaves_nothing_derivable(container):
    """What lets the run keep a stored complete verdict of this rule set without re-checking the line (the
    check already counts a derivable value as present), and lets it skip the check of a payload that lacks no
    derivable value: after the run, no line (holders, guardians, organizations' users) has anything left to
    derive, and a line whose stored columns were the rule set's answer before still has it stored after (the
    lines given a refused `USA` nationality by `strip_derivable` had not)."""
    load_base(container, 240, seed=6)
    strip_derivable(container, legacy_verdicts=0)
    before = answers(container)
    assert sum(1 for _s, _f, fills in before.values() if fills) > 50
    report = run(container)
    assert report.values_filled > 0
    after = answers(container)
    for line, (stored, fresh, fills) in after.items():
        assert fills == {}, line
        assert fresh == before[line][1], line  # the record's answer is the same with the values filled
        if before[line][0] == before[line][1]:
            assert stored == fresh, line  # and it is what is stored
    filled = {r[0] for r in provenance(container)}
    assert len([line for line in filled if before[line][0] == before[line][1]]) > 50


def test_a_failed_write_rolls_back_and_stops_the_reading_thread(container):
    import threading

    load_base(container, 200, seed=8)
    strip_derivable(container, legacy_verdicts=0)
    store = container.derive_store()

    def failing(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")

    store.write = failing  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            complete_by_derivation(
                DeriveOptions(as_of=AS_OF, batch_size=5), store=store, uow_factory=container.uow,
                vault=container.vault, rule_set=container.rule_set, pool=InlinePool(), now=lambda: datetime.now(UTC),
            )  # fmt: skip
        assert not [t for t in threading.enumerate() if t.name == "derive-reader"]
    finally:
        store.close()
    assert provenance(container) == []
    assert run(container).values_filled > 0  # nothing was half-written: the next run does it all
