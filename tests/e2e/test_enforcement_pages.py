"""The enforcement page through the web app: the timeline, a dry-run preview that changes nothing, failed network
orders queued again (audited); the counter card's enforcement section; the phone simulator's line state."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text

from subreg.adapters.db.tables import audit_log, network_orders, subscriptions
from tests.e2e.test_phone_pages import _app, _seed, _signed_in
from tests.records import complete_record

NUMBER = "0912345678"
INCOMPLETE = "0912345679"


@pytest.fixture
def web(tmp_path) -> Iterator:
    with _app(tmp_path) as client:
        c = client.app.state.container
        _seed(c, complete_record(msisdn=NUMBER))
        record = complete_record(msisdn=INCOMPLETE)
        record["documents"] = {"confirmation_form": "blob:c1"}
        _seed(c, record)
        yield client


def _total(page: str, action: str) -> int:
    found = re.search(rf'data-testid="total-{action}">([\d,]+)<', page)
    assert found, page
    return int(found.group(1).replace(",", ""))


def test_a_compliance_officer_sees_the_timeline_and_previews_a_sweep_that_changes_nothing(web):
    csrf = _signed_in(web, "compliance_officer")
    page = web.get("/pos/enforcement?lang=en")
    assert page.status_code == 200
    assert "nd49-2017" in page.text
    assert page.text.count('data-testid="timeline-step"') == 3
    preview = web.post(
        "/pos/enforcement?lang=en", data={"csrf_token": csrf, "action": "preview", "as_of": "2018-04-25"}
    )
    assert preview.status_code == 200
    assert _total(preview.text, "notify") == 1
    with web.app.state.container.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM subscriptions WHERE enf_state IS NOT NULL")).scalar() == 0
    bad = web.post("/pos/enforcement?lang=en", data={"csrf_token": csrf, "action": "preview", "as_of": "2018-13-01"})
    assert bad.status_code == 422


def test_failed_orders_are_listed_and_queued_again(web):
    c = web.app.state.container
    with c.engine.begin() as conn:
        line = conn.execute(select(subscriptions.c.id).limit(1)).scalar_one()
        conn.execute(network_orders.insert().values(
            subscription_id=line, action="lock_one_way", status="failed", reason="information_incomplete",
            attempts=10, last_error="unknown_subscriber", created_at=datetime.now(UTC),
        ))  # fmt: skip
    csrf = _signed_in(web, "compliance_officer")
    page = web.get("/pos/enforcement?lang=en")
    assert page.text.count('data-testid="failed-order"') == 1
    assert "unknown_subscriber" in page.text
    order_id = int(re.search(r'name="order" value="(\d+)"', page.text).group(1))
    done = web.post("/pos/enforcement?lang=en", data={"csrf_token": csrf, "action": "retry", "order": str(order_id)},
                    follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    with c.engine.connect() as conn:
        status = conn.execute(select(network_orders.c.status, network_orders.c.attempts)).one()
        audited = conn.execute(select(audit_log.c.action).where(audit_log.c.action == "network:order")).all()
    assert tuple(status) == ("queued", 0)
    assert len(audited) == 1
    assert 'data-testid="failed-order"' not in web.get("/pos/enforcement?lang=en").text


def test_store_staff_cannot_open_it(web):
    _signed_in(web, "store_staff")
    assert web.get("/pos/enforcement").status_code == 403


def test_the_counter_card_and_the_phone_show_a_locked_line(web):
    from subreg.services.enforcement.sweep import sweep

    c = web.app.state.container
    options, notices = c.enforcement_options(), c.notices()
    for day in ("2018-04-25", "2018-04-26", "2018-04-27", "2018-04-28", "2018-04-29", "2018-05-10"):
        sweep(uow=c.uow(), as_of=date.fromisoformat(day), now=datetime.now(UTC), options=options, notices=notices)
    from subreg.services.enforcement.orders import carry_out

    carry_out(uow_factory=c.uow, network=c.network(), options=options, now=lambda: datetime.now(UTC))
    csrf = _signed_in(web, "store_staff")
    card = web.post("/pos/lookup?lang=en", data={"csrf_token": csrf, "msisdn": INCOMPLETE, "purpose": "update"})
    assert card.status_code == 200, card.text
    assert 'data-testid="enforcement-state"' in card.text
    steps = re.findall(r"<li>(\d{4}-\d\d-\d\d) — ([^<]+)</li>", card.text)
    assert [d for d, _ in steps] == ["2018-04-25", "2018-04-26", "2018-04-27", "2018-04-28", "2018-04-29", "2018-05-10"]
    assert "2018-05-25" in html.unescape(card.text)  # the two-way lock's first day: 15 days after the one-way
    phone = web.post("/pos/phone?lang=en", data={"csrf_token": csrf, "action": "open", "pick": INCOMPLETE})
    assert 'data-testid="phone-access"' in phone.text
    sent = web.post("/pos/phone?lang=en", data={"csrf_token": csrf, "action": "send", "msisdn": INCOMPLETE,
                                                "text": "TTTB"})  # fmt: skip
    assert sent.status_code == 200
    assert re.search(r'data-testid="bubble-mt"', sent.text)  # 1414 still answers a locked line
