"""Benchmark of the `check` pipeline: read JSON lines + check (nd49-2017) + serialize, one core.

Generates N deterministic synthetic records (a mix of complete, incomplete and invalid ones, with
Vietnamese names), writes them to a temporary JSONL file, then times reading, checking and
serializing the whole file in this process. Prints records/s, wall time and peak RSS.

    .venv/bin/python bench/check.py --rows 1000000
    .venv/bin/python bench/check.py --rows 200000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from subreg.adapters.files.records_io import read_records, write_jsonl
from subreg.domain.compliance.rules import get_rule_set
from subreg.domain.id_documents.numbers import PROVINCES, make_cccd
from subreg.services.registry.checks import CheckSummary, check_records

AS_OF = date(2018, 4, 24)
FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
]
MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Bảo", "Mỹ"]
GIVEN_M = ["An", "Bình", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Quân", "Sơn", "Tuấn", "Việt", "Phúc"]
GIVEN_F = [
    "Ánh",
    "Chi",
    "Hà",
    "Hạnh",
    "Hương",
    "Lan",
    "Linh",
    "Mai",
    "Phương",
    "Thảo",
    "Trang",
    "Yến",
    "Ngân",
]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Điện Biên Phủ"]
PLACES = ["Cục Cảnh sát QLHC về TTXH", "Công an TP Hồ Chí Minh", "Công an TP Hà Nội", "Công an tỉnh Nghệ An"]
PREFIXES = ["090", "093", "070", "079", "077", "091", "094", "083", "096", "097", "098", "032", "086", "056"]
PROVINCE_CODES = sorted(PROVINCES)
CHANNELS = ["store", "agent", "authorized_point", "legacy_import"]


def _anniversary(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def _card_expiry(born: date, issued: date) -> date | None:
    # A CCCD runs to the 25th, 40th or 60th birthday; one issued within 2 years before such a
    # birthday runs to the next one; none after 60 (Law 59/2014 Art. 21).
    for age in (25, 40, 60):
        if issued < _anniversary(born, age - 2):
            return _anniversary(born, age)
    return None


def _person(rng: random.Random, serial: int, *, minor: bool = False, guardian: bool = False) -> dict[str, Any]:
    female = rng.random() < 0.5
    # A guardian is an adult (Civil Code Art. 49): born 1995 at the latest.
    year = rng.randint(2005, 2010) if minor else rng.randint(1950, 1995 if guardian else 2000)
    born = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    if born.month == 2 and born.day == 29:
        born = born.replace(day=28)
    name = " ".join(
        (
            rng.choice(FAMILY),
            rng.choice(MIDDLE_F if female else MIDDLE_M),
            rng.choice(GIVEN_F if female else GIVEN_M),
        )
    )
    person: dict[str, Any] = {
        "full_name": name,
        "date_of_birth": born.isoformat(),
        "gender": "female" if female else "male",
        "address": f"{rng.randint(1, 400)} {rng.choice(STREETS)}, TP Hồ Chí Minh",
    }
    if minor:
        return person
    kind = rng.random()
    issued = max(born + timedelta(days=15 * 365), date(2012, 1, 1)) + timedelta(days=rng.randrange(1500))
    issued = min(issued, AS_OF - timedelta(days=1))
    if kind < 0.6:
        number = make_cccd(rng.choice(PROVINCE_CODES), person["gender"], year, serial % 1_000_000)
        person.update(id_type="cccd", id_number=number)
        # CCCDs exist from 1/1/2016 (Law 59/2014 in force); the card states its expiry.
        issued = max(issued, date(2016, 1, 1) + timedelta(days=rng.randrange(800)))
        issued = min(issued, AS_OF - timedelta(days=1))
        expiry = _card_expiry(born, issued)
        if expiry is not None:
            person["id_expiry_date"] = expiry.isoformat()
    elif kind < 0.95:
        person.update(id_type="cmnd", id_number=f"{rng.randrange(10**9):09d}", nationality="VNM")
    else:
        person.update(
            id_type="passport",
            id_number=f"C{rng.randrange(10**7):07d}",
            nationality=rng.choice(["KOR", "CHN", "JPN", "USA"]),
        )
        person["id_expiry_date"] = _anniversary(issued, 10).isoformat()  # printed on every passport
    person["id_issue_date"] = issued.isoformat()
    person["id_issue_place"] = rng.choice(PLACES)
    return person


def _documents(holder: dict[str, Any]) -> dict[str, str]:
    docs = {"portrait": "blob:p", "confirmation_form": "blob:c"}
    if holder.get("id_type") == "passport":
        docs["passport_page"] = "blob:pp"
    else:
        docs["id_front"] = "blob:f"
        docs["id_back"] = "blob:b"
    return docs


def generate(rows: int, seed: int = 49) -> Iterator[dict[str, Any]]:
    """`rows` synthetic records: ~70% complete, ~20% incomplete, ~10% invalid."""
    rng = random.Random(seed)
    for i in range(rows):
        r = rng.random()
        minor = r < 0.03
        holder = _person(rng, i, minor=minor)
        record: dict[str, Any] = {
            "msisdn": rng.choice(PREFIXES) + f"{rng.randrange(10**7):07d}",
            "subscriber_type": "individual",
            "payment_type": "prepaid" if rng.random() < 0.9 else "postpaid",
            "activated_on": (date(2012, 1, 1) + timedelta(days=rng.randrange(2200))).isoformat(),
            "channel": rng.choice(CHANNELS),
            "point_of_sale": f"HCM-Q{rng.randint(1, 12)}-{rng.randint(1, 40):02d}",
            "holder": holder,
        }
        signer = holder
        if minor:
            signer = _person(rng, i + 7, guardian=True)
            signer["relationship"] = "mother" if signer["gender"] == "female" else "father"
            record["guardian"] = signer
        record["documents"] = _documents(signer)
        damage = rng.random()
        if damage < 0.20:
            # incomplete: something a reminder campaign would ask for
            what = rng.randrange(4)
            if what == 0:
                del record["documents"]["portrait"]
            elif what == 1:
                signer.pop("id_issue_place", None)
            elif what == 2:
                record["documents"].pop("id_back", None)
                record["documents"].pop("passport_page", None)
            else:
                del record["documents"]["confirmation_form"]
        elif damage < 0.30:
            what = rng.randrange(4)
            if what == 0:
                record["msisdn"] = "024" + f"{rng.randrange(10**8):08d}"
            elif what == 1:
                holder["date_of_birth"] = "2019-02-30"
            elif what == 2:
                signer["id_expiry_date"] = "2017-01-01"
            else:
                record["channel"] = "kiosk"
        yield record


def _run(path: Path) -> tuple[CheckSummary, float, float]:
    rules = get_rule_set("nd49-2017")
    summary = CheckSummary()
    dumps = orjson.dumps
    started = time.perf_counter()
    cpu_started = time.process_time()
    with path.open("rb") as src, open(os.devnull, "wb") as sink:
        batch: list[bytes] = []
        for result in check_records(read_records(src, "auto"), rule_set=rules, as_of=AS_OF, summary=summary):
            batch.append(dumps(result))
            if len(batch) >= 4096:
                batch.append(b"")
                sink.write(b"\n".join(batch))
                batch.clear()
        batch.append(b"")
        sink.write(b"\n".join(batch))
    return summary, time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    """Generate, then time read + check + serialize."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=49)
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions (cProfile)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.jsonl"
        t0 = time.perf_counter()
        with path.open("wb") as out:
            write_jsonl(generate(args.rows, args.seed), out)
        gen_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"generated {args.rows:,} records ({size_mb:,.0f} MB) in {gen_s:.1f} s; peak RSS {rss_before:.0f} MB")

        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
        summary, wall, cpu = _run(path)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"checked {summary.total:,} records in {wall:.2f} s = {summary.total / wall:,.0f} records/s")
    # CPU time excludes time the (virtual) CPU was taken away by neighbours: the steadier figure.
    print(f"  CPU time {cpu:.2f} s = {summary.total / cpu:,.0f} records per CPU-second")
    print(f"  complete {summary.complete:,}  incomplete {summary.incomplete:,}  invalid {summary.invalid:,}")
    print(f"  peak RSS {rss:.0f} MB (process high-water mark, generation included)")


if __name__ == "__main__":
    main()
