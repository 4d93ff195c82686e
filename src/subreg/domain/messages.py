"""Human-readable texts for error codes, in Vietnamese (default) and English.

A message names the field and the rule, never the value: it must be safe to log and to show.
"""

from __future__ import annotations

__all__ = ["CODES", "LANGS", "field_label", "message_for"]

LANGS = ("vi", "en")

# code -> (Vietnamese, English). "{field}" is the dotted field path.
CODES: dict[str, tuple[str, str]] = {
    "required": ("Thiếu thông tin bắt buộc: {field}", "Required field is missing: {field}"),
    "invalid_format": ("Sai định dạng: {field}", "Invalid format: {field}"),
    "invalid_choice": ("Giá trị không nằm trong danh sách cho phép: {field}", "Value not allowed: {field}"),
    "too_long": ("Giá trị quá dài: {field}", "Value is too long: {field}"),
    "unknown_field": ("Trường không được hỗ trợ: {field}", "Unknown field: {field}"),
    "invalid_json": ("Dòng không phải JSON hợp lệ", "Line is not valid JSON"),
    "invalid_encoding": ("Dữ liệu không đúng mã hoá UTF-8", "Input is not valid UTF-8"),
    "invalid_msisdn": (
        "Không phải số thuê bao di động Việt Nam: {field}",
        "Not a Vietnamese mobile number: {field}",
    ),
    "invalid_id_number": (
        "Số giấy tờ sai độ dài hoặc ký tự: {field}",
        "ID number has the wrong length or characters: {field}",
    ),
    "unknown_province_code": (
        "Mã tỉnh (3 số đầu) của số CCCD không tồn tại: {field}",
        "The CCCD's province code (first 3 digits) is unknown: {field}",
    ),
    "id_gender_mismatch": (
        "Chữ số thứ 4 của số CCCD không khớp giới tính: {field}",
        "The CCCD's 4th digit disagrees with the gender: {field}",
    ),
    "id_birth_year_mismatch": (
        "Số CCCD không khớp năm sinh: {field}",
        "The CCCD number disagrees with the year of birth: {field}",
    ),
    "id_expired": ("Giấy tờ đã hết hạn: {field}", "The document has expired: {field}"),
    "id_issued_before_birth": (
        "Ngày cấp giấy tờ trước ngày sinh: {field}",
        "The document was issued before the holder was born: {field}",
    ),
    "date_in_future": ("Ngày ở tương lai: {field}", "Date is in the future: {field}"),
    "underage_without_guardian": (
        "Chủ thuê bao dưới 14 tuổi phải có người giám hộ: {field}",
        "A holder under 14 needs a guardian: {field}",
    ),
    "contract_required": (
        "Từ thuê bao thứ 4 trên cùng một giấy tờ phải có số hợp đồng: {field}",
        "The 4th and later subscription under one ID document needs a contract number: {field}",
    ),
    "nationality_mismatch": (
        "CMND/CCCD chỉ dành cho quốc tịch Việt Nam (VNM): {field}",
        "A CMND/CCCD implies Vietnamese nationality (VNM): {field}",
    ),
    "passport_required": (
        "Người nước ngoài phải dùng hộ chiếu: {field}",
        "A foreigner must present a passport: {field}",
    ),
    "duplicate_msisdn": (
        "Số thuê bao đã thuộc một thuê bao đang hoạt động khác: {field}",
        "The number already belongs to another active subscription: {field}",
    ),
    "invalid_qr": ("Mã QR không phải mã QR của thẻ CCCD: {field}", "Not a CCCD QR payload: {field}"),
    "invalid_mrz": ("Vùng MRZ không đúng định dạng TD1: {field}", "Not a TD1 MRZ: {field}"),
    "mrz_check_digit": ("Sai chữ số kiểm tra của MRZ: {field}", "MRZ check digit is wrong: {field}"),
    "no_code_found": (
        "Không đọc được mã QR/MRZ từ ảnh: {field}",
        "No QR code or MRZ could be read from the image: {field}",
    ),
    "not_an_image": ("Tệp không phải ảnh hợp lệ: {field}", "The file is not a valid image: {field}"),
    "image_too_large": ("Ảnh quá lớn: {field}", "The image is too large: {field}"),
    "unknown_rule_set": ("Bộ quy tắc không tồn tại: {field}", "Unknown rule set: {field}"),
    "birth_year_mismatch": (
        "Năm sinh không khớp với ngày sinh hoặc số CCCD: {field}",
        "Birth year does not match the date of birth or the CCCD number: {field}",
    ),
    "unreadable_input": (
        "Không đọc được dữ liệu đầu vào (không phải JSON lines hoặc CSV UTF-8)",
        "The input cannot be read (not JSON lines or UTF-8 CSV)",
    ),
    "invalid_input": ("Dữ liệu không hợp lệ: {field}", "Invalid input: {field}"),
    "not_found": ("Không tìm thấy: {field}", "Not found: {field}"),
    "conflict": ("Xung đột với dữ liệu hiện có: {field}", "Conflicts with existing data: {field}"),
    "permission_denied": ("Không có quyền thực hiện thao tác này", "You are not allowed to do this"),
    "rule_violation": ("Vi phạm quy định: {field}", "Rule violated: {field}"),
    "crypto_error": ("Lỗi giải mã dữ liệu", "Data could not be decrypted"),
    "external_service_error": ("Dịch vụ bên ngoài không phản hồi", "An external service did not answer"),
    "error": ("Lỗi: {field}", "Error: {field}"),
}

_FIELD_LABELS_VI = {
    "msisdn": "số thuê bao",
    "holder.full_name": "họ tên",
    "holder.date_of_birth": "ngày sinh",
    "holder.gender": "giới tính",
    "holder.nationality": "quốc tịch",
    "holder.id_type": "loại giấy tờ",
    "holder.id_number": "số giấy tờ",
    "holder.id_issue_date": "ngày cấp",
    "holder.id_issue_place": "nơi cấp",
    "holder.id_expiry_date": "ngày hết hạn",
    "holder.address": "địa chỉ thường trú",
    "documents.portrait": "ảnh chân dung",
    "documents.id_front": "ảnh mặt trước giấy tờ",
    "documents.id_back": "ảnh mặt sau giấy tờ",
    "documents.passport_page": "ảnh trang hộ chiếu",
    "documents.contract": "hợp đồng",
    "documents.confirmation_form": "phiếu xác nhận thông tin",
    "documents.authorization_letter": "giấy ủy quyền",
    "documents.organization_certificate": "giấy chứng nhận tổ chức",
    "documents.user_list": "danh sách người sử dụng",
    "contract_number": "số hợp đồng",
    "guardian": "người giám hộ",
    "organization.users": "danh sách người sử dụng",
    "holder.birth_year": "năm sinh",
    "guardian.full_name": "họ tên người giám hộ",
    "guardian.id_number": "số giấy tờ người giám hộ",
    "guardian.relationship": "quan hệ với người giám hộ",
    "organization.name": "tên tổ chức",
    "organization.registration_number": "số giấy chứng nhận tổ chức",
    "organization.registration_date": "ngày cấp giấy chứng nhận",
    "organization.address": "địa chỉ tổ chức",
    "organization.representative": "người đại diện theo pháp luật",
    "organization.signer_is_representative": "người ký là người đại diện",
    "purpose": "mục đích sử dụng",
    "subscriber_type": "loại thuê bao",
    "payment_type": "hình thức thanh toán",
    "activated_on": "ngày kích hoạt",
    "point_of_sale": "điểm giao dịch",
    "channel": "kênh",
    "status": "trạng thái",
}


def field_label(field: str, lang: str = "vi") -> str:
    """A readable name for a field path (the path itself in English or when unknown)."""
    if lang == "vi":
        return _FIELD_LABELS_VI.get(field, field)
    return field


def message_for(code: str, field: str, lang: str = "vi") -> str:
    """The message for an error code at a field, in `lang` ("vi" or "en")."""
    vi, en = CODES.get(code, ("Lỗi: {field}", "Error: {field}"))
    template = en if lang == "en" else vi
    label = field_label(field, lang) if field else "-"
    return template.format(field=label)
