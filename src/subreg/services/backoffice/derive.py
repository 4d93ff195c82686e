"""Bulk derivation (`subreg complete --derive`): fill every absent value the papers on file already give.

MobiFone "proactively updated" its postpaid base: where the papers said it, staff filled the missing fields
themselves (nationality from the CMND, individual use) without asking the customer to come in. subreg does it
for the whole base with the rule set's derivations (`domain.compliance.derivations`, run by the rule set's
own check, so a later regime's derivations come with it): nationality from a CMND/CCCD, gender and birth year
from a CCCD number, `purpose` personal_use for an individual, `subscriber_type` from the record's shape.
Never OCR (that is the back-office queue's), and never over a value that is there: a derivation fills an
ABSENT value only (checked twice: the rule set derives only for absent fields, and each path is tested here).

Pipeline (one reader thread, N workers, one writer):

    candidates (reader thread, own connection, set-based on clear columns, a few pages ahead)  --pages-->
        by holder id, every line of a holder in one page
    workers: decrypt; per line a cheap test (does it lack a value a derivation gives?), and only then the rule
        set's check, fill, re-check (only when the stored verdict is not a complete one of this rule set),
        re-seal (CPU); back: only the holders with something to fill, their counts added up
    writer (main process), one transaction per `batch_size` lines that get a value (or 8 pages read):
        lock and re-read those lines' versions and holders' payloads (a line changed meanwhile is left for the
        next run), holder payloads, line columns (version + 1), one history entry per line (`updated`, channel
        `derivation`, the paths only), one `field_provenance` row per value filled, the run's progress (last
        holder id, counts) -> COMMIT

- A holder's lines travel together, so a value filled in a holder shared by several lines is recorded for each
  of those lines, whatever the page size, and a resumed run ends like an uninterrupted one.
- Resumable: the progress row commits with its transaction; the same command after a kill resumes after the last
  committed holder (nothing is filled or recorded twice: a filled value is present on the next read anyway).
- The dry run does the same reading and deriving and writes nothing: its counts are the real run's.
- Lines it makes complete are restored by the enforcement machinery: the caller asks for it after the run
  (`services.enforcement.sweep.request_restores`, as after an import).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import orjson

from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.compliance.derivations import SOURCES
from subreg.domain.compliance.records import ORGANIZATION, is_absent
from subreg.domain.compliance.rules.base import RuleSet, missing_item
from subreg.domain.enforcement.machine import EnforcementState
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.backoffice.derive_ports import PAGE_COLUMNS, DeriveStore, LineWrite
from subreg.services.common import audit_trail
from subreg.services.common.ports import UnitOfWork, Vault
from subreg.services.registry.ports import WorkerPool, holder_aad
from subreg.services.registry.rows import compliance_columns, dumps_sorted, rule_tag, week_start

__all__ = [
    "CHANNEL",
    "DeriveOptions",
    "DeriveReport",
    "complete_by_derivation",
    "derivable_id_types",
    "derive_all",
    "fills_of",
]

CHANNEL = "derivation"
_PERSONAL = ("holder", "guardian", "organization")
_N = len(PAGE_COLUMNS)
_COL = {c: i for i, c in enumerate(PAGE_COLUMNS)}
_USER = re.compile(r"^organization\.users\[(\d+)\]\.(\w+)$")


@dataclass(frozen=True)
class DeriveOptions:
    """How to run: the date the papers are judged at, lines per page (and lines filled per transaction), dry
    run."""

    as_of: date
    batch_size: int = 5000
    dry_run: bool = False


@dataclass
class DeriveReport:
    """What a run did (cumulated across a killed run and its resumption)."""

    as_of: date
    dry_run: bool
    resumed: bool = False
    lines_read: int = 0  # candidate lines decrypted and checked
    lines_filled: int = 0  # lines that got at least one value
    values_filled: int = 0
    filled: dict[str, int] = field(default_factory=dict)  # per field (an organization user's index dropped)
    made_complete: int = 0  # lines incomplete before, complete after
    restorable: int = 0  # of those, lines in enforcement (the worker restores them)
    skipped_changed: int = 0  # lines changed by someone else meanwhile: left for the next run
    restores_requested: int = 0  # lines in enforcement, complete now, asked to be restored after the run
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        """The cumulative counts (stored with the run's progress)."""
        return {
            "lines_read": self.lines_read,
            "lines_filled": self.lines_filled,
            "values_filled": self.values_filled,
            "filled": dict(sorted(self.filled.items())),
            "made_complete": self.made_complete,
            "restorable": self.restorable,
            "skipped_changed": self.skipped_changed,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            **self.counts(),
            "restores_requested": self.restores_requested,
            "seconds": round(self.seconds, 3),
        }

    def _restore(self, counts: Mapping[str, Any]) -> None:
        for name in ("lines_read", "lines_filled", "values_filled", "made_complete", "restorable", "skipped_changed"):
            setattr(self, name, int(counts.get(name, 0)))
        self.filled = {str(k): int(v) for k, v in dict(counts.get("filled", {})).items()}


def derivable_id_types(rule_set: RuleSet, *, as_of: date) -> tuple[str, ...]:
    """The ID types from which the rule set derives something for a person (asked of the rule set itself, so
    a regime that adds a type with a nationality comes with it): `cmnd`, `cccd` for nd49-2017."""
    return tuple(
        t for t in rule_set.id_types if rule_set.check({"holder": {"id_type": t}}, as_of=as_of).derived.get(
            "holder.nationality") is not None
    )  # fmt: skip


def fills_of(record: Mapping[str, Any], derived: Mapping[str, object], rule_set_name: str) -> dict[str, Any]:
    """The derived values that fill an ABSENT value of `record`: {path: (value, rule, source field)}.

    A value that is there (even one the rules refuse) is never replaced. `subscriber_type` derived as an
    organization is left to staff: it changes the holder's kind and the document the line counts under.
    """
    out: dict[str, Any] = {}
    for path, value in derived.items():
        if value is None or not is_absent(_get(record, path)):
            continue
        name = path.rsplit(".", 1)[-1]
        if path == "subscriber_type" and value == ORGANIZATION:
            continue
        source = SOURCES.get(name)
        if source is not None and "." in path:
            source = f"{path.rsplit('.', 1)[0]}.{source}"
        out[path] = (value, f"{rule_set_name}:{name}", source)
    return out


# --- the run --------------------------------------------------------------------------------------


def complete_by_derivation(
    options: DeriveOptions,
    *,
    store: DeriveStore,
    uow_factory: Callable[[], UnitOfWork],
    vault: Vault,
    rule_set: RuleSet,
    pool: WorkerPool,
    now: Callable[[], datetime],
    restore: Callable[[], int] | None = None,
    progress: Callable[[int, int, DeriveReport], None] | None = None,
) -> DeriveReport:
    """`derive_all`, audited (an entry before the first payload is decrypted, one with the totals after), then
    `restore()` (the enforcement machinery's request for the lines now complete) unless a dry run."""
    _audit(uow_factory, now(), {"as_of": options.as_of.isoformat(), "dry_run": options.dry_run, "stage": "started"})
    report = derive_all(store, options, vault=vault, rule_set=rule_set, pool=pool, progress=progress)
    if not options.dry_run and restore is not None:
        report.restores_requested = restore()
    totals = {k: v for k, v in report.counts().items() if k != "filled"}
    details = {"as_of": options.as_of.isoformat(), "dry_run": options.dry_run, "stage": "finished", **totals}
    _audit(uow_factory, now(), details)
    return report


def _audit(uow_factory: Callable[[], UnitOfWork], moment: datetime, details: dict[str, Any]) -> None:
    # Every candidate's payload is decrypted: the run is an access to personal data by the system (no staff).
    with uow_factory() as uow:
        audit_trail.record(uow, actor=None, action=AuditAction.RECORDS_DERIVED, now=moment, details=details)
        uow.commit()


def derive_all(
    store: DeriveStore,
    options: DeriveOptions,
    *,
    vault: Vault,
    rule_set: RuleSet,
    pool: WorkerPool,
    progress: Callable[[int, int, DeriveReport], None] | None = None,
) -> DeriveReport:
    """Apply the rule set's derivations to every line whose record supports them (module docstring); the report.

    `progress(done holder id, last holder id, report)` after each page.
    """
    started = time.perf_counter()
    report = DeriveReport(options.as_of, options.dry_run)
    tag = rule_tag(rule_set)
    key = f"derive:{tag}:{options.as_of.isoformat()}"
    run_id: int | None = None
    after = 0
    if not options.dry_run:
        found = store.find_run(key)
        if found is not None:
            run_id, after = found.id, found.after_holder
            report.resumed = True
            report._restore(found.counts)
        else:
            run_id = store.create_run(key)
    types = derivable_id_types(rule_set, as_of=options.as_of)
    last = store.last_holder_id()
    limit = max(1, options.batch_size)

    context = _Context(vault, rule_set, options.as_of, tag, frozenset(types))
    pending: list[_Page] = []  # pages derived, not written yet
    changing = reading = 0
    pages = _read_ahead(store, after, limit, types, depth=max(2, pool.workers * 2))
    try:
        for page in pool.imap(_derive_page, context, pages, window=max(4, pool.workers * 4)):
            if options.dry_run:
                report.lines_read += page.lines_read
                page.tally.add_to(report)
            else:
                # A transaction per `limit` lines that get a value (or per 8 pages read): most lines get nothing,
                # and a transaction (lock, re-read, commit) per page of a few hundred changes costs more than it
                # writes.
                pending.append(page)
                changing += page.tally.lines_filled
                reading += page.lines_read
                if changing >= limit or reading >= 8 * limit:
                    assert run_id is not None
                    _write(store, report, pending, run_id)
                    pending, changing, reading = [], 0, 0
            if progress is not None:
                progress(page.end, last, report)
        if pending:
            assert run_id is not None
            _write(store, report, pending, run_id)
    finally:
        pages.close()  # stops the reading thread, also when a write fails
    if run_id is not None:
        store.begin()
        store.save_run(run_id, last, report.counts(), done=True)
        store.commit()
    report.seconds = time.perf_counter() - started
    return report


def _read_ahead(
    store: DeriveStore, after: int, limit: int, types: Sequence[str], *, depth: int
) -> Generator[list[tuple[Any, ...]], None, None]:
    """The candidate pages, read by a thread of their own (`store.candidates` on its own connection) up to
    `depth` pages ahead: the page query overlaps the writer's transactions instead of waiting for them (the
    database drivers release the GIL while they run a statement). Pages are disjoint sets of holders, so a
    page read before the previous one's transaction commits is read as it will be written."""
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read() -> None:
        try:
            cursor = after
            while not stop.is_set() and (rows := store.candidates(cursor, limit, types)):
                cursor = int(rows[-1][1])
                put(rows)
        except BaseException as error:  # re-raised in the caller's thread
            put(_Failed(error))
        finally:
            try:
                store.end_reading()
            finally:
                put(_END)

    thread = threading.Thread(target=read, name="derive-reader", daemon=True)
    thread.start()
    try:
        while (item := box.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


_END = object()


@dataclass(slots=True)
class _Tally:
    """Counts of lines that get a value (a holder's, a page's): added up by the workers, so that the writer
    only sums them."""

    lines_filled: int = 0
    values_filled: int = 0
    made_complete: int = 0
    restorable: int = 0
    filled: dict[str, int] = field(default_factory=dict)

    def add_line(self, line: _Line, sign: int = 1) -> None:
        self.lines_filled += sign
        self.values_filled += sign * len(line.write.paths)
        filled = self.filled
        for path, _rule, _source in line.write.paths:
            item = missing_item(path)
            filled[item] = filled.get(item, 0) + sign
        if line.made_complete:
            self.made_complete += sign
            self.restorable += sign * int(line.in_enforcement)

    def add(self, other: _Tally, sign: int = 1) -> None:
        self.lines_filled += sign * other.lines_filled
        self.values_filled += sign * other.values_filled
        self.made_complete += sign * other.made_complete
        self.restorable += sign * other.restorable
        for item, n in other.filled.items():
            self.filled[item] = self.filled.get(item, 0) + sign * n

    def add_to(self, report: DeriveReport) -> None:
        report.lines_filled += self.lines_filled
        report.values_filled += self.values_filled
        report.made_complete += self.made_complete
        report.restorable += self.restorable
        for item, n in self.filled.items():
            if n:
                report.filled[item] = report.filled.get(item, 0) + n


# Plain tuples (NamedTuple) travel between the workers and the writer: a slotted dataclass pickles through Python
# calls per object, which cost as much as the derivation itself.
class _Line(NamedTuple):
    line_id: int
    version: int
    write: LineWrite
    made_complete: bool
    in_enforcement: bool


class _Group(NamedTuple):
    """A holder with something to fill: its payload as read, its new one, and its lines that get a value."""

    holder_id: int
    payload: bytes  # as read
    sealed: bytes | None  # the new payload, when a personal value was filled
    lines: tuple[_Line, ...]  # the holder's lines that get a value (the others are not written)


@dataclass(frozen=True, slots=True)
class _Page:
    """What a worker sends back for a page: only the holders with something to fill (most have nothing)."""

    groups: tuple[_Group, ...]
    lines_read: int  # every candidate line of the page, filled or not
    end: int  # the page's last holder id
    tally: _Tally  # the groups' tallies added up


def _write(store: DeriveStore, report: DeriveReport, pages: Sequence[_Page], run_id: int) -> None:
    """One transaction: lock and re-read the changing lines and holders of the pages, write the fills of those
    unchanged since they were read, save progress (after the last page), commit."""
    groups = [g for page in pages for g in page.groups]
    tally = _Tally()
    for page in pages:
        tally.add(page.tally)
    store.begin()
    try:
        skipped = 0
        kept: list[_Group] = []
        if groups:
            versions, payloads = store.current(
                [line.line_id for g in groups for line in g.lines], [g.holder_id for g in groups]
            )
            for group in groups:
                if payloads.get(group.holder_id) != group.payload or any(
                    versions.get(line.line_id) != line.version for line in group.lines
                ):
                    # Someone (the counter) changed the line or its holder since it was read: nothing is
                    # overwritten; the next run reads it again. (A holder's other lines, which get nothing,
                    # are not locked: nothing is written to them.)
                    skipped += len(group.lines)
                    for line in group.lines:
                        tally.add_line(line, -1)
                    continue
                kept.append(group)
        holders = [(g.sealed, g.holder_id) for g in kept if g.sealed is not None]
        lines = [line.write for g in kept for line in g.lines]
        store.write(holders, lines, channel=CHANNEL)
        report.lines_read += sum(page.lines_read for page in pages) - skipped
        report.skipped_changed += skipped
        tally.add_to(report)
        store.save_run(run_id, pages[-1].end, report.counts(), done=False)
        store.commit()
    except BaseException:
        store.rollback()
        raise


# --- workers: decrypt, derive, re-check, re-seal (pure CPU) ----------------------------------------


@dataclass
class _Context:
    vault: Vault
    rule_set: RuleSet
    as_of: date
    tag: str
    id_types: frozenset[str]  # `derivable_id_types`


_I_KIND, _I_PURPOSE = 3 + _COL["subscriber_type"], 3 + _COL["purpose"]


def _derive_page(ctx: _Context, rows: list[tuple[Any, ...]]) -> _Page:
    """The page's holders with something to fill (each with its new payload and its lines' writes); in a worker.

    Per holder: unwrap, open, parse (what a bare scan does), then a cheap test per line: does the line or its
    payload lack a value a derivation can give (`_may_fill`)? Only those lines get the rule set's check.
    """
    groups: list[_Group] = []
    start = 0
    n = len(rows)
    vault = ctx.vault
    types = ctx.id_types
    while start < n:
        first = rows[start]
        holder_id = first[1]
        end = start + 1
        while end < n and rows[end][1] == holder_id:
            end += 1
        kek_id, wrapped, aad_ref, payload = first[3 + _N : 7 + _N]
        aad = holder_aad(bytes(aad_ref))
        dek = vault.unwrap(kek_id, bytes(wrapped))
        plain = vault.open(dek, bytes(payload), aad)
        personal = orjson.loads(plain)
        person_gap = _person_gap(personal, types)
        todo = [
            row for row in rows[start:end]
            if person_gap or row[_I_KIND] is None or (row[_I_PURPOSE] is None and row[_I_KIND] != ORGANIZATION)
        ]  # fmt: skip
        if todo:
            group = _derive_holder(ctx, todo, bytes(payload), dek, aad, plain, personal)
            if group is not None:
                groups.append(group)
        start = end
    tally = _Tally()
    for group in groups:
        for line in group.lines:
            tally.add_line(line)
    return _Page(tuple(groups), n, int(rows[-1][1]), tally)


def _person_gap(personal: dict[str, Any], types: frozenset[str]) -> bool:
    """Whether a person of the payload (holder, guardian, an organization's user) with an ID type the rule set
    derives from lacks a value a derivation could give (nationality, gender, or a birth year without a date of
    birth). False means no derivation can fill anything in the payload: the rule set's check is not run.

    (The payload is parsed JSON: its objects are dicts.)"""
    person = personal.get("holder")
    if person.__class__ is dict and _lacks(person, types):
        return True
    person = personal.get("guardian")
    if person.__class__ is dict and _lacks(person, types):
        return True
    org = personal.get("organization")
    users = org.get("users") if org.__class__ is dict else None
    if users.__class__ is list:
        return any(u.__class__ is dict and _lacks(u, types) for u in users)
    return False


def _lacks(person: dict[str, Any], types: frozenset[str]) -> bool:
    id_type = person.get("id_type")
    if id_type not in types and (id_type.__class__ is not str or id_type.strip().lower() not in types):
        return False
    get = person.get
    return (
        is_absent(get("nationality"))
        or is_absent(get("gender"))
        or (is_absent(get("date_of_birth")) and is_absent(get("birth_year")))
    )


def _derive_holder(
    ctx: _Context,
    rows: Sequence[tuple[Any, ...]],
    payload: bytes,
    dek: Any,
    aad: bytes,
    plain: bytes,
    personal: dict[str, Any],
) -> _Group | None:
    vault, rule_set, as_of = ctx.vault, ctx.rule_set, ctx.as_of
    # Every line's fills against the payload as read; the holder's new payload holds the union of them.
    per_line: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    personal_fills: dict[str, Any] = {}
    for row in rows:
        record = _record(row[3 : 3 + _N], personal)
        found = fills_of(record, rule_set.check(record, as_of=as_of).derived, rule_set.name)
        if not found:
            continue
        per_line.append((row, found))
        for path, fill in found.items():
            if path.split(".", 1)[0] in _PERSONAL:
                personal_fills.setdefault(path, fill[0])
    if not per_line:
        return None
    new_personal = personal
    sealed = None
    if personal_fills:
        new_personal = orjson.loads(plain)
        for path, value in personal_fills.items():
            _set(new_personal, path, value)
        sealed = vault.seal(dek, dumps_sorted(new_personal), aad)
    lines = []
    for row, found in per_line:
        clear = row[3 : 3 + _N]
        in_enforcement = clear[_COL["enf_state"]] is not None and int(clear[_COL["enf_state"]]) < int(
            EnforcementState.TERMINATED
        )
        kind = found["subscriber_type"][0] if "subscriber_type" in found else clear[_COL["subscriber_type"]]
        purpose = found["purpose"][0] if "purpose" in found else clear[_COL["purpose"]]
        columns: dict[str, Any] | None = None
        made_complete = False
        if clear[_COL["rule_set"]] != ctx.tag or clear[_COL["verdict"]] != 0:
            # The stored verdict is another rule set's (or revision's), or not complete: re-evaluate the line.
            # A complete verdict of THIS rule set stays as it is: the check already counts a derivable value as
            # present, so filling it changes no answer (tests/integration/test_derive.py checks it).
            record = _record(clear, new_personal)
            record["subscriber_type"], record["purpose"] = kind, purpose
            result = rule_set.check(record, as_of=as_of)
            columns = compliance_columns(result, rule_set, as_of)
            columns["valid_until"] = week_start(rule_set.valid_until(record, as_of=as_of))
            contract_needed = bool(clear[_COL["contract_needed"]])
            before = clear[_COL["verdict"]] == 0 and not contract_needed
            after = columns["verdict"] == 0 and not contract_needed
            made_complete = after and not before
        person = clear[_COL["person_key"]] if "subscriber_type" in found else None
        write = LineWrite(
            int(row[0]), kind, purpose, columns,
            tuple((path, rule, source) for path, (_value, rule, source) in sorted(found.items())),
            None if person is None else bytes(person),
        )  # fmt: skip
        lines.append(_Line(int(row[0]), int(row[2]), write, made_complete, in_enforcement))
    return _Group(int(rows[0][1]), payload, sealed, tuple(lines))


def _record(clear: Sequence[Any], personal: Mapping[str, Any]) -> dict[str, Any]:
    """The line's record as the rule set reads it, from its clear columns and its holder's personal data (the
    shape `services.registry.reading.record_of` gives)."""
    activated = clear[_COL["activated_on"]]
    record: dict[str, Any] = {
        "msisdn": msisdn_from_key(int(clear[_COL["msisdn"]])),
        "subscriber_type": clear[_COL["subscriber_type"]],
        "payment_type": clear[_COL["payment_type"]],
        "activated_on": activated.isoformat() if isinstance(activated, date) else activated,
        "channel": clear[_COL["channel"]],
        "point_of_sale": clear[_COL["point_of_sale_code"]],
        "contract_number": clear[_COL["contract_number"]],
        "purpose": clear[_COL["purpose"]],
        "status": clear[_COL["status"]],
        **personal,
    }
    refs = clear[_COL["document_refs"]]
    if refs:
        record["documents"] = orjson.loads(refs)
    return {k: v for k, v in record.items() if v is not None}


def _get(record: Mapping[str, Any], path: str) -> Any:
    match = _USER.match(path)
    if match is not None:
        org = record.get("organization")
        users = org.get("users") if isinstance(org, Mapping) else None
        i = int(match[1])
        user = users[i] if isinstance(users, list) and i < len(users) else None
        return user.get(match[2]) if isinstance(user, Mapping) else None
    node: Any = record
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _set(personal: dict[str, Any], path: str, value: object) -> None:
    match = _USER.match(path)
    if match is not None:
        personal["organization"]["users"][int(match[1])][match[2]] = value
        return
    section, name = path.split(".", 1)
    personal[section][name] = value
