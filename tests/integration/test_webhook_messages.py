"""What `WebhookProvisioner` sends and how it reads every answer, on `httpx.MockTransport`.

The reference receiver (test_webhook_provisioner.py) shows the adapter works against a real server; here
every status code, transport failure and body shape is played exactly, and the wire is inspected.
"""

from __future__ import annotations

import inspect
import json

import httpx
import pytest
from structlog.testing import capture_logs

from subreg.adapters.hlr.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookProvisioner,
    verify_signature,
)
from subreg.domain.common.errors import ExternalServiceError, FieldValueError
from subreg.services.enforcement.ports import NetworkOrder, NetworkProvisioner, OrderOutcome

SECRET = b"mock-transport-test-secret-0123"
NOW = 1_760_000_000.0
LINE = "84912345678"


def order(action="lock_one_way", key="order-7"):
    return NetworkOrder(id=7, key=key, msisdn=LINE, action=action, attempts=2)


class Wire:
    """A MockTransport that records requests and answers with `handler` (default: 200, no body)."""

    def __init__(self, handler=None):
        self.requests: list[httpx.Request] = []
        self.handler = handler or (lambda request: httpx.Response(200))
        self.client = httpx.Client(transport=httpx.MockTransport(self._handle))

    def _handle(self, request):
        self.requests.append(request)
        return self.handler(request)

    def provisioner(self, url="https://gw.example/hss"):
        return WebhookProvisioner("webhook:gw", url, SECRET, client=self.client, clock=lambda: NOW)


def answering(status, body=None):
    return Wire(lambda request: httpx.Response(status, json=body) if body is not None else httpx.Response(status))


def failing(exc_type):
    def handler(request):
        raise exc_type("failed talking to " + str(request.url), request=request)

    return Wire(handler)


class TestThePort:
    def test_it_declares_every_member_of_network_provisioner_with_the_same_parameters(self):
        for name in ("apply", "access", "close"):
            port = inspect.signature(getattr(NetworkProvisioner, name))
            ours = inspect.signature(getattr(WebhookProvisioner, name))
            assert [(p.name, p.kind) for p in ours.parameters.values()] == [
                (p.name, p.kind) for p in port.parameters.values()
            ]
        assert Wire().provisioner().name == "webhook:gw"


class TestTheOrderOnTheWire:
    def test_it_is_a_signed_json_post_to_orders_with_the_order_key_as_idempotency_key(self):
        wire = Wire()
        wire.provisioner().apply(order())

        (request,) = wire.requests
        assert request.method == "POST"
        assert str(request.url) == "https://gw.example/hss/orders"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers[IDEMPOTENCY_HEADER] == "order-7"
        assert request.headers[TIMESTAMP_HEADER] == "1760000000"
        signature = request.headers[SIGNATURE_HEADER]
        assert signature.startswith("sha256=")
        assert verify_signature(SECRET, "1760000000", request.content, signature, now=NOW)

    @pytest.mark.parametrize(
        ("action", "status", "barred", "bitmask", "terminated"),
        [
            ("lock_one_way", "OPERATOR_DETERMINED_BARRING", {"all_outgoing_calls", "outgoing_sms"}, 8, False),
            (
                "lock_two_way",
                "OPERATOR_DETERMINED_BARRING",
                {"all_outgoing_calls", "outgoing_sms", "all_incoming_calls", "incoming_sms", "all_packet_services"},
                9,
                False,
            ),
            ("unlock", "SERVICE_GRANTED", set(), 0, False),
            (
                "terminate",
                "OPERATOR_DETERMINED_BARRING",
                {"all_outgoing_calls", "outgoing_sms", "all_incoming_calls", "incoming_sms", "all_packet_services"},
                9,
                True,
            ),
        ],
    )
    def test_the_body_carries_the_barring_of_each_action(self, action, status, barred, bitmask, terminated):
        wire = Wire()
        wire.provisioner().apply(order(action))

        body = json.loads(wire.requests[0].content)
        odb = body["odb"]
        assert body["order_id"] == "order-7"
        assert body["msisdn"] == LINE
        assert body["action"] == action
        assert body["subscriber_status"] == status
        assert {name for name, value in odb.items() if value is True} == barred
        assert odb["s6a_bitmask"] == bitmask
        assert body["terminated"] is terminated

    def test_each_send_has_its_own_nonce_so_a_retry_is_never_a_replay(self):
        wire = Wire()
        webhook = wire.provisioner()
        webhook.apply(order())
        webhook.apply(order())

        first, second = (json.loads(r.content) for r in wire.requests)
        assert first["nonce"] != second["nonce"]
        assert len(first["nonce"]) == 32
        assert first["order_id"] == second["order_id"]
        assert wire.requests[0].headers[SIGNATURE_HEADER] != wire.requests[1].headers[SIGNATURE_HEADER]

    def test_a_number_that_is_not_digits_is_refused_without_sending(self):
        wire = Wire()
        bad = NetworkOrder(id=1, key="k", msisdn="../admin", action="unlock")

        assert wire.provisioner().apply(bad) == OrderOutcome("refused", "invalid_msisdn")
        assert wire.requests == []


class TestAnswersToAnOrder:
    @pytest.mark.parametrize(
        ("status", "body", "outcome"),
        [
            (200, None, OrderOutcome("done", "", "one_way")),
            (201, {"access": "two_way"}, OrderOutcome("done", "", "two_way")),  # OsmoHLR-like: one-way as two-way
            (202, {"order_id": "order-7"}, OrderOutcome("done", "", "one_way")),
            (200, {"access": "sideways"}, OrderOutcome("done", "unknown_access", None)),
            (
                409,
                {"error": "already_applied", "order_id": "order-7"},
                OrderOutcome("done", "already_applied", "one_way"),
            ),
            (
                409,
                {"error": "already_applied", "order_id": "order-7", "access": "two_way"},
                OrderOutcome("done", "already_applied", "two_way"),
            ),
            (409, {"error": "already_applied", "order_id": "another"}, OrderOutcome("refused", "http_409")),
            (409, None, OrderOutcome("refused", "http_409")),
            (404, {"error": "unknown_subscriber"}, OrderOutcome("refused", "unknown_subscriber")),
            (400, None, OrderOutcome("refused", "http_400")),
            (401, None, OrderOutcome("refused", "http_401")),
            (403, None, OrderOutcome("refused", "http_403")),
            (422, None, OrderOutcome("refused", "http_422")),
            (301, None, OrderOutcome("refused", "http_301")),
            (429, None, OrderOutcome("retry", "http_429")),
            (500, None, OrderOutcome("retry", "http_500")),
            (502, None, OrderOutcome("retry", "http_502")),
            (503, {"error": "overloaded"}, OrderOutcome("retry", "http_503")),
            (504, None, OrderOutcome("retry", "http_504")),
        ],
    )
    def test_each_answer_has_its_outcome(self, status, body, outcome):
        assert answering(status, body).provisioner().apply(order()) == outcome

    def test_a_2xx_with_a_body_that_is_not_json_is_done_as_ordered(self):
        wire = Wire(lambda request: httpx.Response(200, text="OK"))
        assert wire.provisioner().apply(order("unlock")) == OrderOutcome("done", "", "open")

    @pytest.mark.parametrize(
        ("exc_type", "detail"),
        [
            (httpx.ConnectError, "unreachable"),
            (httpx.RemoteProtocolError, "unreachable"),
            (httpx.ConnectTimeout, "timeout"),
            (httpx.ReadTimeout, "timeout"),
        ],
    )
    def test_a_transport_failure_is_a_retry(self, exc_type, detail):
        assert failing(exc_type).provisioner().apply(order()) == OrderOutcome("retry", detail)


class TestReadingALine:
    def test_the_read_is_a_get_signed_over_its_request_target(self):
        wire = Wire(lambda request: httpx.Response(200, json={"access": "one_way"}))

        assert wire.provisioner().access(LINE) == "one_way"

        (request,) = wire.requests
        assert request.method == "GET"
        assert request.url.raw_path == b"/hss/lines/84912345678"
        assert IDEMPOTENCY_HEADER not in request.headers
        stamp, signature = request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
        assert verify_signature(SECRET, stamp, b"/hss/lines/84912345678", signature, now=NOW)
        assert not verify_signature(SECRET, stamp, b"/lines/84912345678", signature, now=NOW)

    @pytest.mark.parametrize("access", ["open", "one_way", "two_way", "absent"])
    def test_every_access_value_is_read(self, access):
        assert answering(200, {"access": access}).provisioner().access(LINE) == access

    def test_404_is_absent(self):
        assert answering(404).provisioner().access(LINE) == "absent"

    @pytest.mark.parametrize(("status", "retryable"), [(503, True), (429, True), (401, False), (400, False)])
    def test_a_failed_read_raises_an_external_service_error(self, status, retryable):
        with pytest.raises(ExternalServiceError) as caught:
            answering(status).provisioner().access(LINE)
        assert caught.value.retryable is retryable
        assert str(caught.value) == f"webhook_http_{status}"

    @pytest.mark.parametrize("body", [None, {"access": "sideways"}, ["open"]])
    def test_an_unreadable_answer_raises_a_permanent_error(self, body):
        with pytest.raises(ExternalServiceError) as caught:
            answering(200, body).provisioner().access(LINE)
        assert caught.value.retryable is False

    @pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ReadTimeout])
    def test_a_transport_failure_raises_a_retryable_error(self, exc_type):
        with pytest.raises(ExternalServiceError) as caught:
            failing(exc_type).provisioner().access(LINE)
        assert caught.value.retryable is True

    def test_a_number_that_is_not_digits_is_refused_without_sending(self):
        wire = Wire()
        with pytest.raises(FieldValueError):
            wire.provisioner().access("84912345678/../../admin")
        assert wire.requests == []


class TestPrivacy:
    def test_no_log_event_holds_the_number_even_when_the_error_text_does(self):
        with capture_logs() as logs:
            failing(httpx.ConnectError).provisioner().apply(order())
            answering(503).provisioner().apply(order())
            Wire().provisioner().apply(order())

        assert [event["status"] for event in logs] == ["retry", "retry", "done"]
        assert logs[0]["error"] == "ConnectError"
        assert logs[0]["order_id"] == 7
        assert LINE not in repr(logs)


class TestConfiguration:
    @pytest.mark.parametrize("url", ["http://gw.example/hss", "http://10.0.0.5:8080"])
    def test_plain_http_to_another_host_is_refused(self, url):
        with pytest.raises(ValueError, match="https"):
            WebhookProvisioner("webhook:gw", url, SECRET)

    @pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:8080/gw", "http://[::1]:8080"])
    def test_plain_http_to_loopback_is_allowed(self, url):
        WebhookProvisioner("webhook:gw", url, SECRET).close()

    def test_plain_http_elsewhere_is_allowed_only_on_purpose(self):
        WebhookProvisioner("webhook:gw", "http://10.0.0.5:8080", SECRET, allow_plain_http=True).close()

    @pytest.mark.parametrize("url", ["gw.example/hss", "ftp://gw.example", "/orders"])
    def test_a_url_that_is_not_absolute_http_is_refused(self, url):
        with pytest.raises(ValueError, match="absolute"):
            WebhookProvisioner("webhook:gw", url, SECRET)

    def test_a_short_secret_is_refused(self):
        with pytest.raises(ValueError, match="16 bytes"):
            WebhookProvisioner("webhook:gw", "https://gw.example", b"short")

    def test_a_trailing_slash_in_the_url_is_not_doubled(self):
        wire = Wire()
        wire.provisioner("https://gw.example/hss/").apply(order())
        assert str(wire.requests[0].url) == "https://gw.example/hss/orders"

    def test_close_leaves_a_client_passed_in_open_and_closes_its_own(self):
        wire = Wire()
        wire.provisioner().close()
        assert not wire.client.is_closed

        own = WebhookProvisioner("webhook:gw", "https://gw.example", SECRET)
        own.close()
        assert own._client.is_closed
