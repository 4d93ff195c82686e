"""The compliance officer's campaign pages through the web app: list, a new campaign with its preview, the
buttons that start, pause and resume it; Vietnamese by default, English on request; forms need their CSRF
token; other roles are refused."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from subreg.adapters.db.tables import audit_log
from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from tests.auth_helpers import make_staff, web_login
from tests.integration.campaign_lines import Line, seed_lines

FORM = {"name": "Đợt 1 chân dung", "start_on": "2026-12-10", "rate_per_bind": "1", "binds": "1",
        "hours": "08:00-09:00", "repeats": "3", "template": "campaign_reminder", "lang": "vi"}  # fmt: skip


@pytest.fixture
def web(tmp_path) -> Iterator[TestClient]:
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_storage(settings)
    with TestClient(create_app(settings)) as client:
        seed_lines(client.app.state.container.engine,
                   [Line(phase=1 + i % 2, objected=i == 2) for i in range(12)])  # fmt: skip
        yield client


def _officer(client: TestClient) -> str:
    username, password = make_staff(client, "compliance_officer")
    return web_login(client, username, password)


def _testid(page: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', page, re.S)
    assert match, name
    return html.unescape(match.group(1)).strip()


class TestTheCampaignPages:
    def test_preview_create_start_pause_resume_in_vietnamese(self, web):
        csrf = _officer(web)
        listed = web.get("/campaigns")
        assert listed.status_code == 200
        assert "Chiến dịch nhắc cập nhật thông tin" in listed.text
        assert "Chưa có chiến dịch nào." in listed.text
        assert web.get("/campaigns/new").status_code == 200

        preview = web.post("/campaigns/new", data={**FORM, "csrf_token": csrf, "action": "preview", "phases": "1"})
        assert preview.status_code == 200, preview.text
        assert _testid(preview.text, "preview-size") == "5"  # phase 1: 6 lines, one holder objected
        assert len(re.findall(r'data-testid="sample-text"', preview.text)) == 3
        assert "Kéo dài 3 ngày: 3 đợt, mỗi ngày một đợt." in preview.text  # three waves of 5 s
        assert 'data-testid="preview-days"' not in preview.text
        assert _testid(preview.text, "preview-finish") == "12/12/2026 08:00"
        assert 'value="1" checked' in preview.text  # the form keeps what was ticked
        assert "nha mang kinh nhac (lan 1/3)" in preview.text

        created = web.post("/campaigns/new", data={**FORM, "csrf_token": csrf, "action": "create", "phases": "1"},
                           follow_redirects=False)  # fmt: skip
        assert created.status_code == 303
        page = web.get(created.headers["location"])
        assert 'data-testid="created"' in page.text
        assert _testid(page.text, "state") == "Bản nháp"
        url = created.headers["location"].split("?")[0]
        started = web.post(url, data={"csrf_token": csrf, "action": "start"})
        assert _testid(started.text, "state") == "Đang gửi"
        assert 'data-testid="pause"' in started.text
        paused = web.post(url, data={"csrf_token": csrf, "action": "pause"})
        assert _testid(paused.text, "state") == "Tạm dừng"
        resumed = web.post(url, data={"csrf_token": csrf, "action": "resume"})
        assert _testid(resumed.text, "state") == "Đang gửi"
        again = web.post(url, data={"csrf_token": csrf, "action": "start"})
        assert again.status_code == 409
        assert "không thể thực hiện thao tác này" in again.text
        shown = web.post(url, data={"csrf_token": csrf, "action": "preview"})
        assert _testid(shown.text, "preview-size") == "5"
        assert "Đợt 1 chân dung" in web.get("/campaigns").text

        with web.app.state.container.engine.connect() as c:
            rows = c.execute(select(audit_log.c.action, audit_log.c.actor_role).where(
                audit_log.c.action.like("campaign:%")).order_by(audit_log.c.seq)).all()  # fmt: skip
        assert [a for a, _ in rows] == ["campaign:previewed", "campaign:created", "campaign:started",
                                        "campaign:paused", "campaign:resumed", "campaign:previewed"]  # fmt: skip
        assert {r for _, r in rows} == {"compliance_officer"}

    def test_a_wave_longer_than_a_day_is_flagged(self, web):
        csrf = _officer(web)
        seed_lines(web.app.state.container.engine, [Line() for _ in range(130)], points=False)
        # 141 lines at 1 message a second inside a 1-minute window: 141 s of sending is 3 days
        slow = {**FORM, "csrf_token": csrf, "action": "preview", "hours": "08:00-08:01", "repeats": "1"}
        page = web.post("/campaigns/new?lang=en", data=slow)
        assert _testid(page.text, "preview-size") == "141"
        assert "One wave takes 3 days, the campaign 3 days" in html.unescape(page.text)
        fast = web.post("/campaigns/new?lang=en", data={**slow, "rate_per_bind": "10"})
        assert 'data-testid="preview-days"' not in fast.text  # 14 s: within the morning's minute

    def test_in_english_and_with_every_wrong_field_named(self, web):
        csrf = _officer(web)
        assert "Reminder campaigns" in web.get("/campaigns?lang=en").text
        typed = {"csrf_token": csrf, "action": "preview", "name": "", "start_on": "", "rate_per_bind": "0",
                 "hours": "all day"}  # fmt: skip
        bad = web.post("/campaigns/new?lang=en", data=typed)
        assert bad.status_code == 422
        for message in ("Required field is missing: name", "Value out of the allowed range: rate_per_bind",
                        "Invalid format: hours"):  # fmt: skip
            assert message in html.unescape(bad.text)

    def test_an_unknown_campaign_is_404(self, web):
        _officer(web)
        assert web.get("/campaigns/999999").status_code == 404

    def test_a_form_without_its_csrf_token_is_refused(self, web):
        _officer(web)
        refused = web.post("/campaigns/new", data={**FORM, "action": "create"})
        assert refused.status_code == 403
        assert "Chưa có chiến dịch nào." in web.get("/campaigns").text

    @pytest.mark.parametrize("role", ["store_staff", "auditor", "dpo", "admin"])
    def test_other_roles_are_refused(self, web, role):
        username, password = make_staff(web, role, "STORE-1" if role == "store_staff" else None)
        web_login(web, username, password)
        assert web.get("/campaigns").status_code == 403
