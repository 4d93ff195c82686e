"""Texts of the reports dashboard, Vietnamese (default) and English (the counter pages' `i18n` holds the rest)."""

from __future__ import annotations

__all__ = ["report_label", "report_texts"]

_VI = {
    "reports_title": "Tiến độ chuẩn hoá thông tin thuê bao",
    "reports_period": "Khoảng thời gian",
    "reports_from": "Từ ngày",
    "reports_to": "Đến ngày",
    "reports_province": "Tỉnh/thành (mã, để trống: tất cả)",
    "reports_show": "Xem",
    "reports_scope_all": "Phạm vi: toàn mạng.",
    "reports_scope_some": "Phạm vi: các tỉnh/thành {codes}.",
    "reports_scope_none": "Tài khoản chưa được gắn tỉnh/thành nào: không có số liệu để hiển thị.",
    "reports_no_snapshot": "Chưa có bản chụp số liệu nào trong khoảng thời gian này.",
    "reports_take_today": "Chụp số liệu hôm nay",
    "reports_taken": "Đã chụp số liệu ngày {day}.",
    "reports_snapshots": "{n} bản chụp; bản mới nhất ngày {day}, chụp lúc {taken} (UTC).",
    "reports_as_taken": "Số liệu về trạng thái thuê bao là số liệu của hệ thống tại thời điểm chụp; số bước xử lý, "
    "tin nhắn và giao dịch tại quầy là số liệu theo đúng ngày.",
    "reports_csv": "Tải số liệu (CSV)",
    "reports_numbers": "Bảng số liệu",
    "chart_progress": "Tiến độ theo ngày: đầy đủ và chưa đầy đủ",
    "chart_progress_desc": "Số thuê bao đầy đủ và chưa đầy đủ thông tin theo từng ngày có bản chụp, "
    "từ {start} đến {end}.",
    "chart_funnel": "Xử lý sau thời hạn",
    "chart_funnel_desc": "Số thuê bao đang ở mỗi bước (bản chụp mới nhất) và số bước đã thực hiện trong kỳ.",
    "chart_campaign": "Tin nhắn chiến dịch nhắc",
    "chart_campaign_desc": "Tin nhắn chiến dịch theo trạng thái: tất cả (bản chụp mới nhất) và xếp hàng trong kỳ.",
    "chart_pos_most": "Điểm giao dịch cập nhật nhiều nhất",
    "chart_pos_least": "Điểm giao dịch cập nhật ít nhất",
    "chart_pos_desc": "Số lần cập nhật và đăng ký mới tại mỗi điểm giao dịch trong kỳ.",
    "chart_pos_note": "Trong số các điểm giao dịch có hoạt động trong kỳ.",
    "chart_provinces": "Tỉnh/thành chậm nhất",
    "chart_provinces_desc": "Tỷ lệ thuê bao chưa đầy đủ thông tin theo tỉnh/thành của điểm giao dịch "
    "(bản chụp mới nhất).",
    "chart_empty": "Không có số liệu.",
    "s_complete": "Đầy đủ",
    "s_not_complete": "Chưa đầy đủ",
    "s_lines_now": "Thuê bao hiện ở bước này",
    "s_steps": "Số bước trong kỳ",
    "s_all_sms": "Tất cả",
    "s_period_sms": "Trong kỳ",
    "s_updates": "Cập nhật",
    "s_registrations": "Đăng ký mới",
    "s_share": "Tỷ lệ chưa đầy đủ",
}
_EN = {
    "reports_title": "Subscriber information: progress",
    "reports_period": "Period",
    "reports_from": "From",
    "reports_to": "To",
    "reports_province": "Province (code; empty: all)",
    "reports_show": "Show",
    "reports_scope_all": "Scope: the whole network.",
    "reports_scope_some": "Scope: provinces {codes}.",
    "reports_scope_none": "This account names no province: there are no figures to show.",
    "reports_no_snapshot": "No snapshot of the figures in this period yet.",
    "reports_take_today": "Take today's snapshot",
    "reports_taken": "Snapshot of {day} taken.",
    "reports_snapshots": "{n} snapshot(s); the newest of {day}, taken at {taken} (UTC).",
    "reports_as_taken": "Line states are the registry as it was when a snapshot was taken; enforcement steps, "
    "messages and counter work are those of the day itself.",
    "reports_csv": "Download the numbers (CSV)",
    "reports_numbers": "The numbers",
    "chart_progress": "Progress by day: complete and not complete",
    "chart_progress_desc": "Lines with complete and with incomplete information on each day with a snapshot, "
    "{start} to {end}.",
    "chart_funnel": "Enforcement",
    "chart_funnel_desc": "Lines at each step now (the newest snapshot) and the steps taken in the period.",
    "chart_campaign": "Campaign reminders",
    "chart_campaign_desc": "Campaign SMS by state: all of them (the newest snapshot) and those queued in the period.",
    "chart_pos_most": "Points of sale updating most",
    "chart_pos_least": "Points of sale updating least",
    "chart_pos_desc": "Updates and new registrations at each point of sale in the period.",
    "chart_pos_note": "Among the points of sale with any work in the period.",
    "chart_provinces": "Provinces furthest behind",
    "chart_provinces_desc": "Share of lines with incomplete information by province of the point of sale "
    "(the newest snapshot).",
    "chart_empty": "No figures.",
    "s_complete": "Complete",
    "s_not_complete": "Not complete",
    "s_lines_now": "Lines at this step now",
    "s_steps": "Steps in the period",
    "s_all_sms": "All",
    "s_period_sms": "In the period",
    "s_updates": "Updates",
    "s_registrations": "Registrations",
    "s_share": "Share not complete",
}
_NAMES = {
    "vi": {
        "notified": "Đã thông báo", "one_way_locked": "Khoá một chiều", "two_way_locked": "Khoá hai chiều",
        "terminated": "Chấm dứt", "restored": "Khôi phục", "pending": "Chờ gửi", "sending": "Đang gửi",
        "sent": "Đã gửi", "delivered": "Đã đến máy", "failed": "Lỗi", "expired": "Hết hạn", "rejected": "Bị từ chối",
        "unknown": "Không rõ",
    },
    "en": {
        "notified": "Notified", "one_way_locked": "One-way locked", "two_way_locked": "Two-way locked",
        "terminated": "Terminated", "restored": "Restored", "pending": "Pending", "sending": "Sending",
        "sent": "Sent", "delivered": "Delivered", "failed": "Failed", "expired": "Expired", "rejected": "Rejected",
        "unknown": "Unknown",
    },
}  # fmt: skip


def report_texts(lang: str) -> dict[str, str]:
    """The dashboard's texts in `lang` (Vietnamese for anything else)."""
    return _EN if lang == "en" else _VI


def report_label(code: str, lang: str) -> str:
    """The shown name of a stage, SMS state or `unknown`; the code itself otherwise (provinces, points of sale)."""
    return _NAMES["en" if lang == "en" else "vi"].get(code, code)
