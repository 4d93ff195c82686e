"""The phone simulator page through the web app: the POST flow (MO answered, reply carried out through the
outbox to the built-in centre, receipts applied, audit in the staff member's name) and the refusals."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from subreg.adapters.db.tables import audit_log, sms_inbound, sms_outbox
from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from subreg.services.registry import store_subscription
from tests.auth_helpers import make_staff, web_login
from tests.records import complete_record, with_holder

NUMBER = "0912345678"
OTHER = "0912345679"  # a second line of the same holder
STRANGER = "0987654321"  # registered to someone else
ID_NUMBER = "079190123456"


def _seed(container: Any, record: dict[str, Any]) -> None:
    with container.uow() as uow:
        store_subscription(record, uow=uow, vault=container.vault, blobs=container.blobs, as_of=date(2026, 11, 28),
                           actor=None, channel="legacy_import", rule_set=container.rule_set)  # fmt: skip
        uow.commit()


def _app(tmp_path, **overrides: Any) -> TestClient:
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                        **overrides)  # fmt: skip
    init_storage(settings)
    return TestClient(create_app(settings))


@pytest.fixture
def web(tmp_path) -> Iterator[TestClient]:
    with _app(tmp_path) as client:
        c = client.app.state.container
        _seed(c, complete_record(msisdn=NUMBER))
        _seed(c, complete_record(msisdn=OTHER))
        _seed(c, with_holder(complete_record(msisdn=STRANGER), id_number="079203009999", full_name="Trần Văn Bình"))
        yield client


def _signed_in(client: TestClient, role: str) -> str:
    username, password = make_staff(client, role, "STORE-1" if role == "store_staff" else None)
    return web_login(client, username, password)


def _bubbles(page: str, direction: str) -> list[str]:
    found = re.findall(rf'data-testid="bubble-{direction}">.*?data-testid="bubble-text">(.*?)</p>', page, re.S)
    return [html.unescape(t) for t in found]


def _rows(client: TestClient, table: Any) -> list[Any]:
    with client.app.state.container.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(*table.primary_key.columns)))


class TestThePostFlow:
    def test_tttb_is_answered_through_the_outbox_and_the_centre_and_shown_on_the_phone(self, web):
        csrf = _signed_in(web, "store_staff")
        page = web.get("/pos/phone")
        assert page.status_code == 200
        assert NUMBER in page.text  # a sample number from the database

        opened = web.post("/pos/phone", data={"csrf_token": csrf, "action": "open", "pick": NUMBER})
        assert opened.status_code == 200
        assert 'data-testid="phone"' in opened.text
        assert _bubbles(opened.text, "mt") == []

        sent = web.post("/pos/phone", data={"csrf_token": csrf, "action": "send", "msisdn": NUMBER, "text": "TTTB"})
        assert sent.status_code == 200, sent.text
        assert _bubbles(sent.text, "mo") == ["TTTB"]
        [reply] = _bubbles(sent.text, "mt")
        assert "Nguyen Thi Anh" in reply or "Nguyễn Thị Ánh" in reply  # the name, as the reply template shows it
        assert ID_NUMBER not in reply
        assert ID_NUMBER[-4:] in reply
        # Carried out within the request: submitted to the built-in centre, its receipt applied.
        [mo] = _rows(web, sms_inbound)
        assert (mo.transport, mo.gateway_id, mo.state) == ("builtin", None, "answered")
        [mt] = _rows(web, sms_outbox)
        assert (mt.state, mt.transport, mt.inbound_id) == ("delivered", "builtin", mo.id)
        # The look-up is audited in the staff member's name, the screen view too; no number in clear.
        entries = {r.action: r for r in _rows(web, audit_log)}
        assert (entries["sms:lookup"].actor_staff_id, entries["sms:lookup"].actor_role) != (None, None)
        assert entries["sms:lookup"].actor_role == "store_staff"
        assert entries["sms:phone_viewed"].actor_staff_id == entries["sms:lookup"].actor_staff_id
        assert all(NUMBER[1:] not in str(r.subject) for r in entries.values())

    def test_tttb_with_the_holders_id_lists_the_holders_numbers(self, web):
        csrf = _signed_in(web, "compliance_officer")
        sent = web.post("/pos/phone", data={"csrf_token": csrf, "action": "send", "msisdn": NUMBER,
                                            "text": f"TTTB {ID_NUMBER}"})  # fmt: skip
        assert sent.status_code == 200, sent.text
        [reply] = _bubbles(sent.text, "mt")
        assert NUMBER[-4:] in reply
        assert OTHER[-4:] in reply
        assert STRANGER[-4:] not in reply

    def test_the_id_button_prefills_the_text_and_sends_nothing(self, web):
        csrf = _signed_in(web, "store_staff")
        page = web.post("/pos/phone", data={"csrf_token": csrf, "action": "id", "msisdn": NUMBER, "text": "TTTB"})
        assert page.status_code == 200
        assert 'name="text" value="TTTB "' in page.text
        assert _rows(web, sms_inbound) == []

    def test_a_wrong_number_or_an_empty_text_is_refused_with_the_field(self, web):
        csrf = _signed_in(web, "store_staff")
        bad = web.post("/pos/phone", data={"csrf_token": csrf, "action": "send", "msisdn": "12345", "text": "TTTB"})
        assert bad.status_code == 422
        assert 'id="msisdn-err"' in bad.text
        empty = web.post("/pos/phone", data={"csrf_token": csrf, "action": "send", "msisdn": NUMBER, "text": " "})
        assert empty.status_code == 422
        assert 'id="text-err"' in empty.text
        assert _rows(web, sms_inbound) == []

    def test_the_counter_navigation_links_the_simulator_only_for_roles_that_may_use_it(self, web):
        _signed_in(web, "store_staff")
        assert 'href="/pos/phone?lang=vi"' in web.get("/pos").text
        with TestClient(web.app) as other:
            _signed_in(other, "agent")
            assert "/pos/phone" not in other.get("/pos").text

    def test_english_on_request(self, web):
        _signed_in(web, "store_staff")
        page = web.get("/pos/phone?lang=en")
        assert "Phone simulator" in page.text
        assert "Mô phỏng điện thoại" in web.get("/pos/phone?lang=vi").text


class TestRefusals:
    @pytest.mark.parametrize("role", ["agent", "authorized_point", "admin", "auditor", "dpo"])
    def test_other_roles_get_the_gates_refusal_and_nothing_is_sent(self, web, role):
        csrf = _signed_in(web, role)
        got = web.get("/pos/phone", follow_redirects=False)
        assert got.status_code == 403
        posted = web.post("/pos/phone", data={"csrf_token": csrf, "action": "send", "msisdn": NUMBER, "text": "TTTB"},
                          follow_redirects=False)  # fmt: skip
        assert posted.status_code == 403
        assert _rows(web, sms_inbound) == []

    def test_the_refusal_is_the_same_as_other_pages(self, web):
        _signed_in(web, "admin")
        # The gate's one answer to `not_permitted`, naming the permission the route declares.
        phone, counter = web.get("/pos/phone"), web.get("/pos")
        assert phone.status_code == counter.status_code == 403
        assert phone.text == counter.text.replace("subscription:read", "sms:simulate")

    def test_without_a_session_the_browser_is_sent_to_sign_in(self, web):
        got = web.get("/pos/phone", follow_redirects=False)
        assert got.status_code in (302, 303, 307)
        assert got.headers["location"].startswith("/login")

    def test_a_post_without_the_csrf_token_is_refused(self, web):
        _signed_in(web, "store_staff")
        posted = web.post("/pos/phone", data={"action": "send", "msisdn": NUMBER, "text": "TTTB"})
        assert posted.status_code == 403
        assert _rows(web, sms_inbound) == []


def test_with_a_real_network_configured_the_simulator_sends_nothing(tmp_path):
    with _app(tmp_path, sms_transport="smpp") as web:
        _seed(web.app.state.container, complete_record(msisdn=NUMBER))
        csrf = _signed_in(web, "store_staff")
        page = web.get("/pos/phone")
        assert 'data-testid="phone-unavailable"' in page.text
        sent = web.post("/pos/phone", data={"csrf_token": csrf, "action": "send", "msisdn": NUMBER, "text": "TTTB"})
        assert sent.status_code == 409
        assert _rows(web, sms_inbound) == []
