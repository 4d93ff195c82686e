"""Bulk import (`subreg import` service): upsert, idempotency, history, rejects, encodings, dry run.

Runs on SQLite and PostgreSQL (the `container` fixture).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from subreg.adapters.db.bulk import DEFERRABLE_SQLITE_INDEXES, ensure_indexes, open_bulk_session
from subreg.adapters.files.import_sources import fingerprint, open_source
from subreg.adapters.files.records_io import write_csv, write_jsonl
from subreg.adapters.files.rejects import CsvRejectFile
from subreg.domain.registry.column_mapping import ColumnMapping, parse_mapping
from subreg.services.registry.demo_data import generate_records
from subreg.services.registry.importer import HOLDER_COLUMNS, SUB_COLUMNS, ImportOptions, ImportSummary, run_import

AS_OF = date(2018, 3, 15)
REFERENCE = date(2018, 4, 24)


def do_import(
    container: Any,
    path: Path,
    *,
    workers: int = 1,
    batch_size: int = 100,
    mapping: str = "",
    encoding: str = "auto",
    dry_run: bool = False,
    rejects: Path | None = None,
) -> ImportSummary:
    m = parse_mapping(mapping) if mapping else ColumnMapping()
    source = open_source(path, "auto", encoding, m)
    with _bulk_session(container) as store:
        return run_import(
            source,
            store=store,
            vault=container.vault,
            rule_set=container.rule_set,
            options=ImportOptions(
                as_of=AS_OF, phase_reference=REFERENCE, workers=workers, batch_size=batch_size, dry_run=dry_run
            ),
            fingerprint=fingerprint(path, source.format, source.encoding, mapping),
            pool=container.worker_pool(workers),
            open_rejects=lambda committed: CsvRejectFile(
                rejects or path.with_name(path.name + ".rejects.csv"), committed
            ),
        )


def dump_database(engine: Any, vault: Any) -> dict[str, Any]:
    """Everything an import decides, decrypted; ids, timestamps and keys (which differ per database) left out."""
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT s.msisdn, s.subscriber_type, s.payment_type, s.activated_on, s.channel, s.point_of_sale_code, "
                "s.contract_number, s.purpose, s.status, s.complete, s.missing, s.error_codes, s.version, s.verdict, "
                "s.phase, s.missing_mask, s.has_contract, s.province_code, s.document_refs, "
                "h.kind, h.id_type, h.province_code, h.id_blind, h.kek_id, h.wrapped_dek, h.aad_ref, h.payload "
                "FROM subscriptions s JOIN holders h ON h.id = s.holder_id ORDER BY s.msisdn"
            )
        ).all()
        counts = {
            t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
            for t in ("holders", "subscriptions", "subscription_history", "documents")
        }
        history = [
            tuple(r)
            for r in c.execute(
                text(
                    "SELECT s.msisdn, h.action, h.changes FROM subscription_history h "
                    "JOIN subscriptions s ON s.id = h.subscription_id ORDER BY s.msisdn, h.id"
                )
            )
        ]
        runs = [
            (r[0], orjson.loads(r[1]))
            for r in c.execute(text("SELECT status, counts FROM import_runs ORDER BY id")).all()
        ]
    blinds: dict[bytes, int] = {}
    records = []
    for r in rows:
        *clear, blind, kek_id, wrapped, aad_ref, payload = r
        dek = vault.unwrap(kek_id, wrapped)
        personal = orjson.loads(vault.open(dek, payload, b"holder:" + bytes(aad_ref)))
        group = None if blind is None else blinds.setdefault(bytes(blind), len(blinds))
        clear[3] = str(clear[3]) if clear[3] is not None else None
        clear[9] = bool(clear[9])
        clear[16] = bool(clear[16])
        records.append((*clear, group, personal))
    return {"records": records, "counts": counts, "history": history, "runs": runs}


def _demo(tmp_path: Path, n: int, seed: int = 5, kind: str = "jsonl") -> tuple[Path, list[dict[str, Any]]]:
    records = list(generate_records(n, seed, as_of=AS_OF))
    path = tmp_path / f"export.{kind}"
    with path.open("wb") as f:
        (write_csv if kind == "csv" else write_jsonl)(records, f)
    return path, records


class TestUpsert:
    def test_import_then_reimport_changes_nothing(self, container, tmp_path):
        path, _records = _demo(tmp_path, 400)
        first = do_import(container, path, workers=2)
        assert first.imported + first.rejected == 400
        assert first.imported > 380
        assert first.updated == 0
        before = dump_database(container.engine, container.vault)
        assert before["counts"]["subscriptions"] == first.imported
        assert before["counts"]["subscription_history"] == 0

        second = do_import(container, path)
        assert (second.imported, second.updated, second.unchanged) == (0, 0, first.imported)
        assert second.rejected == first.rejected
        assert second.incomplete == first.incomplete
        after = dump_database(container.engine, container.vault)
        assert after["records"] == before["records"]
        assert after["counts"] == before["counts"]

    def test_pool_and_inline_workers_store_the_same(self, container, tmp_path, settings):
        path, _ = _demo(tmp_path, 300, seed=8)
        do_import(container, path, workers=2, batch_size=50)
        pooled = dump_database(container.engine, container.vault)["records"]
        with container.engine.begin() as c:
            for t in ("subscriptions", "holders", "import_runs"):
                c.execute(text(f"DELETE FROM {t}"))  # noqa: S608
        do_import(container, path, workers=1, batch_size=300)
        assert dump_database(container.engine, container.vault)["records"] == pooled

    def test_newer_export_updates_changes_and_writes_history_without_personal_values(self, container, tmp_path):
        path, records = _demo(tmp_path, 200, seed=11)
        do_import(container, path)
        before = {r[0]: r for r in dump_database(container.engine, container.vault)["records"]}
        individuals = [r for r in records if r.get("subscriber_type") == "individual" and r.get("holder")]
        a, b = individuals[3], individuals[7]
        a["holder"]["full_name"] = "Trần Thị Mới"
        b["payment_type"] = "postpaid" if b.get("payment_type") == "prepaid" else "prepaid"
        newer = tmp_path / "newer.jsonl"
        with newer.open("wb") as f:
            write_jsonl(records, f)
        summary = do_import(container, newer)
        assert summary.updated == 2
        assert summary.imported == 0
        after = dump_database(container.engine, container.vault)
        assert after["counts"]["subscription_history"] == 2
        changes = {m: (action, orjson.loads(ch)) for m, action, ch in after["history"]}
        assert all(action == "updated" for action, _ in changes.values())
        fields = sorted(tuple(ch["fields"]) for _a, ch in changes.values())
        assert fields == [("holder.full_name",), ("payment_type",)]
        history_text = " ".join(ch for _m, _a, ch in after["history"])
        assert "Mới" not in history_text
        assert "Trần" not in history_text
        by_key = {r[0]: r for r in after["records"]}
        changed_names = [r[-1]["holder"]["full_name"] for r in by_key.values() if r[-1].get("holder")]
        assert "Trần Thị Mới" in changed_names
        versions = sorted(r[12] for r in by_key.values() if r != before[r[0]])
        assert versions == [2, 2]

    def test_repeated_number_in_one_file_later_row_wins(self, container, tmp_path):
        path, records = _demo(tmp_path, 30, seed=2)
        dup = orjson.loads(orjson.dumps(records[0]))
        dup["payment_type"] = "postpaid" if dup.get("payment_type") == "prepaid" else "prepaid"
        records.insert(5, dup)
        with path.open("wb") as f:
            write_jsonl(records, f)
        summary = do_import(container, path, batch_size=1000)
        assert summary.updated == 1
        out = dump_database(container.engine, container.vault)
        assert out["counts"]["subscription_history"] == 1
        assert orjson.loads(out["history"][0][2])["fields"] == ["payment_type"]

    def test_dry_run_writes_nothing(self, container, tmp_path):
        path, _ = _demo(tmp_path, 50)
        summary = do_import(container, path, dry_run=True)
        assert summary.imported + summary.rejected == 50
        out = dump_database(container.engine, container.vault)
        assert out["counts"]["subscriptions"] == 0
        assert out["runs"] == []


class TestRejects:
    def test_reject_file_has_line_field_code_message_and_original(self, container, tmp_path):
        good = orjson.dumps(next(generate_records(1, 1, as_of=AS_OF))).decode()
        lines = [
            good,
            '{"msisdn": "12345", "subscriber_type": "individual"}',
            "{not json",
            "",
            "[1, 2]",
            '{"subscriber_type": "individual", "holder": {"full_name": "Lê Văn Tám"}}',
        ]
        path = tmp_path / "in.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        rejects = tmp_path / "rejects.csv"
        summary = do_import(container, path, rejects=rejects)
        assert (summary.imported, summary.rejected) == (1, 4)
        rows = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8-sig"))))
        assert rows[0] == ["line", "field", "code", "message", "original"]
        body = [(int(r[0]), r[1], r[2], r[4]) for r in rows[1:]]
        assert body == [
            (2, "msisdn", "invalid_msisdn", lines[1]),
            (3, "", "invalid_json", lines[2]),
            (5, "", "invalid_format", lines[4]),
            (6, "msisdn", "required", lines[5]),
        ]
        assert all(r[3] for r in rows[1:])  # a message in the configured language

    def test_invalid_but_keyed_rows_are_stored_as_invalid(self, container, tmp_path):
        record = next(generate_records(1, 1, as_of=AS_OF))
        record["holder"]["date_of_birth"] = "not a date"
        path = tmp_path / "in.jsonl"
        path.write_bytes(orjson.dumps(record) + b"\n")
        summary = do_import(container, path)
        assert (summary.imported, summary.rejected, summary.incomplete) == (1, 0, 1)
        out = dump_database(container.engine, container.vault)
        assert out["records"][0][13] == 3  # verdict invalid
        assert "holder.date_of_birth:" in out["records"][0][11]


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _cp1258(s: str) -> bytes:
    # Windows-1258 has a few precomposed letters and combining tone marks: encode char by char.
    out = bytearray()
    for ch in unicodedata.normalize("NFC", s):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            d = unicodedata.normalize("NFD", ch)
            tone = next(c for c in d if c in _TONES)
            out += unicodedata.normalize("NFC", d.replace(tone, "")).encode("cp1258") + tone.encode("cp1258")
    return bytes(out)


MAPPING = """
[columns]
SO_THUE_BAO = "msisdn"
LOAI_TB = "subscriber_type"
HO_TEN = "holder.full_name"
NGAY_SINH = "holder.date_of_birth"
DIA_CHI = "holder.address"
[dates]
format = "%d/%m/%Y"
[values.subscriber_type]
"Cá nhân" = "individual"
"""


class TestEncodings:
    @pytest.mark.parametrize("encoding", ["auto", "cp1258"])
    def test_windows_1258_csv_with_mapping_is_decoded_and_nfc_normalized(self, container, tmp_path, encoding):
        content = (
            "SO_THUE_BAO;LOAI_TB;HO_TEN;NGAY_SINH;DIA_CHI\n"
            "0912345678;Cá nhân;Nguyễn Thị Hương;05/03/1990;12 Hàng Bạc, Hoàn Kiếm, Hà Nội\n"
        )
        path = tmp_path / "ansi.csv"
        raw = _cp1258(content)
        assert raw != content.encode("utf-8")
        path.write_bytes(raw)
        source = open_source(path, "auto", encoding, parse_mapping(MAPPING))
        assert source.encoding == "cp1258"
        summary = do_import(container, path, mapping=MAPPING, encoding=encoding)
        assert summary.imported == 1
        rec = dump_database(container.engine, container.vault)["records"][0]
        holder = rec[-1]["holder"]
        assert holder["full_name"] == "Nguyễn Thị Hương"
        assert unicodedata.is_normalized("NFC", holder["full_name"])
        assert holder["date_of_birth"] == "1990-03-05"
        assert holder["address"] == "12 Hàng Bạc, Hoàn Kiếm, Hà Nội"
        assert rec[1] == "individual"

    def test_utf8_with_bom_and_decomposed_text(self, container, tmp_path):
        path, _records = _demo(tmp_path, 20, seed=3, kind="csv")
        data = path.read_bytes()
        decomposed = unicodedata.normalize("NFD", data.decode("utf-8")).encode("utf-8")
        path.write_bytes(b"\xef\xbb\xbf" + decomposed)
        plain = tmp_path / "plain.csv"
        plain.write_bytes(data)
        do_import(container, path)
        first = dump_database(container.engine, container.vault)["records"]
        assert len(first) >= 19
        # The same file without BOM, precomposed: every record unchanged.
        summary = do_import(container, plain)
        assert summary.unchanged == len(first)
        assert summary.updated == 0


@contextmanager
def _bulk_session(container: Any) -> Iterator[Any]:
    store = open_bulk_session(container.engine)
    try:
        yield store
    finally:
        store.close()


def _only_on(container: Any, dialect: str, reason: str) -> Any:
    if container.engine.dialect.name != dialect:
        pytest.skip(reason)
    return container


def _index_names(engine: Any) -> set[str]:
    with engine.connect() as c:
        return {r[0] for r in c.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}


class TestDeferredIndexes:
    """A first load into SQLite builds its random-key indexes at the end; nothing is left without them."""

    @pytest.fixture
    def sqlite_container(self, container):
        return _only_on(container, "sqlite", "SQLite only: PostgreSQL keeps its indexes during COPY")

    def test_a_first_load_defers_them_and_a_later_one_does_not(self, sqlite_container, tmp_path):
        with _bulk_session(sqlite_container) as store:
            assert store.defer_indexes() is True  # empty table: a first load
            assert not set(DEFERRABLE_SQLITE_INDEXES) & _index_names(sqlite_container.engine)
            path, _ = _demo(tmp_path, 50)
            ensure_indexes(sqlite_container.engine)
        assert set(DEFERRABLE_SQLITE_INDEXES) <= _index_names(sqlite_container.engine)
        do_import(sqlite_container, path)
        with _bulk_session(sqlite_container) as store:
            assert store.defer_indexes() is False  # subscriptions exist: the indexes stay
        assert set(DEFERRABLE_SQLITE_INDEXES) <= _index_names(sqlite_container.engine)

    def test_the_resume_of_a_killed_first_load_keeps_deferring(self, sqlite_container, tmp_path):
        path, _ = _demo(tmp_path, 50)
        store = open_bulk_session(sqlite_container.engine)
        try:
            store.defer_indexes()
        finally:
            store.close()  # as a kill -9 would: rows in, indexes not built yet
        do_import(sqlite_container, path)
        with _bulk_session(sqlite_container) as store:
            assert store.defer_indexes() is True  # rows exist, but the indexes are gone: still the first load

    def test_ensure_indexes_rebuilds_what_a_load_left_out(self, sqlite_container, tmp_path):
        path, _ = _demo(tmp_path, 50)
        do_import(sqlite_container, path)
        with sqlite_container.engine.begin() as c:
            for name in DEFERRABLE_SQLITE_INDEXES:
                c.exec_driver_sql(f"DROP INDEX {name}")
        assert sorted(ensure_indexes(sqlite_container.engine)) == sorted(DEFERRABLE_SQLITE_INDEXES)
        assert set(DEFERRABLE_SQLITE_INDEXES) <= _index_names(sqlite_container.engine)
        assert ensure_indexes(sqlite_container.engine) == []


class TestBinaryCopy:
    """PostgreSQL: the importer's tables go by binary COPY (bytea as bytes), values as they were given."""

    @pytest.fixture
    def pg_container(self, container):
        return _only_on(container, "postgresql", "PostgreSQL only")

    def test_the_importer_tables_have_a_binary_form_and_a_text_only_type_does_not(self, pg_container):
        with _bulk_session(pg_container) as store:
            assert store._copy_types("holders", HOLDER_COLUMNS) is not None
            assert store._copy_types("subscriptions", SUB_COLUMNS) is not None
            assert store._copy_types("holders", ("id", "created_at")) is None  # timestamps go by text COPY

    def test_dates_given_as_iso_text_and_bytes_arrive_intact(self, pg_container, tmp_path):
        path, records = _demo(tmp_path, 30)
        do_import(pg_container, path)
        with pg_container.engine.connect() as c:
            rows = c.execute(text("SELECT msisdn, activated_on, evaluated_on, source_hash FROM subscriptions")).all()
        assert len(rows) == len(records)
        assert {r.evaluated_on for r in rows} == {AS_OF}
        activated = [r.activated_on for r in rows if r.activated_on is not None]
        assert activated
        assert all(isinstance(d, date) for d in activated)
        given = {rec["activated_on"] for rec in records if rec.get("activated_on")}
        assert {d.isoformat() for d in activated} <= given
        assert all(len(bytes(r.source_hash)) == 16 for r in rows)
