"""The review queue's pages through the web app: a supervisor takes the next item, sees the line with its
images, decides with a reason (CSRF); a stale version and bad input are shown on the page; the point of sale
sees the outcome on the card; other roles are refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from subreg.adapters.db.tables import audit_log, network_orders, review_items
from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from tests.auth_helpers import make_staff, web_login
from tests.fixtures.images import registration_images
from tests.records import complete_record

NUMBERS = ("0902000001", "0902000002")


@pytest.fixture
def web(tmp_path) -> Iterator[TestClient]:
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_storage(settings)
    with TestClient(create_app(settings)) as client:
        c = client.app.state.container
        registry = c.registry()
        for n, number in enumerate(NUMBERS):
            with c.uow() as uow:
                registry.store(complete_record(msisdn=number), uow=uow, as_of=date(2026, 11, 28), actor=None,
                               channel="store", images=registration_images())  # fmt: skip
                line = uow.subscriptions.get_by_id(n + 1)
                uow.reviews.submit(subscription_id=line.id, kind="registration", flags="card_mismatch,narrow_image",
                                   version=line.version, point_of_sale_id=None, submitted_by=None,
                                   now=c.clock.now())  # fmt: skip
                uow.commit()
        yield client


def _login(client: TestClient, role: str, pos: str | None = None) -> str:
    username, password = make_staff(client, role, pos)
    return web_login(client, username, password)


def _rows(client: TestClient, table):
    with client.app.state.container.engine.connect() as c:
        return c.execute(select(table)).all()


def _version(page: str) -> str:
    return page.split('name="version" value="', 1)[1].split('"', 1)[0]


def _action(page: str) -> str:
    return page.split('data-testid="decide-form"', 1)[0].rsplit('action="', 1)[1].split('"', 1)[0]


class TestTheReviewPages:
    def test_a_supervisor_takes_an_item_sees_it_and_rejects_it(self, web):
        csrf = _login(web, "supervisor", "HN-SUP-1")
        page = web.get("/review")
        assert page.status_code == 200
        assert "Kiểm duyệt" in page.text
        assert 'data-testid="pending"' in page.text
        taken = web.post("/review/next", data={"csrf_token": csrf}, follow_redirects=False)
        assert taken.status_code == 303
        item = web.get(taken.headers["location"])
        assert item.status_code == 200
        assert "QR/MRZ khác dữ liệu nhập" in item.text
        assert "Ảnh đạt sát ngưỡng" in item.text
        assert item.text.count("/image?purpose=review") >= 3
        img = web.get(item.text.split('<img src="', 1)[1].split('"', 1)[0])
        assert img.status_code == 200
        assert img.headers["content-type"].startswith("image/")
        action = _action(item.text)
        done = web.post(action, data={"csrf_token": csrf, "decision": "rejected", "reason": "person_mismatch",
                                      "note": "", "version": _version(item.text)}, follow_redirects=False)  # fmt: skip
        assert done.status_code == 303
        (order,) = _rows(web, network_orders)
        assert (order.action, order.reason) == ("lock_two_way", "review_rejected")
        actions = [r.action for r in _rows(web, audit_log)]
        assert {"review:claimed", "review:decided", "document:image_viewed"} <= set(actions)

        store = TestClient(web.app)
        _login(store, "store_staff")
        card = store.post("/pos/lookup", data={"csrf_token": store.cookies.get("subreg_csrf"), "msisdn": NUMBERS[0],
                                               "purpose": "transaction"})  # fmt: skip
        assert 'data-testid="review"' in card.text
        assert "Bị từ chối" in card.text

    def test_two_supervisors_get_different_items_and_the_first_ones_item_is_not_the_seconds(self, web):
        first, second = TestClient(web.app), TestClient(web.app)
        csrf1, csrf2 = _login(first, "supervisor", "HN-SUP-1"), _login(second, "supervisor", "HN-SUP-2")
        one = first.post("/review/next", data={"csrf_token": csrf1}, follow_redirects=False).headers["location"]
        two = second.post("/review/next", data={"csrf_token": csrf2}, follow_redirects=False).headers["location"]
        assert one.split("?")[0] != two.split("?")[0]
        stolen = second.get(one)
        assert stolen.status_code == 409
        assert "không do bạn giữ" in stolen.text

    def test_a_stale_version_and_bad_input_are_shown_on_the_item_in_english(self, web):
        csrf = _login(web, "supervisor", "HN-SUP-1")
        location = web.post("/review/next?lang=en", data={"csrf_token": csrf}, follow_redirects=False).headers[
            "location"
        ]
        item = web.get(location)
        action = _action(item.text)
        bad = web.post(action, data={"csrf_token": csrf, "decision": "maybe", "reason": "because",
                                     "version": _version(item.text)})  # fmt: skip
        assert bad.status_code == 422
        assert 'data-testid="error-decision"' in bad.text
        assert 'data-testid="error-reason"' in bad.text
        stale = web.post(action, data={"csrf_token": csrf, "decision": "approved", "reason": "documents_consistent",
                                       "version": "999"})  # fmt: skip
        assert stale.status_code == 409
        assert 'data-testid="stale"' in stale.text
        assert _rows(web, review_items)[0].state == "pending"

    @pytest.mark.parametrize("role", ["store_staff", "compliance_officer", "admin"])
    def test_other_roles_are_refused(self, web, role):
        csrf = _login(web, role)
        assert web.get("/review").status_code == 403
        assert web.post("/review/next", data={"csrf_token": csrf}, follow_redirects=False).status_code == 403
