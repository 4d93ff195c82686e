"""The regulator's report rendered: xlsx (openpyxl), CSV, and a printable HTML page (Jinja2) whose PDF gets signed.

- **xlsx**: a summary sheet and a by-province sheet. Totals are formulas (`SUM` over the provinces; the summary
  points at the by-province totals) so Excel recomputes them after any edit, and each formula cell also carries
  its value as cached result (openpyxl writes formulas without one; `_with_cached_values` fills them in), so
  viewers that do not calculate still show the figures. The workbook asks Excel to recalculate on load.
- **CSV**: UTF-8 with a byte-order mark (Excel then reads the Vietnamese names right), one row per province and
  a `total` row, every row carrying the operator and the period, stable English column names.
- **HTML**: a standalone A4 page (print CSS) from a Jinja2 template. The operator may supply its own template
  (setting `regulator_report_template`); it can start from the shipped one with
  `{% extends "builtin/regulator.html" %}` and replace its blocks. Templates run sandboxed and autoescaped.

Labels are Vietnamese by default, English with `lang="en"`. Nothing personal is ever in a report.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Mapping
from datetime import date, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from subreg.domain.reports.regulator import FIGURES, UNKNOWN_PROVINCE, RegulatorReport, province_name

__all__ = ["TEXTS", "RegulatorRenderer", "texts"]

_TEMPLATES = Path(__file__).parent / "templates"

TEXTS: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "title": "Báo cáo tình hình thông tin thuê bao di động",
        "operator": "Doanh nghiệp",
        "period": "Kỳ báo cáo",
        "period_value": "từ ngày {start} đến ngày {end}",
        "generated": "Lập lúc",
        "code": "Mã tỉnh",
        "province": "Tỉnh/thành phố (của điểm giao dịch)",
        "figure": "Chỉ tiêu",
        "value": "Số thuê bao",
        "subscriptions": "Thuê bao cuối kỳ",
        "updated": "Cập nhật thông tin trong kỳ",
        "registered": "Đăng ký mới trong kỳ",
        "locked_one_way": "Khoá một chiều",
        "locked_two_way": "Khoá hai chiều",
        "terminated": "Chấm dứt",
        "restored": "Khôi phục",
        "total": "Tổng cộng",
        "unknown": "Không rõ điểm giao dịch",
        "empty": "Không có dữ liệu trong kỳ báo cáo: không có thuê bao nào và không có sự kiện nào.",
        "scope": "Giới hạn theo tỉnh",
        "summary_sheet": "Tổng hợp",
        "provinces_sheet": "Theo tỉnh",
        "prepared_by": "Người lập biểu",
        "approved_by": "Đại diện doanh nghiệp",
        "sign_hint": "(ký, ghi rõ họ tên)",
        "notes": "Ghi chú",
        "note_subscriptions": "thuê bao đã kích hoạt đến hết ngày cuối kỳ và chưa bị chấm dứt",
        "note_updated": "thuê bao được cập nhật thông tin trong kỳ (mỗi thuê bao tính một lần)",
        "note_registered": "thuê bao đăng ký mới tại điểm giao dịch trong kỳ (không tính dữ liệu chuyển đổi)",
        "note_locks": "khoá, chấm dứt, khôi phục: theo các bước xử lý có ngày trong kỳ",
        "note_province": "tỉnh của điểm giao dịch; không chứa dữ liệu cá nhân",
    },
    "en": {
        "title": "Mobile subscriber information report",
        "operator": "Operator",
        "period": "Period",
        "period_value": "{start} to {end}",
        "generated": "Generated at",
        "code": "Province code",
        "province": "Province (of the point of sale)",
        "figure": "Figure",
        "value": "Subscriptions",
        "subscriptions": "Subscriptions at the end of the period",
        "updated": "Updated in the period",
        "registered": "Registered in the period",
        "locked_one_way": "Locked one-way",
        "locked_two_way": "Locked two-way",
        "terminated": "Terminated",
        "restored": "Restored",
        "total": "Total",
        "unknown": "Unknown point of sale",
        "empty": "No data for this period: no subscription and no event.",
        "scope": "Limited to the provinces",
        "summary_sheet": "Summary",
        "provinces_sheet": "By province",
        "prepared_by": "Prepared by",
        "approved_by": "For the operator",
        "sign_hint": "(signature, full name)",
        "notes": "Notes",
        "note_subscriptions": "lines activated by the last day of the period and not terminated by then",
        "note_updated": "lines whose information was updated in the period (each line once)",
        "note_registered": "lines registered at a point of sale in the period (imports of the base excluded)",
        "note_locks": "locks, terminations, restorations: the enforcement steps dated in the period",
        "note_province": "province of the point of sale; no personal data",
    },
}


def texts(lang: str) -> Mapping[str, str]:
    """The report's labels in `lang` (Vietnamese for anything but `en`)."""
    return TEXTS["en" if lang == "en" else "vi"]


def _day(value: date, lang: str) -> str:
    return value.isoformat() if lang == "en" else value.strftime("%d/%m/%Y")


def _name(code: str, t: Mapping[str, str]) -> str:
    return t["unknown"] if code == UNKNOWN_PROVINCE else province_name(code)


def _column(index: int) -> str:
    """The spreadsheet column letters of a 1-based index (1: A, 27: AA)."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _with_cached_values(workbook: bytes, cached: Mapping[str, Mapping[str, int]]) -> bytes:
    """The workbook with `cached[sheet file][cell]` written as the cached result of each of those formula cells."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            cells = cached.get(item.filename)
            if cells:
                xml = data.decode("utf-8")
                for ref, value in cells.items():
                    pattern = re.compile(rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>\s*)<v\s*/>')
                    xml = pattern.sub(lambda m, v=value: f"{m.group(1)}<v>{v}</v>", xml, count=1)
                data = xml.encode("utf-8")
            target.writestr(item, data)
    return out.getvalue()


class RegulatorRenderer:
    """The three formats of a report, in one language, with the operator's template when it has one."""

    def __init__(self, *, lang: str, tz: tzinfo, template: Path | None = None) -> None:
        self._lang = "en" if lang == "en" else "vi"
        self._tz = tz
        self._template = template

    @property
    def lang(self) -> str:
        return self._lang

    @property
    def labels(self) -> Mapping[str, str]:
        """The report's labels in this renderer's language (the page shows the same headings)."""
        return texts(self._lang)

    def render(self, report: RegulatorReport, fmt: str) -> bytes:
        """The report as `xlsx`, `csv` or `html` (a ValueError for anything else: callers check the format)."""
        if fmt == "xlsx":
            return self.xlsx(report)
        if fmt == "csv":
            return self.csv(report)
        if fmt == "html":
            return self.html(report).encode("utf-8")
        raise ValueError(fmt)

    def _generated(self, report: RegulatorReport) -> str:
        return report.generated_at.astimezone(self._tz).strftime("%Y-%m-%d %H:%M")

    def xlsx(self, report: RegulatorReport) -> bytes:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import quote_sheetname

        t = texts(self._lang)
        book = Workbook()
        summary = book.active
        summary.title = t["summary_sheet"]
        provinces = book.create_sheet(t["provinces_sheet"])
        bold = Font(bold=True)

        provinces.append([t["code"], t["province"], *(t[name] for name in FIGURES)])
        for cell in provinces[1]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in report.rows:
            provinces.append([row.province, _name(row.province, t), *row.values()])
        first, last = 2, len(report.rows) + 1
        total_row = last + 1
        provinces.cell(total_row, 1, "total").font = bold
        provinces.cell(total_row, 2, t["total"]).font = bold
        cached_provinces: dict[str, int] = {}
        for offset, value in enumerate(report.total.values()):
            col = _column(3 + offset)
            formula = f"=SUM({col}{first}:{col}{last})" if report.rows else "=0"
            provinces.cell(total_row, 3 + offset, formula).font = bold
            cached_provinces[f"{col}{total_row}"] = value
        provinces.column_dimensions["A"].width = 12
        provinces.column_dimensions["B"].width = 30
        for offset in range(len(FIGURES)):
            provinces.column_dimensions[_column(3 + offset)].width = 16
        provinces.freeze_panes = "C2"

        summary.append([t["title"]])
        summary["A1"].font = Font(bold=True, size=14)
        summary.append([t["operator"], report.operator])
        period = t["period_value"].format(start=_day(report.period.start, self._lang),
                                          end=_day(report.period.end, self._lang))  # fmt: skip
        summary.append([t["period"], period])
        summary.append([t["generated"], self._generated(report)])
        if report.provinces:
            summary.append([t["scope"], ", ".join(report.provinces)])
        summary.append([])
        summary.append([t["figure"], t["value"]])
        header = summary.max_row
        for cell in summary[header]:
            cell.font = bold
        cached_summary: dict[str, int] = {}
        sheet = quote_sheetname(t["provinces_sheet"])
        for offset, (name, value) in enumerate(zip(FIGURES, report.total.values(), strict=True)):
            summary.append([t[name], f"={sheet}!{_column(3 + offset)}{total_row}"])
            cached_summary[f"B{summary.max_row}"] = value
        if report.empty:
            summary.append([])
            summary.append([t["empty"]])
        summary.column_dimensions["A"].width = 42
        summary.column_dimensions["B"].width = 40
        book.calculation.fullCalcOnLoad = True  # Excel recomputes every formula when it opens the file

        buffer = io.BytesIO()
        book.save(buffer)
        # openpyxl numbers the sheets' parts in their order: the summary first, the provinces second.
        cached = {"xl/worksheets/sheet1.xml": cached_summary, "xl/worksheets/sheet2.xml": cached_provinces}
        return _with_cached_values(buffer.getvalue(), cached)

    def csv(self, report: RegulatorReport) -> bytes:
        t = texts(self._lang)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(["operator", "from", "to", "province_code", "province", *FIGURES])
        head = [report.operator, report.period.start.isoformat(), report.period.end.isoformat()]
        for row in report.rows:
            writer.writerow([*head, row.province, _name(row.province, t), *row.values()])
        writer.writerow([*head, "total", t["total"], *report.total.values()])
        return buffer.getvalue().encode("utf-8-sig")

    def _environment(self) -> SandboxedEnvironment:
        builtin = FileSystemLoader(str(_TEMPLATES))
        loaders: list[Any] = [PrefixLoader({"builtin": builtin})]
        if self._template is not None:
            loaders.insert(0, FileSystemLoader(str(self._template.parent)))
        loaders.append(builtin)
        env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders), autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
        )  # fmt: skip
        env.filters["num"] = self.number
        return env

    def number(self, value: int) -> str:
        """A count with the language's thousands separator (1.234.567 in Vietnamese, 1,234,567 in English)."""
        text = f"{int(value):,}"
        return text if self._lang == "en" else text.replace(",", ".")

    def html(self, report: RegulatorReport) -> str:
        """The printable page (A4); the operator's template when the setting names one."""
        t = texts(self._lang)
        env = self._environment()
        name = self._template.name if self._template is not None else "regulator.html"
        period = t["period_value"].format(start=_day(report.period.start, self._lang),
                                          end=_day(report.period.end, self._lang))  # fmt: skip
        rows = [{"code": r.province, "name": _name(r.province, t), "values": r.values()} for r in report.rows]
        return env.get_template(name).render(
            t=t, lang=self._lang, report=report, figures=FIGURES, rows=rows, total=report.total.values(),
            period=period, generated=self._generated(report), operator=report.operator, empty=report.empty,
        )  # fmt: skip
