"""KannelTransport against httpx.MockTransport: what it sends to sendsms, how it reads the answers."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote_to_bytes, urlsplit

import httpx
import pytest
from structlog.testing import capture_logs

from subreg.adapters.sms.kannel import DLR_MASK, KannelConfig, KannelTransport
from subreg.services.sms.ports import OutboundMessage, Part

CONFIG = KannelConfig(
    sendsms_url="http://kannel.test:13013/cgi-bin/sendsms",
    username="subreg",
    password="sendsms-pw-7f3",
    dlr_url="http://subreg.test/sms/kannel/main/dlr?secret=s3cr3t",
    smsc="vnpt",
)
NUMBER = "84901234567"


def message(*parts: Part, encoding: str = "gsm7", outbox_id: int = 42) -> OutboundMessage:
    return OutboundMessage(id=outbox_id, to=NUMBER, sender="1414", encoding=encoding, parts=parts)  # type: ignore[arg-type]


def three_parts() -> tuple[Part, ...]:
    return tuple(Part(bytes([5, 0, 3, 7, 3, n]), f"part {n}") for n in (1, 2, 3))


class Kannel:
    """A scripted sendsms: answers from `answers` in turn (status or exception), records requests."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 202
        if isinstance(answer, Exception):
            raise answer
        body = {202: b"0: Accepted for delivery", 503: b"Sending failed.", 403: b"Authorization failed for sendsms"}
        return httpx.Response(answer, content=body.get(answer, b"Error"))

    def query(self, n: int) -> dict[str, list[str]]:
        return parse_qs(urlsplit(str(self.requests[n].url)).query, keep_blank_values=True)

    def raw_query(self, n: int) -> str:
        return self.requests[n].url.query.decode()


def transport(kannel: Kannel) -> KannelTransport:
    return KannelTransport(CONFIG, http_transport=httpx.MockTransport(kannel))


class TestWhatIsSent:
    def test_a_single_part_goes_as_one_request_with_our_receipt_url(self):
        kannel = Kannel()
        outcome = transport(kannel).submit(message(Part(b"", "Thue bao 0901: da du")))

        assert outcome.status == "accepted"
        assert outcome.message_ids == ("42.1",)
        q = kannel.query(0)
        assert q["username"] == ["subreg"]
        assert q["password"] == ["sendsms-pw-7f3"]
        assert q["from"] == ["1414"]
        assert q["to"] == [NUMBER]
        assert q["text"] == ["Thue bao 0901: da du"]
        assert q["coding"] == ["0"]
        assert q["charset"] == ["UTF-8"]
        assert q["smsc"] == ["vnpt"]
        assert q["dlr-mask"] == [str(DLR_MASK)] == ["31"]
        assert "udh" not in q
        # Kannel decodes the parameter once, then fills in its placeholders.
        assert q["dlr-url"] == [
            "http://subreg.test/sms/kannel/main/dlr?secret=s3cr3t&id=42.1&status=%d&answer=%A&at=%T"
        ]

    def test_each_part_of_a_long_message_carries_its_udh_bytes_and_its_own_id(self):
        kannel = Kannel()
        outcome = transport(kannel).submit(message(*three_parts()))

        assert outcome.message_ids == ("42.1", "42.2", "42.3")
        assert len(kannel.requests) == 3
        for n in (1, 2, 3):
            raw = kannel.raw_query(n - 1)
            udh = raw.split("udh=", 1)[1].split("&", 1)[0]
            assert unquote_to_bytes(udh) == bytes([5, 0, 3, 7, 3, n])
            assert kannel.query(n - 1)["dlr-url"][0].count(f"id=42.{n}&") == 1

    def test_ucs2_is_sent_as_utf8_text_with_coding_2(self):
        kannel = Kannel()
        transport(kannel).submit(message(Part(b"", "Thuê bao của bạn"), encoding="ucs2"))

        q = kannel.query(0)
        assert q["coding"] == ["2"]
        assert q["charset"] == ["UTF-8"]
        assert q["text"] == ["Thuê bao của bạn"]

    def test_a_receipt_url_with_a_percent_sign_is_refused_at_configuration(self):
        with pytest.raises(ValueError, match="%"):
            KannelConfig(sendsms_url="http://k/cgi-bin/sendsms", username="u", password="p", dlr_url="http://s/d?x=%41")


class TestAnswers:
    @pytest.mark.parametrize(
        ("answer", "status", "error"),
        [
            (503, "retry", "KANNEL_HTTP_503"),
            (500, "retry", "KANNEL_HTTP_500"),
            (httpx.ConnectError("refused"), "retry", "KANNEL_UNREACHABLE"),
            (httpx.ReadTimeout("slow"), "retry", "KANNEL_TIMEOUT"),
            (403, "rejected", "KANNEL_AUTH_FAILED"),
            (400, "rejected", "KANNEL_HTTP_400"),
            (429, "retry", "KANNEL_THROTTLED"),
        ],
    )
    def test_failures_map_to_retry_or_rejected_with_a_stable_code(self, answer, status, error):
        outcome = transport(Kannel(answer)).submit(message(Part(b"", "x")))

        assert (outcome.status, outcome.error, outcome.message_ids) == (status, error, ())

    def test_a_retry_does_not_send_again_the_parts_kannel_already_took(self):
        kannel = Kannel(202, 503)
        t = transport(kannel)
        assert t.submit(message(*three_parts())).status == "retry"

        outcome = t.submit(message(*three_parts()))

        assert outcome.status == "accepted"
        assert outcome.message_ids == ("42.1", "42.2", "42.3")
        sent_ids = [kannel.query(i)["dlr-url"][0].split("id=")[1].split("&")[0] for i in range(len(kannel.requests))]
        assert sent_ids == ["42.1", "42.2", "42.2", "42.3"]

    def test_a_rejected_part_stops_the_message(self):
        kannel = Kannel(202, 400)
        outcome = transport(kannel).submit(message(*three_parts()))

        assert outcome.status == "rejected"
        assert len(kannel.requests) == 2


class TestPrivacy:
    def test_logs_carry_ids_and_codes_never_the_number_or_the_text(self):
        with capture_logs() as logs:
            t = transport(Kannel(202, 503))
            t.submit(
                message(Part(b"\x05\x00\x03\x01\x02\x01", "secret text"), Part(b"\x05\x00\x03\x01\x02\x02", "more"))
            )
            t.close()

        assert logs, "the failure is logged"
        flat = repr(logs)
        assert NUMBER not in flat
        assert "secret text" not in flat
        assert "sendsms-pw-7f3" not in flat
        assert any(e.get("error") == "KANNEL_HTTP_503" and e.get("outbox_id") == 42 for e in logs)

    def test_the_config_repr_hides_the_password(self):
        assert "sendsms-pw-7f3" not in repr(CONFIG)
