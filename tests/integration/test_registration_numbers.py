"""Registration refuses a number that is not this operator's (ranges + MNP list), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subreg.adapters.db.tables import audit_log, consents, subscriptions
from subreg.domain.common.errors import InputError
from subreg.domain.common.msisdn import MOBILE_PREFIXES, msisdn_key
from subreg.domain.common.operator_numbers import operator_numbers
from subreg.services import counter
from subreg.services.counter.commands import RegisterSubscription
from tests.fixtures.images import registration_images
from tests.integration.test_pos_service import NOW, _new, actor, blob_files, ctx
from tests.integration.test_pos_service import rows as table_rows

MOBIFONE = ["070", "076", "077", "078", "079", "089", "090", "093"]
LOADED = NOW


def numbers_ctx(container: Any, ranges: list[str]) -> Any:
    return dataclasses.replace(ctx(container), numbers=operator_numbers(ranges))


def port(container: Any, rows: list[tuple[str, str]]) -> None:
    with container.uow() as uow:
        uow.ported.put_many([(msisdn_key("+84" + n[1:]), d) for n, d in rows], loaded_at=LOADED)
        uow.commit()


def register(container: Any, number: str, context: Any, store: Any) -> dict[str, Any]:
    return counter.register_subscription(
        RegisterSubscription(_new(number), registration_images()), uow=container.uow(), ctx=context, actor=store
    )


def refused_code(container: Any, number: str, context: Any, store: Any) -> tuple[str, str]:
    with pytest.raises(InputError) as refused:
        register(container, number, context, store)
    (error,) = refused.value.errors
    return error.field, error.code


def nothing_written(container: Any) -> bool:
    return (
        not table_rows(container, subscriptions) and not table_rows(container, consents) and not (blob_files(container))
    )


# Any valid national mobile number; the MobiFone ones are filtered out where a test needs another operator's.
national = st.tuples(st.sampled_from(sorted(MOBILE_PREFIXES)), st.integers(0, 10**9)).map(
    lambda t: (t[0] + f"{t[1]:09d}")[:10]
)


class TestRegistrationRefusesOtherOperatorsNumbers:
    def test_a_number_outside_the_ranges_is_refused_before_anything_is_written(self, container):
        store = actor(container, "store_staff", "STORE-1", "store")
        assert refused_code(container, "0981111111", numbers_ctx(container, MOBIFONE), store) == (
            "msisdn",
            "not_operator_number",
        )
        assert nothing_written(container)
        assert "subscription:registered" not in {r.action for r in table_rows(container, audit_log)}

    def test_a_number_within_the_ranges_is_registered(self, container):
        store = actor(container, "store_staff", "STORE-1", "store")
        done = register(container, "0901111111", numbers_ctx(container, MOBIFONE), store)
        assert done["complete"] is True

    def test_a_number_ported_in_is_registered_whatever_its_prefix(self, container):
        port(container, [("0981111111", "in")])
        store = actor(container, "store_staff", "STORE-1", "store")
        done = register(container, "0981111111", numbers_ctx(container, MOBIFONE), store)
        assert done["msisdn"] == "+84981111111"

    def test_a_number_ported_out_is_refused_even_in_the_ranges(self, container):
        port(container, [("0901111111", "out")])
        store = actor(container, "store_staff", "STORE-1", "store")
        assert refused_code(container, "0901111111", numbers_ctx(container, MOBIFONE), store)[1] == (
            "not_operator_number"
        )
        assert nothing_written(container)

    def test_without_ranges_every_number_is_accepted_but_one_ported_out(self, container):
        port(container, [("0901111112", "out")])
        store = actor(container, "store_staff", "STORE-1", "store")
        assert register(container, "0981111111", ctx(container), store)["complete"] is True
        assert refused_code(container, "0901111112", ctx(container), store)[1] == "not_operator_number"

    def test_an_invalid_number_stays_invalid_msisdn(self, container):
        store = actor(container, "store_staff", "STORE-1", "store")
        assert refused_code(container, "0241234567", numbers_ctx(container, MOBIFONE), store) == (
            "msisdn",
            "invalid_msisdn",
        )

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(number=national, ported=st.sampled_from([None, "out"]))
    def test_any_number_not_the_operators_is_refused(self, container, number, ported):
        # Outside the ranges and not ported in, or ported out whatever the ranges: refused, nothing written.
        in_ranges = number.startswith(tuple(MOBIFONE))
        if ported is None and in_ranges:
            number = "098" + number[3:]
        if ported:
            port(container, [(number, ported)])
        store = actor(container, "store_staff", "STORE-1", "store")
        try:
            assert refused_code(container, number, numbers_ctx(container, MOBIFONE), store) == (
                "msisdn",
                "not_operator_number",
            )
            assert nothing_written(container)
        finally:
            with container.uow() as uow:
                uow.ported.clear()
                uow.commit()
