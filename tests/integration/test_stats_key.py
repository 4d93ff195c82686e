"""Migration 0010 (SQLite): lines stored before it get their statistics key, the key's index replaces the
seven-column one, `subreg stats` reads it, and a downgrade gives the old index back. PostgreSQL is unchanged."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from sqlalchemy import text

from subreg.adapters.db import stats_key
from subreg.adapters.db.bulk import open_bulk_session
from subreg.adapters.db.engine import _alembic_config, create_engine_for, migrate
from subreg.domain.compliance.rules import get_rule_set
from subreg.services.registry.stats import compliance_stats

PHASES_STORED = {"phase_1": 1, "phase_2": 1, "unknown": 1}
PHASES_2030 = {"phase_2": 3}  # activated in 2015: five years old by then


def _indexes(engine) -> set[str]:
    with engine.connect() as c:
        return {r[0] for r in c.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}


def test_lines_stored_before_0010_are_counted_by_their_key(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL groups by the columns")
    engine = create_engine_for(database_url)
    try:
        migrate(engine, revision="0009_ported_numbers")
        with engine.begin() as c:
            c.execute(text("INSERT INTO key_encryption_keys (wrapped_key, master_key_id, purpose, active) "
                           "VALUES (x'00', 'm', 'data', 1)"))  # fmt: skip
            c.execute(text("INSERT INTO holders (kind, aad_ref, kek_id, payload) VALUES ('person', x'01', 1, x'02')"))
            rows = [  # verdict, type, payment, channel, phase, province, mask
                (0, "individual", "prepaid", "store", 1, "079", 0),
                (1, "organization", "postpaid", "mobile_point", 2, None, 5),
                (None, None, None, None, None, "001", 0),
            ]
            for i, (v, st, pt, ch, ph, prov, mask) in enumerate(rows, 1):
                c.execute(
                    text("INSERT INTO subscriptions (id, msisdn, generation, holder_id, subscriber_type, payment_type, "
                         "channel, status, complete, missing, error_codes, rule_set, evaluated_on, version, verdict, "
                         "phase, province_code, missing_mask, activated_on) VALUES (:i, :m, 1, 1, :st, :pt, :ch, "
                         "'active', false, '', '', 'nd49-2017/2', '2018-04-24', 1, :v, :ph, :prov, :mask, :a)"),
                    {"i": i, "m": 84900000000 + i, "st": st, "pt": pt, "ch": ch, "v": v, "ph": ph, "prov": prov,
                     "mask": mask, "a": date(2015, 1, 1)},
                )  # fmt: skip
        assert "ix_subscriptions_stats" in _indexes(engine)
        migrate(engine)
        assert "ix_subscriptions_stats_key" in _indexes(engine)
        assert "ix_subscriptions_stats" not in _indexes(engine)
        with engine.connect() as c:
            keys = [k for (k,) in c.execute(text("SELECT stats_key FROM subscriptions ORDER BY id"))]
        assert [stats_key.unpack(k) for k in keys] == [
            (0, 1, "individual", "prepaid", "store", "079"),
            (1, 2, "organization", "postpaid", "mobile_point", None),
            (None, None, None, None, None, "001"),
        ]
        store = open_bulk_session(engine)
        try:
            query = "EXPLAIN QUERY PLAN SELECT stats_key, missing_mask, count(*) FROM subscriptions GROUP BY 1, 2"
            with engine.connect() as c:
                plan = " ".join(str(r[-1]) for r in c.execute(text(query)))
            assert "ix_subscriptions_stats_key" in plan
            stats = compliance_stats(store, rule_set=get_rule_set())
            assert (stats["total"], stats["by_channel"], stats["by_province"]) == (
                3, {"store": 1, "mobile_point": 1, "unknown": 1}, {"079": 1, "unknown": 1, "001": 1})  # fmt: skip
            later = compliance_stats(store, rule_set=get_rule_set(), as_of=date(2030, 1, 1))
            assert (stats["by_phase"], later["by_phase"]) == (PHASES_STORED, PHASES_2030)
        finally:
            store.close()
        config = _alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0009_ported_numbers")
        assert "ix_subscriptions_stats" in _indexes(engine)
        assert "ix_subscriptions_stats_key" not in _indexes(engine)
    finally:
        engine.dispose()
