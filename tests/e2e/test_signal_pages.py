"""The signal pages through the web app: a work list per kind for compliance officers (Vietnamese by default,
English on request), a decision with a reason (CSRF), opening a line through the audited card, bad input named,
and other roles refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from subreg.adapters.db.tables import audit_log, signal_reviews
from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from tests.auth_helpers import make_staff, web_login
from tests.records import complete_record, with_holder

NUMBERS = ("0902000001", "0902000002", "0902000003", "0902000004")


@pytest.fixture
def web(tmp_path) -> Iterator[TestClient]:
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_storage(settings)
    with TestClient(create_app(settings)) as client:
        c = client.app.state.container
        registry = c.registry()
        for number in NUMBERS:  # four lines under one ID document, none with a contract
            record = with_holder(complete_record(msisdn=number), id_number="079190123456")
            with c.uow() as uow:
                registry.store(record, uow=uow, as_of=date(2026, 11, 28), actor=None, channel="store")
                uow.commit()
        yield client


def _login(client: TestClient, role: str) -> str:
    username, password = make_staff(client, role)
    return web_login(client, username, password)


def _rows(client: TestClient, table):
    with client.app.state.container.engine.connect() as c:
        return c.execute(select(table)).all()


class TestTheSignalPages:
    def test_an_officer_works_through_the_list_in_vietnamese(self, web):
        csrf = _login(web, "compliance_officer")
        page = web.get("/signals")
        assert page.status_code == 200
        assert "Cảnh báo gian lận và chất lượng" in page.text
        assert page.text.count('data-testid="signal-row"') == 1
        assert "1 đang mở, 0 đã xem hoặc bỏ qua" in page.text
        for number in NUMBERS:
            assert number[1:] not in page.text
            assert "079190123456" not in page.text
        key = page.text.split('data-key="', 1)[1].split('"', 1)[0]

        saved = web.post("/signals/review", data={"csrf_token": csrf, "kind": "over_limit", "key": key,
                                                  "decision": "reviewed", "reason": "contract_on_file"},
                         follow_redirects=False)  # fmt: skip
        assert saved.status_code == 303
        after = web.get(saved.headers["location"])
        assert "Đã lưu quyết định." in after.text
        assert 'data-testid="no-signals"' in after.text
        assert [(r.decision, r.reason) for r in _rows(web, signal_reviews)] == [("reviewed", "contract_on_file")]
        shown_all = web.get("/signals?kind=over_limit&all=1")
        assert "Đã xem" in shown_all.text
        assert "Đã có hợp đồng giấy" in shown_all.text

    def test_opening_a_line_goes_through_the_audited_card_read(self, web):
        csrf = _login(web, "compliance_officer")
        page = web.get("/signals?kind=over_limit&lang=en")
        assert "ID documents with 4+ lines and no contract" in page.text
        line = page.text.split('name="line" value="', 1)[1].split('"', 1)[0]
        card = web.post("/signals/open-line", data={"csrf_token": csrf, "kind": "over_limit", "line": line})
        assert card.status_code == 200, card.text
        reads = [r for r in _rows(web, audit_log) if r.action == "subscription:read"]
        assert [(r.subject, r.purpose) for r in reads] == [(f"line:{line}", "enforcement")]
        assert "Nguyễn Thị Ánh" not in card.text  # the officer sees the card masked

    def test_bad_decisions_are_named_and_nothing_is_written(self, web):
        csrf = _login(web, "compliance_officer")
        page = web.get("/signals?lang=en")
        key = page.text.split('data-key="', 1)[1].split('"', 1)[0]
        bad = web.post("/signals/review?lang=en", data={"csrf_token": csrf, "kind": "over_limit", "key": key,
                                                        "decision": "reviewed", "reason": "because"})  # fmt: skip
        assert bad.status_code == 422
        assert "Value not allowed: reason" in bad.text
        gone = web.post("/signals/review?lang=en", data={"csrf_token": csrf, "kind": "over_limit",
                                                         "key": "ab" * 16 + ":4:4", "decision": "dismissed",
                                                         "reason": "false_positive"})  # fmt: skip
        assert gone.status_code == 404
        unknown = web.get("/signals?kind=nope&lang=en")
        assert unknown.status_code == 422
        assert "Value not allowed: kind" in unknown.text
        no_csrf = web.post("/signals/review", data={"kind": "over_limit", "key": key, "decision": "reviewed",
                                                    "reason": "false_positive"})  # fmt: skip
        assert no_csrf.status_code == 403
        assert _rows(web, signal_reviews) == []

    @pytest.mark.parametrize("role", ["store_staff", "auditor", "admin"])
    def test_other_roles_are_refused(self, web, role):
        csrf = _login(web, role)
        assert web.get("/signals").status_code == 403
        form = {"csrf_token": csrf, "kind": "over_limit", "key": "x", "decision": "reviewed", "reason": "other"}
        assert web.post("/signals/review", data=form).status_code == 403
