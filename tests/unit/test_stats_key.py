"""The statistics key packs a line's statistics dimensions into one integer (SQLite): what SQLite computes
from the columns reads back as the same dimensions, for every combination."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from subreg.adapters.db import stats_key
from subreg.domain.compliance import records

_MIGRATION = Path(stats_key.__file__).parent / "migrations" / "versions" / "0010_stats_key.py"


def _migration():
    spec = importlib.util.spec_from_file_location("m0010", _MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lists_only_grow_by_appending_what_the_domain_adds():
    # A value's position is stored in keys: the frozen lists start with the domain's, in its order.
    assert stats_key.SUBSCRIBER_TYPES[: len(records.SUBSCRIBER_TYPES)] == records.SUBSCRIBER_TYPES
    assert stats_key.PAYMENT_TYPES[: len(records.PAYMENT_TYPES)] == records.PAYMENT_TYPES
    assert stats_key.CHANNELS[: len(records.CHANNELS)] == records.CHANNELS
    assert set(records.CHANNELS) == set(stats_key.CHANNELS)  # a channel added to the domain needs a migration


def test_the_migration_created_the_column_with_this_expression():
    assert _migration().STATS_KEY_SQL == stats_key.SQL


_DB = sqlite3.connect(":memory:")
_DB.execute(
    "CREATE TABLE s (verdict INTEGER, subscriber_type TEXT, payment_type TEXT, channel TEXT, phase INTEGER, "
    f"province_code TEXT, stats_key INTEGER GENERATED ALWAYS AS ({stats_key.SQL}) VIRTUAL)"
)


@settings(max_examples=300, deadline=None)
@given(
    verdict=st.sampled_from([None, 0, 1, 2, 3]),
    subscriber_type=st.sampled_from([None, *records.SUBSCRIBER_TYPES]),
    payment_type=st.sampled_from([None, *records.PAYMENT_TYPES]),
    channel=st.sampled_from([None, *records.CHANNELS]),
    phase=st.sampled_from([None, 1, 2]),
    province=st.one_of(st.none(), st.integers(0, 999).map(lambda n: f"{n:03d}")),
)
def test_what_sqlite_packs_reads_back_as_the_same_dimensions(
    verdict, subscriber_type, payment_type, channel, phase, province
):
    row = (verdict, subscriber_type, payment_type, channel, phase, province)
    _DB.execute("DELETE FROM s")
    _DB.execute("INSERT INTO s VALUES (?, ?, ?, ?, ?, ?)", row)
    (key,) = _DB.execute("SELECT stats_key FROM s").fetchone()
    assert stats_key.unpack(key) == (verdict, phase, subscriber_type, payment_type, channel, province)


def test_a_value_outside_the_lists_reads_back_as_unknown():
    _DB.execute("DELETE FROM s")
    _DB.execute("INSERT INTO s VALUES (1, 'alien', 'barter', 'carrier_pigeon', 2, '079')")
    (key,) = _DB.execute("SELECT stats_key FROM s").fetchone()
    assert stats_key.unpack(key) == (1, 2, None, None, None, "079")
