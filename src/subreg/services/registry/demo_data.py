"""A synthetic Vietnamese operator: points of sale, staff and realistic subscription records.

Every value is made up. Records follow the data dictionary and a controlled mix, judged by the
`nd49-2017` rule set: about 35% complete, 55% incomplete (varied missing items: the 2017 portrait,
ID images, issue place, ...) and 10% invalid (varied error codes), deterministic for a seed
(`random.Random(seed)`; no global state, no clock).

Shapes: Vietnamese names with diacritics from the common family names, addresses with street, ward,
district and province, CCCD numbers built by `make_cccd` from the holder's province, gender and
birth year, 9-digit CMND for older records, passports for foreigners, minors with a guardian,
organizations with user lists, groups of 4-7 subscriptions under one ID document (which need a
contract from the 4th), MSISDNs over the real prefixes written in the usual forms, including a few
pre-2018 11-digit numbers.

Speed: `generate_records` makes well over 50,000 records a second (it feeds 1 M-record benchmarks):
one `random()` call per decision, precomputed tables, dates from ordinals.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Protocol, TypeVar

from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.id_documents.numbers import PROVINCES, make_cccd
from subreg.services.access.ports import AccessUnitOfWork
from subreg.services.common.ports import BlobStore, Vault
from subreg.services.registry.bulk_load import bulk_load
from subreg.services.registry.ports import RegistryUnitOfWork

T = TypeVar("T")

__all__ = ["DEMO_POINTS_OF_SALE", "DEMO_STAFF", "DemoUnitOfWork", "generate_records", "is_empty", "load_demo"]

# --- names -------------------------------------------------------------------------------------

# Approximate shares of Vietnamese family names (per 100 people).
_FAMILY_WEIGHTS = (
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 10), ("Phạm", 7), ("Hoàng", 3), ("Huỳnh", 2), ("Phan", 5),
    ("Vũ", 2), ("Võ", 2), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2), ("Ngô", 2), ("Dương", 1),
    ("Lý", 1), ("Đinh", 1), ("Trương", 1), ("Mai", 1), ("Đoàn", 1), ("Cao", 1), ("Lâm", 1),
)  # fmt: skip
_FAMILY = tuple(name for name, weight in _FAMILY_WEIGHTS for _ in range(weight))
_MIDDLE_M = ("Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công", "Xuân", "Đình", "Hoàng", "Gia", "Tuấn")
_MIDDLE_F = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mai", "Phương", "Bích", "Diệu", "Hồng")
_GIVEN_M = (
    "Anh", "Bảo", "Cường", "Dũng", "Hùng", "Huy", "Khoa", "Long", "Nam", "Phúc", "Quân", "Sơn",
    "Thắng", "Tuấn", "Việt", "Hải", "Đạt", "Hiếu", "Tùng", "Trung", "Khánh", "Lộc", "Nghĩa", "Toàn",
)  # fmt: skip
_GIVEN_F = (
    "Anh", "Ánh", "Châu", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai",
    "Ngọc", "Nhung", "Oanh", "Phương", "Thảo", "Trang", "Uyên", "Vy", "Yến", "Loan", "Thủy", "Hằng",
)  # fmt: skip

# Foreign holders: (nationality, family names, given names, passport number shape).
_FOREIGN = (
    ("KOR", ("KIM", "LEE", "PARK", "CHOI", "JUNG"), ("MIN JUN", "SEO YEON", "JI HOON", "HA EUN"), "M{:08d}"),
    ("CHN", ("WANG", "LI", "ZHANG", "LIU", "CHEN"), ("WEI", "NA", "JING", "LEI", "YANG"), "E{:08d}"),
    ("JPN", ("SATO", "SUZUKI", "TAKAHASHI", "TANAKA"), ("HIROSHI", "YUKI", "KENJI", "AKIKO"), "TK{:07d}"),
    ("USA", ("SMITH", "JOHNSON", "BROWN", "MILLER"), ("JOHN", "EMILY", "MICHAEL", "SARAH"), "5{:08d}"),
    ("FRA", ("MARTIN", "BERNARD", "DUBOIS"), ("JEAN", "MARIE", "PIERRE", "CLAIRE"), "19AB{:05d}"),
    ("AUS", ("WILLIAMS", "TAYLOR", "WILSON"), ("JACK", "OLIVIA", "NOAH", "CHLOE"), "PA{:07d}"),
)  # fmt: skip

# --- places ------------------------------------------------------------------------------------

_STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Điện Biên Phủ",
    "Phan Đình Phùng", "Hoàng Diệu", "Quang Trung", "Nguyễn Trãi", "Lê Duẩn", "Cách Mạng Tháng Tám",
    "Nguyễn Văn Cừ", "Bạch Đằng", "Hùng Vương", "Trường Chinh", "Võ Thị Sáu", "Pasteur",
)  # fmt: skip
_WARDS = (
    "Phường Bến Nghé", "Phường Đa Kao", "Phường Hàng Bạc", "Phường Tràng Tiền", "Phường Thạch Thang",
    "Phường Hải Châu 1", "Phường 3", "Phường 7", "Phường 12", "Xã Tân Phú", "Xã Đông Hòa", "Thị trấn Phú Mỹ",
)  # fmt: skip
_DISTRICTS = (
    "Quận 1", "Quận 3", "Quận Hoàn Kiếm", "Quận Ba Đình", "Quận Hải Châu", "Quận Ninh Kiều",
    "Quận Bình Thạnh", "Quận Cầu Giấy", "Huyện Đông Anh", "Huyện Củ Chi", "Thành phố Thủ Dầu Một",
    "Thị xã Sơn Tây",
)  # fmt: skip
# Where people live: weighted towards the big cities (codes from PROVINCES).
_PROVINCE_CODES = ("001",) * 12 + ("079",) * 14 + ("048", "031", "092", "074", "075") * 2 + tuple(PROVINCES)
_PROVINCE_NAMES = dict(PROVINCES)
_UNKNOWN_PROVINCE = "003"  # not a province code (002 Hà Giang, 004 Cao Bằng)

# --- the operator ------------------------------------------------------------------------------

# (code, kind, name, province code)
DEMO_POINTS_OF_SALE: tuple[tuple[str, str, str, str], ...] = (
    ("HN-HK-01", "store", "Cửa hàng giao dịch Hoàn Kiếm", "001"),
    ("HCM-Q1-01", "store", "Cửa hàng giao dịch Quận 1", "079"),
    ("DN-HC-01", "store", "Cửa hàng giao dịch Hải Châu", "048"),
    ("AG-HN-017", "agent", "Đại lý Minh Phát (Cầu Giấy)", "001"),
    ("AG-HCM-042", "agent", "Đại lý Thành Công (Bình Thạnh)", "079"),
    ("AP-CT-005", "authorized_point", "Điểm ủy quyền Ninh Kiều", "092"),
    ("AP-HP-003", "authorized_point", "Điểm ủy quyền Lê Chân", "031"),
)
# (role, username, display name, point of sale code or None)
DEMO_STAFF: tuple[tuple[str, str, str, str | None], ...] = (
    ("store_staff", "store.hn", "Giao dịch viên Hoàn Kiếm", "HN-HK-01"),
    ("agent", "agent.hcm", "Đại lý Thành Công", "AG-HCM-042"),
    ("authorized_point", "ap.ct", "Điểm ủy quyền Ninh Kiều", "AP-CT-005"),
    ("compliance_officer", "compliance", "Cán bộ tuân thủ", None),
    ("auditor", "auditor", "Kiểm toán viên", None),
    ("dpo", "dpo", "Cán bộ bảo vệ dữ liệu cá nhân", None),
    ("supervisor", "supervisor.hn", "Kiểm soát viên Hoàn Kiếm", "HN-HK-01"),
    ("admin", "admin", "Quản trị hệ thống", None),
    ("regional_manager", "manager.north", "Quản lý vùng miền Bắc", None),
    ("backoffice", "backoffice", "Nhân viên hậu kiểm", None),
)
# The provinces of the demo's regional managers (Hà Nội, Hải Phòng: the northern points of sale).
DEMO_PROVINCES: dict[str, frozenset[str]] = {"manager.north": frozenset({"001", "031"})}
_POS_BY_CHANNEL = {
    kind: tuple(code for code, k, _name, _p in DEMO_POINTS_OF_SALE if k == kind)
    for kind in ("store", "agent", "authorized_point")
}

# National prefixes (with trunk 0) weighted roughly by market share; old 11-digit forms for some.
_PREFIXES = (
    ("032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098") * 4
    + ("081", "082", "083", "084", "085", "088", "091", "094") * 3
    + ("070", "076", "077", "078", "079", "089", "090", "093") * 3
    + ("052", "056", "058", "092", "059", "087")
)
_OLD_PREFIX = {
    "032": "0162", "033": "0163", "034": "0164", "035": "0165", "036": "0166", "037": "0167",
    "038": "0168", "039": "0169", "070": "0120", "079": "0121", "077": "0122", "076": "0126",
    "078": "0128", "083": "0123", "084": "0124", "085": "0125", "081": "0127", "082": "0129",
    "056": "0186", "058": "0188", "059": "0199",
}  # fmt: skip

_INCOMPLETE_DOCS = ("portrait", "portrait", "portrait", "id_front", "id_back", "confirmation_form")
_INCOMPLETE_FIELDS = ("id_issue_place", "id_issue_place", "id_issue_date", "date_of_birth", "id_number")
_INVALID_KINDS = (
    "gender", "birth_year", "id_length", "province", "expired", "issued_before_birth",
    "future_birth", "nationality", "date_format", "underage",
)  # fmt: skip

_N_FAMILY = len(_FAMILY)
_N_STREETS = len(_STREETS)
_N_WARDS = len(_WARDS)
_N_DISTRICTS = len(_DISTRICTS)
_N_PROVINCE_CODES = len(_PROVINCE_CODES)
_POLICE = {code: f"Công an {name}" for code, name in PROVINCES.items()}
_fromordinal = date.fromordinal
_MIN_DAY = date(2005, 1, 1).toordinal()
_CCCD_SINCE = date(2016, 1, 1).toordinal()


class _Generator:
    """Holds the PRNG and per-run constants; `record(i)` makes record number i."""

    def __init__(self, seed: int, as_of: date, *, keep_printed: bool = False) -> None:
        # Record number -> the holder's full card fields, for records that lost holder fields (the back office
        # reads them from printed card scans): kept only when asked, the benchmarks make millions of records.
        self.printed: dict[int, dict[str, Any]] | None = {} if keep_printed else None
        self.rng = random.Random(seed)
        self.r = self.rng.random
        self.as_of = as_of
        self.today = as_of.toordinal()
        self.last_activation = min(self.today, date(2018, 12, 31).toordinal())
        # Multipliers coprime with 10: i -> (i * m + c) mod 10^k is a bijection, so numbers and
        # serials never collide within 10^k records (MSISDNs: 10 M, ID serials: 1 M).
        self.msisdn_offset = self.rng.randrange(10_000_000)
        self.serial_offset = self.rng.randrange(1_000_000)
        self.people = 0
        self.year = as_of.year
        # Ordinal of 1 January for every year a person may be born in (no date arithmetic per record).
        self.jan1 = {y: date(y, 1, 1).toordinal() for y in range(1900, as_of.year + 2)}

    # -- small helpers --------------------------------------------------------------------------

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.r() * len(seq))]

    def day(self, lo: int, hi: int) -> date:
        if hi < lo:
            hi = lo
        return date.fromordinal(lo + int(self.r() * (hi - lo + 1)))

    def msisdn(self, i: int) -> str:
        tail = f"{(i * 7_654_321 + self.msisdn_offset) % 10_000_000:07d}"
        prefix = self.pick(_PREFIXES)
        x = self.r()
        if x < 0.03 and prefix in _OLD_PREFIX:
            return _OLD_PREFIX[prefix] + tail  # pre-2018 11-digit form
        if x < 0.10:
            return "84" + prefix[1:] + tail
        if x < 0.13:
            return f"+84 {prefix[1:]} {tail[:3]} {tail[3:]}"
        return prefix + tail

    def address(self, province: str) -> str:
        r = self.r
        return (
            f"{1 + int(r() * 300)} {_STREETS[int(r() * _N_STREETS)]}, {_WARDS[int(r() * _N_WARDS)]}, "
            f"{_DISTRICTS[int(r() * _N_DISTRICTS)]}, {_PROVINCE_NAMES[province]}"
        )

    def name(self, female: bool) -> str:
        r = self.r
        if female:
            return f"{_FAMILY[int(r() * _N_FAMILY)]} {self.pick(_MIDDLE_F)} {self.pick(_GIVEN_F)}"
        return f"{_FAMILY[int(r() * _N_FAMILY)]} {self.pick(_MIDDLE_M)} {self.pick(_GIVEN_M)}"

    def person(self, *, min_age: int, max_age: int, foreign: bool = False) -> dict[str, Any]:
        """A person with complete, consistent identity fields (age counted at as_of)."""
        r = self.r
        today = self.today
        self.people += 1
        serial = (self.people * 48_271 + self.serial_offset) % 1_000_000
        female = r() < 0.5
        gender = "female" if female else "male"
        lo = self.jan1[self.year - max_age]
        hi = min(self.jan1[self.year - min_age + 1] - 1, today)
        dob_ord = lo + int(r() * (hi - lo + 1))
        dob = _fromordinal(dob_ord)
        adult_day = dob_ord + 5114  # ~14 years: nobody gets papers before that
        if foreign:
            nat, families, givens, shape = self.pick(_FOREIGN)
            issued = max(adult_day, today - 3600)
            return {
                "full_name": f"{self.pick(families)} {self.pick(givens)}",
                "date_of_birth": dob.isoformat(),
                "gender": gender,
                "nationality": nat,
                "id_type": "passport",
                "id_number": shape.format(serial),
                "id_issue_date": _fromordinal(issued + int(r() * (today - issued + 1))).isoformat(),
                "id_issue_place": nat,
                "id_expiry_date": _fromordinal(today + 200 + int(r() * 3400)).isoformat(),
                "address": self.address(self.pick(("001", "079", "048"))),
            }
        province = _PROVINCE_CODES[int(r() * _N_PROVINCE_CODES)]
        year = dob.year
        if (year < 1990 and r() < 0.6) or today < _CCCD_SINCE:
            # Older people often still hold the 9-digit CMND (issued by the provincial police).
            issued = max(adult_day, today - 5400)
            return {
                "full_name": self.name(female),
                "date_of_birth": dob.isoformat(),
                "gender": gender,
                "id_type": "cmnd",
                "id_number": f"{int(province) % 40:02d}{serial:06d}{int(r() * 10)}",
                "id_issue_date": _fromordinal(issued + int(r() * (today - issued + 1))).isoformat(),
                "id_issue_place": _POLICE[province],
                "address": self.address(province),
            }
        issued = max(adult_day, _CCCD_SINCE)
        person: dict[str, Any] = {
            "full_name": self.name(female),
            "date_of_birth": dob.isoformat(),
            "gender": gender,
            "nationality": "VNM",
            "id_type": "cccd",
            "id_number": make_cccd(province, gender, year, serial),
            "id_issue_date": _fromordinal(issued + int(r() * (today - issued + 1))).isoformat(),
            "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
        }
        # A CCCD expires at 25, 40 and 60 years of age; none after 60.
        age = self.year - year
        limit = 25 if age < 24 else 40 if age < 39 else 60 if age < 59 else 0
        if limit:
            person["id_expiry_date"] = _plus_years(dob, limit).isoformat()
        person["address"] = self.address(province)
        return person

    # -- records --------------------------------------------------------------------------------

    def base(self, i: int) -> dict[str, Any]:
        r = self.r
        x = r()
        channel = "store" if x < 0.5 else "agent" if x < 0.8 else "authorized_point" if x < 0.95 else "self_service"
        record: dict[str, Any] = {
            "msisdn": self.msisdn(i),
            "subscriber_type": "individual",
            "payment_type": "postpaid" if r() < 0.15 else "prepaid",
            "channel": channel,
        }
        if channel != "self_service":
            record["point_of_sale"] = self.pick(_POS_BY_CHANNEL[channel])
        return record

    def individual(self, i: int) -> dict[str, Any]:
        record = self.base(i)
        x = self.r()
        if x < 0.05:
            holder = self.person(min_age=6, max_age=13)
            for key in (
                "id_type",
                "id_number",
                "id_issue_date",
                "id_issue_place",
                "id_expiry_date",
                "nationality",
            ):
                holder.pop(key, None)  # a child usually holds no ID document
            guardian = self.person(min_age=30, max_age=55)
            guardian["relationship"] = "Mẹ" if guardian["gender"] == "female" else "Bố"
            record["holder"] = holder
            record["guardian"] = guardian
            lo = _plus_years(date.fromisoformat(holder["date_of_birth"]), 6).toordinal()
        else:
            foreign = x > 0.97
            record["holder"] = self.person(min_age=18, max_age=75, foreign=foreign)
            lo = _plus_years(date.fromisoformat(record["holder"]["date_of_birth"]), 16).toordinal()
        lo = min(max(lo, _MIN_DAY), self.last_activation)
        record["activated_on"] = self.day(lo, self.last_activation).isoformat()
        signer = record.get("guardian", record["holder"])
        docs = {"portrait": f"demo:portrait:{i}"}
        if signer.get("id_type") == "passport":
            docs["passport_page"] = f"demo:passport_page:{i}"
        else:
            docs["id_front"] = f"demo:id_front:{i}"
            docs["id_back"] = f"demo:id_back:{i}"
        if record["payment_type"] == "postpaid":
            record["contract_number"] = f"HD{record['activated_on'][:4]}-{i:08d}"
            docs["contract"] = f"demo:contract:{i}"
        else:
            docs["confirmation_form"] = f"demo:confirmation_form:{i}"
        record["documents"] = docs
        return record

    def organization(self, i: int) -> dict[str, Any]:
        record = self.base(i)
        record["subscriber_type"] = "organization"
        record["payment_type"] = "postpaid"
        province = self.pick(_PROVINCE_CODES)
        founded = self.day(date(1995, 1, 1).toordinal(), self.today - 400)
        users = [self.person(min_age=22, max_age=60) for k in range(1 + int(self.r() * 3))]
        kind = self.pick(("Công ty TNHH", "Công ty Cổ phần", "Công ty TNHH MTV"))
        place = self.pick(("Việt", "Sài Gòn", "Hà Thành", "Miền Trung"))
        record["organization"] = {
            "name": f"{kind} {self.pick(_GIVEN_M)} {self.pick(_GIVEN_F)} {place}",
            "registration_number": f"0{(i * 7_919 + self.serial_offset) % 1_000_000_000:09d}",
            "registration_date": founded.isoformat(),
            "address": self.address(province),
            "users": users,
        }
        record["holder"] = self.person(min_age=30, max_age=65)
        record["activated_on"] = self.day(max(_MIN_DAY, founded.toordinal() + 30), self.last_activation).isoformat()
        record["contract_number"] = f"HDDN{record['activated_on'][:4]}-{i:08d}"
        record["documents"] = {
            k: f"demo:{k}:{i}"
            for k in ("portrait", "id_front", "id_back", "contract", "organization_certificate", "user_list")
        }
        return record

    # -- the mix --------------------------------------------------------------------------------

    def make_incomplete(self, record: dict[str, Any], *, documents_only: bool) -> None:
        """Remove 1-3 required items (and nothing that would make the record invalid)."""
        r = self.r
        docs = record["documents"]
        n = 1 + int(r() * r() * 3)
        holder = record["holder"]
        for _ in range(n):
            if documents_only or r() < 0.6 or "guardian" in record or record["subscriber_type"] == "organization":
                kind = self.pick(_INCOMPLETE_DOCS)
                if kind == "id_front" and "passport_page" in docs:
                    kind = "passport_page"
                if kind == "confirmation_form" and "confirmation_form" not in docs:
                    kind = "portrait"
                docs.pop(kind, None)
            else:
                holder.pop(self.pick(_INCOMPLETE_FIELDS), None)
                if holder.get("id_type") == "passport" and r() < 0.3:
                    holder.pop("nationality", None)
        if not docs.get("portrait") and "portrait" in docs:
            del docs["portrait"]

    def make_invalid(self, record: dict[str, Any]) -> None:
        """Give the record one rule violation, chosen among many kinds."""
        holder = record.get("guardian", record["holder"])
        kind = self.pick(_INVALID_KINDS)
        id_type = holder.get("id_type")
        if kind == "underage" and "guardian" in record:
            del record["guardian"]
            return
        if kind in ("gender", "birth_year", "province", "nationality") and id_type != "cccd":
            kind = "id_length"
        if kind == "gender":
            holder["gender"] = "male" if holder["gender"] == "female" else "female"
        elif kind == "birth_year":
            dob = date.fromisoformat(holder["date_of_birth"])
            holder["date_of_birth"] = _plus_years(dob, -(1 + int(self.r() * 3))).isoformat()
        elif kind == "province":
            holder["id_number"] = _UNKNOWN_PROVINCE + holder["id_number"][3:]
        elif kind == "nationality":
            holder["nationality"] = self.pick(("KOR", "CHN", "USA"))
        elif kind == "id_length":
            holder["id_number"] = holder["id_number"][:-1] if id_type != "passport" else holder["id_number"] + "#"
        elif kind == "expired":
            holder["id_expiry_date"] = self.day(self.today - 900, self.today - 1).isoformat()
        elif kind == "issued_before_birth":
            dob = date.fromisoformat(holder["date_of_birth"])
            holder["id_issue_date"] = self.day(dob.toordinal() - 800, dob.toordinal() - 1).isoformat()
        elif kind == "future_birth":
            holder["date_of_birth"] = self.day(self.today + 1, self.today + 500).isoformat()
        elif kind == "date_format" or kind == "underage":
            d = holder["date_of_birth"]
            holder["date_of_birth"] = f"{d[8:10]}/{d[5:7]}/{d[:4]}"  # dd/mm/yyyy instead of ISO

    def records(self, count: int) -> Iterator[dict[str, Any]]:
        r = self.r
        i = 0
        while i < count:
            if r() < 0.006 and count - i >= 4:
                group = self.group(i, min(count - i, 4 + int(r() * 4)))
                yield from group
                i += len(group)
                continue
            record = self.organization(i) if r() < 0.03 else self.individual(i)
            x = r()
            if x >= 0.90:
                self.make_invalid(record)
                if r() < 0.6:
                    self.make_incomplete(record, documents_only=False)
            elif x >= 0.35:
                full = dict(record["holder"])
                self.make_incomplete(record, documents_only=False)
                if self.printed is not None and len(record["holder"]) < len(full):
                    self.printed[i] = full
            yield record
            i += 1

    def group(self, i: int, size: int) -> list[dict[str, Any]]:
        """`size` subscriptions under one ID document; from the 4th a contract is needed."""
        first = self.individual(i)
        while "guardian" in first or first["holder"].get("id_type") == "passport":
            first = self.individual(i)
        holder = first["holder"]
        out = []
        for k in range(size):
            record = first if k == 0 else self.individual(i + k)
            record.pop("guardian", None)
            record["holder"] = dict(holder)  # the same person, the same papers
            record["contract_number"] = f"HD{record['activated_on'][:4]}-{i + k:08d}"
            docs = record["documents"]
            docs.pop("confirmation_form", None)
            docs.pop("passport_page", None)
            docs.update(contract=f"demo:contract:{i + k}", id_front=f"demo:id_front:{i + k}",
                        id_back=f"demo:id_back:{i + k}")  # fmt: skip
            x = self.r()
            if x >= 0.90 and k >= 3:
                del record["contract_number"]  # contract_required
            elif x >= 0.35:
                self.make_incomplete(record, documents_only=True)
            out.append(record)
        return out


def _plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def generate_records(count: int, seed: int, *, as_of: date) -> Iterator[dict[str, Any]]:
    """`count` synthetic records in the data dictionary's shape, the same for the same seed."""
    return _Generator(seed, as_of).records(count)


class DemoUnitOfWork(RegistryUnitOfWork, AccessUnitOfWork, Protocol):
    """The demo operator touches the registry's tables and the staff accounts."""


def is_empty(uow: RegistryUnitOfWork) -> bool:
    """Whether the registry holds no subscriptions yet (guard against loading demo data twice)."""
    with uow:
        return bool(uow.subscriptions.count() == 0)


def load_demo(
    uow: DemoUnitOfWork,
    *,
    vault: Vault,
    blobs: BlobStore,
    rule_set: RuleSet,
    jpegs: Mapping[str, Sequence[bytes]],
    count: int,
    seed: int,
    as_of: date,
    card_scans: Callable[[Mapping[str, Any]], dict[str, bytes]] | None = None,
) -> list[tuple[str, str, str]]:
    """Create the demo operator (points of sale, staff, `count` subscriptions); (role, username, password).

    Passwords are random for every load (never derived from the public seed); an account that already
    exists keeps its password and is listed as "(unchanged)". Complete records get small real JPEGs,
    stored encrypted in the blob store. With `card_scans`, incomplete records that lost holder fields get
    printed scans of their full card instead (front, back: the printed fields, the QR code, the MRZ), so the
    back-office queue has something to read.
    """
    from argon2 import PasswordHasher

    hasher = PasswordHasher()
    logins: list[tuple[str, str, str]] = []
    with uow:
        pos_ids: dict[str, int] = {}
        for code, kind, name, province in DEMO_POINTS_OF_SALE:
            existing = uow.points_of_sale.get_by_code(code)
            pos_ids[code] = (
                existing.id
                if existing
                else uow.points_of_sale.add(
                    {"code": code, "kind": kind, "name": name, "province_code": province, "active": True}
                )
            )
        for role, username, display, pos_code in DEMO_STAFF:
            if uow.staff.get_by_username(username) is not None:
                logins.append((role, username, "(unchanged)"))
                continue
            password = secrets.token_urlsafe(9)
            staff_id = uow.staff.add(
                {
                    "username": username,
                    "display_name": display,
                    "role": role,
                    "point_of_sale_id": pos_ids[pos_code] if pos_code else None,
                    "password_hash": hasher.hash(password),
                    "active": True,
                }
            )
            if username in DEMO_PROVINCES:
                uow.staff_provinces.replace_provinces(staff_id, DEMO_PROVINCES[username])
            logins.append((role, username, password))
        uow.commit()

        picker = random.Random(seed ^ 0x5EED)

        generator = _Generator(seed, as_of, keep_printed=card_scans is not None)

        def images_for(record: Any, result: Any) -> dict[str, bytes] | None:
            docs = record.get("documents") or {}
            if not result.complete:
                return _printed_scans(docs) if result.valid else None
            return {k: jpegs[k][picker.randrange(len(jpegs[k]))] for k in docs if k in jpegs}

        def _printed_scans(docs: Mapping[str, Any]) -> dict[str, bytes] | None:
            if card_scans is None or generator.printed is None:
                return None
            refs = [str(docs[k]) for k in ("id_front", "id_back") if k in docs]
            number = refs[0].rsplit(":", 1)[-1] if refs else ""
            full = generator.printed.pop(int(number), None) if number.isdigit() else None
            if full is None:
                return None
            scans = card_scans(full)
            return {k: v for k, v in scans.items() if k in docs}

        bulk_load(
            generator.records(count),
            uow=uow,
            vault=vault,
            blobs=blobs,
            as_of=as_of,
            rule_set=rule_set,
            channel="legacy_import",
            images_for=images_for,
        )
    return logins
