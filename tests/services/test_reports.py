"""Reports' use cases on the in-memory fakes: a snapshot's figures, a day kept unless replaced, bad dates, the
dashboard's scope per role, and the regional manager's provinces on staff accounts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from subreg.domain.access.permissions import Actor, Role
from subreg.domain.common.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from subreg.services.access import create_staff, list_staff, set_provinces
from subreg.services.reports.dashboard import DashboardQuery, read_dashboard
from subreg.services.reports.snapshots import TakeSnapshot, take_snapshot
from tests.report_data import AS_OF, expected, generate, load_memory

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
OFFICER = Actor(staff_id=4, role=Role.COMPLIANCE_OFFICER)


@pytest.fixture
def loaded(fakes):
    data = generate(seed=11, n=120)
    load_memory(fakes.db, data)
    return fakes, data


def _take(fakes, day=AS_OF, *, replace=False):
    return take_snapshot(TakeSnapshot(day, replace), uow=fakes.uow(), rule_set=fakes.rule_set, tz=TZ, now=NOW,
                         actor=OFFICER)  # fmt: skip


def _figures(fakes) -> dict[tuple[str, str, str], int]:
    return {(r["dimension"], r["province"], r["key"]): r["n"] for r in fakes.db.rows("snapshot_figures")}


class TestTakeSnapshot:
    def test_the_figures_are_the_counts_of_the_generated_rows(self, loaded):
        fakes, data = loaded
        taken = _take(fakes)
        assert _figures(fakes) == dict(expected(data))
        assert taken.lines == 120
        assert [r["action"] for r in fakes.db.rows("audit_log")] == ["report:snapshot_taken"]

    def test_a_second_snapshot_of_the_day_is_refused_unless_replaced(self, loaded):
        fakes, _data = loaded
        first = _take(fakes)
        with pytest.raises(ConflictError) as refused:
            _take(fakes)
        assert [e.code for e in refused.value.errors] == ["snapshot_exists"]
        again = _take(fakes, replace=True)
        assert again.replaced
        assert not first.replaced
        assert len(fakes.db.rows("report_snapshots")) == 1

    @pytest.mark.parametrize(
        ("day", "code"), [(date(2026, 11, 22), "date_in_future"), ("2026-02-30", "invalid_format")]
    )
    def test_a_future_or_unreadable_day_is_refused(self, loaded, day, code):
        fakes, _data = loaded
        with pytest.raises(InputError) as refused:
            _take(fakes, day)
        assert [(e.field, e.code) for e in refused.value.errors] == [("as_of", code)]
        assert fakes.db.rows("report_snapshots") == []


class TestDashboard:
    def _board(self, fakes, actor, **query):
        return read_dashboard(DashboardQuery(**query), uow=fakes.uow(), actor=actor, today=AS_OF)

    def test_without_a_snapshot_the_dashboard_has_no_figures(self, loaded):
        fakes, _data = loaded
        board = self._board(fakes, OFFICER)
        assert board.latest is None
        assert all(chart.rows == [] for chart in board.charts.values())

    def test_a_compliance_officer_sees_every_province_and_a_manager_its_own(self, loaded):
        fakes, data = loaded
        _take(fakes)
        want = expected(data)
        board = self._board(fakes, OFFICER)
        assert board.provinces is None
        assert {r[0]: r[1] for r in board.charts["provinces"].rows} == {
            p: n for (d, p, _k), n in want.items() if d == "lines"
        }
        with fakes.uow() as uow:
            uow.staff_provinces.replace_provinces(4, frozenset({"001", "048"}))
            uow.commit()
        manager = Actor(staff_id=4, role=Role.REGIONAL_MANAGER)
        board = self._board(fakes, manager)
        assert board.provinces == {"001", "048"}
        assert {r[0] for r in board.charts["provinces"].rows} <= {"001", "048"}
        funnel = {r[0]: r[1] for r in board.charts["funnel"].rows}
        assert funnel["notified"] == want["enforcement", "001", "notified"] + want["enforcement", "048", "notified"]
        assert self._board(fakes, manager, province="079").charts["provinces"].rows == []

    @pytest.mark.parametrize("role", [Role.STORE_STAFF, Role.AUDITOR, Role.DPO, Role.ADMIN])
    def test_roles_without_reports_read_are_refused(self, loaded, role):
        fakes, _data = loaded
        with pytest.raises(PermissionDeniedError):
            self._board(fakes, Actor(staff_id=1, role=role, point_of_sale_id=1, pos_kind="store"))

    def test_bad_periods_and_provinces_are_explained(self, loaded):
        fakes, _data = loaded
        for query, error in (
            ({"end": "2026-11-21"}, ("to", "date_in_future")),
            ({"start": "2026-11-20", "end": "2026-11-01"}, ("from", "date_range_reversed")),
            ({"start": "tomorrow"}, ("from", "invalid_format")),
            ({"province": "999"}, ("province", "unknown_province_code")),
        ):
            with pytest.raises(InputError) as refused:
                self._board(fakes, OFFICER, **query)
            assert (refused.value.errors[0].field, refused.value.errors[0].code) == error


class TestRegionalManagerAccounts:
    def test_provinces_are_set_validated_and_listed(self, fakes):
        with fakes.uow() as uow:
            create_staff(uow, "hung", "Hùng", "regional_manager", None, provinces=["001", "079"])
        with fakes.uow() as uow:
            assert uow.staff_provinces.provinces_of(1) == {"001", "079"}
            assert set_provinces(uow, "hung", ["048"]) == {"048"}
        with fakes.uow() as uow:
            assert [a.provinces for a in list_staff(uow)] == [("048",)]
            with pytest.raises(InputError) as unknown:
                set_provinces(uow, "hung", ["003"])
            assert unknown.value.errors[0].code == "unknown_province_code"

    def test_only_a_regional_manager_names_provinces(self, fakes):
        with fakes.uow() as uow, pytest.raises(InputError) as refused:
            create_staff(uow, "lan", "Lan", "compliance_officer", None, provinces=["001"])
        assert refused.value.errors[0].code == "provinces_not_allowed"
        with fakes.uow() as uow, pytest.raises(NotFoundError):
            set_provinces(uow, "nobody", ["001"])
