"""The log redaction masks number-like personal data but leaves subreg's own ids intact."""

from __future__ import annotations

from subreg.logging import _redact_processor, redact


def test_phone_and_id_numbers_are_redacted_in_free_text():
    assert redact("lookup of 0912 345 678 failed") == "lookup of [redacted] failed"
    assert "079190123456" not in redact({"detail": ["id 079190123456"]})["detail"][0]


def test_sensitive_keys_are_redacted_whatever_their_value():
    event = _redact_processor(None, "info", {"full_name": "Nguyễn Văn A", "event": "x"})
    assert event["full_name"] == "[redacted]"
    assert event["event"] == "x"


def test_own_request_ids_and_timestamps_are_kept():
    rid = "bc887caa1234567890d80aaad2d800ab"
    event = _redact_processor(None, "info", {"request_id": rid, "timestamp": "2026-11-28T23:49:48.266751Z"})
    assert event == {"request_id": rid, "timestamp": "2026-11-28T23:49:48.266751Z"}
