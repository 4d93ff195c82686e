"""Record builders shared by API and CLI tests (synthetic values only)."""

from __future__ import annotations

import copy
from typing import Any

COMPLETE_INDIVIDUAL: dict[str, Any] = {
    "msisdn": "0901234567",
    "subscriber_type": "individual",
    "payment_type": "prepaid",
    "activated_on": "2016-03-01",
    "channel": "store",
    "point_of_sale": "HCM-Q1-01",
    "holder": {
        "full_name": "Nguyễn Thị Ánh",
        "date_of_birth": "1990-05-17",
        "gender": "female",
        "nationality": "VNM",
        "id_type": "cccd",
        "id_number": "079190123456",
        "id_issue_date": "2016-06-01",
        "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
        "id_expiry_date": "2030-05-17",
        "address": "12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
    },
    "documents": {
        "portrait": "blob:p1",
        "id_front": "blob:f1",
        "id_back": "blob:b1",
        "confirmation_form": "blob:c1",
    },
}


def complete_record(**changes: Any) -> dict[str, Any]:
    """A complete individual record; keyword arguments override top-level fields."""
    record = copy.deepcopy(COMPLETE_INDIVIDUAL)
    record.update(changes)
    return record


def with_holder(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The record with holder fields replaced (None removes a field)."""
    out = copy.deepcopy(record)
    for key, value in changes.items():
        if value is None:
            out["holder"].pop(key, None)
        else:
            out["holder"][key] = value
    return out


# A foreign national registering with a passport (the passport's photo page instead of the card's sides).
FOREIGNER = {
    "full_name": "KIM MIN JUN",
    "date_of_birth": "1988-04-02",
    "gender": "male",
    "nationality": "KOR",
    "id_type": "passport",
    "id_number": "M12345678",
    "id_issue_date": "2021-06-01",
    "id_issue_place": "Ministry of Foreign Affairs, Seoul",
    "id_expiry_date": "2031-06-01",  # a passport's validity is only known from it: required
    "address": "12 Lê Lợi, Quận 1, TP Hồ Chí Minh",
}
