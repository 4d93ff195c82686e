"""The dashboard through the web app: what each role sees, scoped by province on the page and in every CSV; the
offer to take today's snapshot when there is none; bad input answered clearly."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from subreg.services.access import set_provinces
from tests.auth_helpers import make_staff, web_login
from tests.e2e.test_phone_pages import _app, _seed
from tests.records import complete_record, with_holder

# Lines per point of sale: (code, province, complete lines, incomplete lines)
POINTS = (("HN-1", "001", 2, 1), ("HCM-1", "079", 1, 3))


@pytest.fixture
def web(tmp_path) -> Iterator[Any]:
    with _app(tmp_path) as client:
        c = client.app.state.container
        with c.uow() as uow:
            for code, province, _, _ in POINTS:
                uow.points_of_sale.add({"code": code, "kind": "store", "name": code, "province_code": province,
                                        "active": True})  # fmt: skip
            uow.commit()
        n = 0
        for code, _province, complete, incomplete in POINTS:
            for i in range(complete + incomplete):
                n += 1
                # A holder each (the same ID under 4+ lines would need a contract from the 4th on).
                record = with_holder(complete_record(msisdn=f"09123400{n:02d}", point_of_sale=code),
                                     id_number=f"0791901234{n:02d}")  # fmt: skip
                if i >= complete:
                    record["documents"] = {"confirmation_form": "blob:c1"}
                _seed(c, record)
        yield client


def _sign_in(client: Any, role: str, provinces: tuple[str, ...] = ()) -> str:
    username, password = make_staff(client, role)
    if provinces:
        with client.app.state.container.uow() as uow:
            set_provinces(uow, username, provinces)
    return web_login(client, username, password)


def _csv(client: Any, chart: str, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/reports/dashboard/{chart}.csv{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def _snapshot(client: Any) -> None:
    client.app.state.container.take_snapshot(client.app.state.container.clock.today())


class TestWithoutSnapshot:
    def test_the_dashboard_says_so_and_a_compliance_officer_takes_todays(self, web):
        csrf = _sign_in(web, "compliance_officer")
        page = web.get("/reports?lang=en")
        assert page.status_code == 200
        assert 'data-testid="no-snapshot"' in page.text
        assert 'data-testid="take-snapshot"' in page.text
        taken = web.post("/reports/snapshot?lang=en", data={"csrf_token": csrf}, follow_redirects=True)
        assert taken.status_code == 200
        assert 'data-testid="chart-progress"' in taken.text
        assert "<svg" in taken.text
        assert "<title" in taken.text
        assert {r["province"]: int(r["lines"]) for r in _csv(web, "provinces")} == {"001": 3, "079": 4}

    def test_a_regional_manager_is_not_offered_to_take_one(self, web):
        _sign_in(web, "regional_manager", ("001",))
        page = web.get("/reports?lang=en")
        assert 'data-testid="no-snapshot"' in page.text
        assert 'data-testid="take-snapshot"' not in page.text


class TestScope:
    def test_a_compliance_officer_sees_every_province(self, web):
        _snapshot(web)
        _sign_in(web, "compliance_officer")
        page = web.get("/reports")
        assert page.status_code == 200
        assert "Phạm vi: toàn mạng." in page.text  # Vietnamese by default
        rows = {r["province"]: r for r in _csv(web, "provinces")}
        assert {p: int(r["not_complete"]) for p, r in rows.items()} == {"001": 1, "079": 3}
        assert rows["079"]["share_not_complete_pct"] == "75.0"  # the furthest behind first
        assert list(rows) == ["079", "001"]
        progress = _csv(web, "progress")
        assert [(int(r["complete"]), int(r["not_complete"])) for r in progress] == [(3, 4)]

    def test_a_regional_manager_sees_only_its_provinces_on_the_page_and_in_every_csv(self, web):
        _snapshot(web)
        _sign_in(web, "regional_manager", ("001",))
        page = web.get("/reports?lang=en")
        assert page.status_code == 200
        assert "Scope: provinces 001." in page.text
        assert "079" not in page.text.split('data-testid="scope"')[1]
        assert [r["province"] for r in _csv(web, "provinces")] == ["001"]
        assert [(int(r["complete"]), int(r["not_complete"])) for r in _csv(web, "progress")] == [(2, 1)]
        # Asking for another province shows nothing, not that province.
        assert _csv(web, "provinces", "?province=079") == []
        assert [(int(r["complete"]), int(r["not_complete"])) for r in _csv(web, "progress", "?province=079")] == []

    def test_a_regional_manager_without_provinces_sees_nothing(self, web):
        _snapshot(web)
        _sign_in(web, "regional_manager")
        page = web.get("/reports?lang=en")
        assert "names no province" in page.text
        assert _csv(web, "provinces") == []
        assert _csv(web, "progress") == []

    @pytest.mark.parametrize("role", ["store_staff", "agent", "authorized_point", "auditor", "dpo", "admin"])
    def test_other_roles_are_refused(self, web, role):
        _snapshot(web)
        username, password = make_staff(web, role)
        web_login(web, username, password)
        assert web.get("/reports").status_code == 403
        assert web.get("/reports/dashboard/provinces.csv").status_code == 403


class TestBadInput:
    def test_a_future_date_a_reversed_period_and_an_unknown_province_are_explained(self, web):
        _sign_in(web, "compliance_officer")
        future = web.get("/reports?lang=en&to=2999-01-01")
        assert future.status_code == 422
        assert "Date is in the future" in future.text
        reversed_ = web.get("/reports?lang=en&from=2020-02-01&to=2020-01-01")
        assert reversed_.status_code == 422
        assert "The start is after the end" in reversed_.text
        assert web.get("/reports?lang=en&province=999").status_code == 422
        assert web.get("/reports/dashboard/nonsense.csv").status_code == 404
        assert web.get("/reports/dashboard/provinces.csv?to=2999-01-01").status_code == 422


def test_a_regional_manager_does_not_read_the_staff_anomaly_signals(web):
    from tests.auth_helpers import bearer

    username, password = make_staff(web, "regional_manager")
    response = web.get("/api/v1/audit/anomalies", headers=bearer(web, username, password))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    officer = make_staff(web, "compliance_officer")
    assert web.get("/api/v1/audit/anomalies", headers=bearer(web, *officer)).status_code == 200


def test_a_regional_manager_does_not_read_the_network_wide_signal_lists(web):
    _sign_in(web, "regional_manager", ("001",))
    page = web.get("/reports?lang=en")
    assert 'href="/signals' not in page.text  # not offered in the navigation...
    assert web.get("/signals?lang=en").status_code == 403  # ...and refused (out of its provinces' scope)
