"""Human-readable texts for error codes, in Vietnamese (default) and English: the one place they live.

`CODES` holds a message for every code subreg emits (field errors, and the codes of its exceptions,
which pages and the command line show); `SUMMARIES` the headline of an API error response for the codes
that head one. A message names the field and the rule, never the value: it must be safe to log and to
show. docs/rules.md lists both (written by `python docs/tables.py`); tests/unit/test_messages.py reads
the source for every emitted code and fails on one without a message.
"""

from __future__ import annotations

import re

__all__ = ["CODES", "LANGS", "SUMMARIES", "field_label", "message_for", "summary_for"]

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
    "id_birth_year_in_future": (
        "Năm sinh theo số CCCD là một năm chưa tới: {field}",
        "The birth year the CCCD number encodes is still to come: {field}",
    ),
    "id_issued_before_introduced": (
        "Ngày cấp trước khi loại giấy tờ này được cấp lần đầu: {field}",
        "Issued before documents of this type were first issued: {field}",
    ),
    "id_issued_underage": (
        "Ngày cấp khi người được cấp chưa đủ tuổi được cấp loại giấy tờ này: {field}",
        "Issued before the holder was old enough to hold this type of document: {field}",
    ),
    "id_type_no_longer_valid": (
        "Loại giấy tờ này không còn giá trị sử dụng (CMND hết giá trị từ 01/01/2025): {field}",
        "This type of document is no longer valid (a CMND is not valid after 31/12/2024): {field}",
    ),
    "guardian_not_adult": (
        "Người giám hộ phải đủ 18 tuổi: {field}",
        "The guardian must be an adult (18 or older): {field}",
    ),
    "channel_not_allowed": (
        "Thuê bao phải được đăng ký tại điểm cung cấp dịch vụ viễn thông, không qua kênh này: {field}",
        "The subscription must be registered at a point of service, not through this channel: {field}",
    ),
    "line_user_not_listed": (
        "Người sử dụng thuê bao không có trong danh sách người sử dụng của tổ chức: {field}",
        "The line's user is not on the organization's list of users: {field}",
    ),
    "not_operator_number": (
        "Số thuê bao không thuộc nhà mạng này: {field}",
        "The number does not belong to this operator: {field}",
    ),
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
    "number_in_quarantine": (
        "Số thuê bao vừa bị thu hồi, chưa hết thời gian chờ trước khi cấp lại: {field}",
        "The number was reclaimed recently; it cannot be issued again before its quarantine ends: {field}",
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
    "busy": ("Hệ thống đang bận, vui lòng thử lại", "The system is busy, please try again"),
    "permission_denied": ("Không có quyền thực hiện thao tác này", "You are not allowed to do this"),
    "gateway_refused": ("Cổng SMS không được phép gọi", "The SMS gateway is not allowed to call"),
    "sms_unavailable": ("Kênh SMS chưa sẵn sàng, vui lòng thử lại", "The SMS channel is not ready, please try again"),
    "not_configured": ("Chức năng chưa được cấu hình: {field}", "Not configured on this server: {field}"),
    "rule_violation": ("Vi phạm quy định: {field}", "Rule violated: {field}"),
    "crypto_error": ("Lỗi giải mã dữ liệu", "Data could not be decrypted"),
    "erased": (
        "Dữ liệu cá nhân của chủ thuê bao này đã bị xoá vĩnh viễn (xoá khoá mã hoá)",
        "This holder's personal data was permanently erased (its encryption key was destroyed)",
    ),
    "personal_data_key": (
        "Nhật ký kiểm toán không được chứa dữ liệu cá nhân: {field}",
        "The audit log must not hold personal data: {field}",
    ),
    "not_json_safe": ("Giá trị không ghi được vào nhật ký: {field}", "Value cannot be written to the log: {field}"),
    "dsr_not_open": (
        "Yêu cầu của chủ thể dữ liệu đã đóng hoặc không đúng loại: {field}",
        "The data-subject request is closed or of another kind: {field}",
    ),
    "holder_not_found": (
        "Không tìm thấy chủ thể dữ liệu với thông tin đã cho: {field}",
        "No data subject found for what was given: {field}",
    ),
    "external_service_error": ("Dịch vụ bên ngoài không phản hồi", "An external service did not answer"),
    "error": ("Lỗi: {field}", "Error: {field}"),
    # Answers of the HTTP layer itself (api/errors.py), not of a rule
    "internal_error": ("Lỗi hệ thống", "Internal error"),
    "payload_too_large": ("Dữ liệu gửi lên quá lớn", "Payload too large"),
    "http_error": ("Yêu cầu không hợp lệ", "Bad request"),
    # The audit log refuses an entry (domain/privacy/audit_chain.py): a fault of the caller's code, not of staff
    "invalid": ("Giá trị không hợp lệ: {field}", "Invalid value: {field}"),
    "naive_datetime": ("Thời điểm thiếu múi giờ: {field}", "The time has no time zone: {field}"),
    "key_not_text": (
        "Tên khoá trong nhật ký phải là chuỗi ký tự: {field}",
        "A key in the log entry is not text: {field}",
    ),
    # Staff sign-in and sessions (services/access/, api/deps.py)
    "unauthenticated": ("Cần đăng nhập", "Sign-in required"),
    "invalid_credentials": (
        "Tên đăng nhập hoặc mật khẩu không đúng",
        "Wrong username or password",
    ),
    "account_locked": (
        "Tài khoản tạm khoá do đăng nhập sai nhiều lần; thử lại sau",
        "Account temporarily locked after repeated failed sign-ins; try again later",
    ),
    "too_many_attempts": (
        "Quá nhiều lần đăng nhập sai từ nơi này; hãy thử lại sau ít phút",
        "Too many failed sign-ins from here; try again in a few minutes",
    ),
    "totp_required": (
        "Cần mã xác thực một lần (TOTP) từ ứng dụng xác thực",
        "A one-time code (TOTP) from the authenticator app is required",
    ),
    "csrf_failed": (
        "Phiên làm việc không hợp lệ (CSRF); tải lại trang và thử lại",
        "Invalid form token (CSRF); reload the page and try again",
    ),
    "not_permitted": (
        "Vai trò của bạn không có quyền: {field}",
        "Your role does not hold the permission: {field}",
    ),
    "password_change_required": (
        "Cần đổi mật khẩu trước khi tiếp tục",
        "You must change your password before continuing",
    ),
    "totp_enrollment_required": (
        "Cần đăng ký xác thực hai lớp (TOTP) trước khi tiếp tục",
        "You must set up two-factor authentication (TOTP) before continuing",
    ),
    "password_too_short": (
        "Mật khẩu quá ngắn (tối thiểu 10 ký tự): {field}",
        "Password is too short (at least 10 characters): {field}",
    ),
    "password_same_as_username": (
        "Mật khẩu không được trùng tên đăng nhập: {field}",
        "Password must not equal the username: {field}",
    ),
    "password_unchanged": (
        "Mật khẩu mới phải khác mật khẩu cũ: {field}",
        "The new password must differ from the old one: {field}",
    ),
    "wrong_password": ("Mật khẩu hiện tại không đúng: {field}", "Current password is wrong: {field}"),
    "invalid_totp": ("Mã xác thực không đúng hoặc đã hết hạn: {field}", "Wrong or expired one-time code: {field}"),
    "totp_not_enrolled": (
        "Chưa bắt đầu đăng ký xác thực hai lớp: {field}",
        "Two-factor enrollment has not been started: {field}",
    ),
    "duplicate_username": ("Tên đăng nhập đã tồn tại: {field}", "Username already exists: {field}"),
    "snapshot_exists": (
        "Ngày này đã có bản chụp số liệu (dùng --replace để thay): {field}",
        "This day already has a snapshot (--replace replaces it): {field}",
    ),
    "date_range_reversed": ("Ngày bắt đầu sau ngày kết thúc: {field}", "The start is after the end: {field}"),
    "date_range_too_long": (
        "Khoảng thời gian quá dài (tối đa 10 năm): {field}",
        "Period too long (10 years at most): {field}",
    ),
    "provinces_not_allowed": (
        "Chỉ tài khoản quản lý vùng mới gắn với tỉnh/thành: {field}",
        "Only a regional manager account names provinces: {field}",
    ),
    "unknown_point_of_sale": ("Không có điểm giao dịch này: {field}", "No such point of sale: {field}"),
    "pos_kind_mismatch": (
        "Loại điểm giao dịch không phù hợp với vai trò: {field}",
        "The point of sale is of the wrong kind for this role: {field}",
    ),
    "pos_not_allowed": (
        "Vai trò này không gắn với điểm giao dịch: {field}",
        "This role is not attached to a point of sale: {field}",
    ),
    "unknown_staff": ("Không có tài khoản nhân viên này: {field}", "No such staff account: {field}"),
    "unknown_role": ("Vai trò không tồn tại: {field}", "Unknown role: {field}"),
    "unknown_permission": ("Quyền không tồn tại: {field}", "Unknown permission: {field}"),
    # Point of sale (services/counter/, domain/counter/gate.py, domain/counter/image_rules.py)
    "update_required": (
        "Thông tin thuê bao chưa đầy đủ, cần cập nhật trước: {field}",
        "The subscriber information is incomplete and must be updated first: {field}",
    ),
    "subscription_terminated": ("Thuê bao đã bị chấm dứt: {field}", "The subscription is terminated: {field}"),
    "processing_restricted": (
        "Dữ liệu của chủ thuê bao đang bị hạn chế xử lý theo yêu cầu của họ: {field}",
        "Processing of the holder's data is restricted at their request: {field}",
    ),
    "review_rejected": (
        "Kiểm soát viên đã từ chối đăng ký của thuê bao này: chỉ còn tra cứu 1414 và gọi khẩn cấp ({field})",
        "A supervisor rejected this line's registration: only the 1414 look-up and emergency calls remain ({field})",
    ),
    "review_stale": (
        "Thuê bao đã thay đổi sau khi trang được mở; xem trạng thái mới rồi quyết định lại: {field}",
        "The line changed after the page was opened; look at its new state and decide again: {field}",
    ),
    "review_not_claimed": (
        "Mục kiểm duyệt này không do bạn giữ (hết hạn giữ, đã quyết định hoặc chưa nhận): {field}",
        "This review item is not held by you (lease ended, already decided, or never claimed): {field}",
    ),
    "item_not_held": (
        "Hồ sơ này không còn do bạn giữ (hết thời gian giữ); hãy lấy hồ sơ tiếp theo: {field}",
        "This item is no longer held by you (its hold ran out); take the next item: {field}",
    ),
    "version_changed": (
        "Thuê bao vừa thay đổi sau khi trang được mở; không có gì bị ghi đè, xem lại rồi xác nhận: {field}",
        "The line changed after the page was opened; nothing was overwritten, check it and confirm again: {field}",
    ),
    "review_own_store": (
        "Không kiểm duyệt hồ sơ của chính điểm bán mình khi kiểm soát viên điểm bán khác đang làm việc: {field}",
        "Your own point of sale's work goes to a supervisor of another point of sale while one is active: {field}",
    ),
    "unknown_transaction": ("Loại giao dịch không tồn tại: {field}", "Unknown kind of transaction: {field}"),
    "new_owner_papers_required": (
        "Chuyển quyền sở hữu cần đầy đủ giấy tờ của chủ thuê bao mới: {field}",
        "A change of owner needs the new owner's complete papers: {field}",
    ),
    "registration_incomplete": (
        "Chưa đủ thông tin theo Nghị định 49 để kích hoạt: {field}",
        "Not everything Decree 49 requires is present for activation: {field}",
    ),
    "consent_required": (
        "Khách hàng chưa đồng ý xử lý dữ liệu cá nhân: {field}",
        "The customer has not consented to the processing of personal data: {field}",
    ),
    "presence_not_proven": (
        "Số giấy tờ không khớp với chủ thuê bao: {field}",
        "The ID number does not match the subscription's holder: {field}",
    ),
    "out_of_scope": (
        "Thuê bao không do điểm giao dịch này đăng ký hoặc đang phục vụ: {field}",
        "This point of sale neither registered nor is serving this subscription: {field}",
    ),
    "scope_required": ("Cần xác định thuê bao đang phục vụ: {field}", "A served subscription is required: {field}"),
    "purpose_required": ("Cần khai báo mục đích truy cập: {field}", "A purpose must be declared: {field}"),
    "purpose_not_allowed": (
        "Mục đích này không được phép với vai trò của bạn: {field}",
        "This purpose is not allowed for your role: {field}",
    ),
    "no_point_of_sale": (
        "Tài khoản chưa gắn với điểm giao dịch: {field}",
        "The account is not attached to a point of sale: {field}",
    ),
    "image_not_supported": (
        "Chỉ nhận ảnh JPEG, PNG hoặc WebP: {field}",
        "Only JPEG, PNG or WebP images are accepted: {field}",
    ),
    "image_too_small": ("Ảnh có độ phân giải quá thấp: {field}", "The image resolution is too low: {field}"),
    "image_blurry": ("Ảnh bị mờ, vui lòng chụp lại: {field}", "The image is blurry, please retake it: {field}"),
    "no_face": (
        "Không thấy khuôn mặt đủ lớn trong ảnh chân dung (chụp gần hơn, khuôn mặt chiếm khung): {field}",
        "No face large enough in the portrait (come closer, fill the frame with the face): {field}",
    ),
    "several_faces": (
        "Ảnh chân dung chỉ được có một khuôn mặt: {field}",
        "The portrait must show exactly one face: {field}",
    ),
    "id_unreadable": (
        "Không đọc được mã QR hoặc MRZ trên ảnh giấy tờ: {field}",
        "Neither the QR code nor the MRZ could be read from the card photo: {field}",
    ),
    "id_card_mismatch": (
        "Giấy tờ trong ảnh không phải của chủ thuê bao: {field}",
        "The card in the photo belongs to someone else: {field}",
    ),
    # Reminder campaigns (domain/campaigns/, services/campaigns/)
    "out_of_range": ("Giá trị nằm ngoài khoảng cho phép: {field}", "Value out of the allowed range: {field}"),
    "invalid_state_change": (
        "Chiến dịch không thể thực hiện thao tác này ở trạng thái hiện tại: {field}",
        "The campaign cannot do this in its current state: {field}",
    ),
    "duplicate_name": ("Tên này đã được dùng: {field}", "This name is already in use: {field}"),
    "unknown_template": ("Không có mẫu tin nhắn này: {field}", "No such message template: {field}"),
    # The regulator's report (domain/reports/regulator.py, services/reports/regulator.py, cli/report.py)
    "end_before_start": (
        "Ngày cuối kỳ phải sau hoặc bằng ngày đầu kỳ: {field}",
        "The end of the period is before its start: {field}",
    ),
    "unknown_province": ("Không có tỉnh/thành phố với mã này: {field}", "No province has this code: {field}"),
    "province_out_of_scope": (
        "Tài khoản không được xem tỉnh/thành phố này: {field}",
        "This account may not see this province: {field}",
    ),
    "binary_to_terminal": (
        "Tệp xlsx là dữ liệu nhị phân, không in ra màn hình: dùng --out TỆP hoặc chuyển hướng đầu ra: {field}",
        "An xlsx file is binary and is not printed to a terminal: use --out FILE or redirect the output: {field}",
    ),
}

# code -> (Vietnamese, English): the headline of an API error response (`error.code`, `error.message`),
# for the codes that head one (an exception's `code`, the API's own handlers). Field-level details follow
# in `error.errors[]` with the messages of CODES.
SUMMARIES: dict[str, tuple[str, str]] = {
    "invalid_input": ("Dữ liệu không hợp lệ", "Invalid input"),
    "not_found": ("Không tìm thấy", "Not found"),
    "conflict": ("Xung đột dữ liệu", "Conflict"),
    "busy": ("Hệ thống đang bận, vui lòng thử lại", "The system is busy, please try again"),
    "rule_violation": ("Không đáp ứng quy định", "Refused by a rule"),
    "permission_denied": ("Không có quyền", "Permission denied"),
    "gateway_refused": ("Cổng SMS bị từ chối", "SMS gateway refused"),
    "sms_unavailable": ("Kênh SMS chưa sẵn sàng", "SMS channel not ready"),
    "external_service_error": ("Dịch vụ bên ngoài lỗi", "External service failed"),
    "internal_error": ("Lỗi hệ thống", "Internal error"),
    "payload_too_large": ("Dữ liệu gửi lên quá lớn", "Payload too large"),
    "http_error": ("Yêu cầu không hợp lệ", "Bad request"),
    "unauthenticated": ("Cần đăng nhập", "Sign-in required"),
    "invalid_credentials": ("Tên đăng nhập hoặc mật khẩu không đúng", "Wrong username or password"),
    "account_locked": ("Tài khoản tạm khoá", "Account temporarily locked"),
    "too_many_attempts": (
        "Quá nhiều lần đăng nhập sai từ nơi này; hãy thử lại sau ít phút",
        "Too many failed sign-ins from here; try again in a few minutes",
    ),
    "totp_required": ("Cần mã xác thực một lần", "One-time code required"),
    "csrf_failed": ("Mã chống giả mạo (CSRF) không hợp lệ", "Invalid CSRF token"),
    "erased": ("Dữ liệu đã bị xoá vĩnh viễn", "Data permanently erased"),
    "update_required": ("Cần cập nhật thông tin thuê bao trước", "The subscriber information must be updated first"),
    "subscription_terminated": ("Thuê bao đã bị chấm dứt", "The subscription is terminated"),
    "new_owner_papers_required": (
        "Đổi chủ thuê bao cần đủ giấy tờ của chủ mới",
        "A change of owner needs the new owner's complete papers",
    ),
    "registration_incomplete": ("Chưa đủ điều kiện kích hoạt", "Activation refused: information incomplete"),
    "duplicate_msisdn": ("Số thuê bao đã tồn tại", "The number already belongs to a subscription"),
    "unreadable_input": ("Không đọc được dữ liệu gửi lên", "The input cannot be read"),
    "crypto_error": ("Lỗi giải mã dữ liệu", "Data could not be decrypted"),
    "unknown_transaction": ("Loại giao dịch không tồn tại", "Unknown kind of transaction"),
    "error": ("Lỗi", "Error"),
    "review_rejected": ("Đăng ký đã bị kiểm soát viên từ chối", "The registration was rejected by a supervisor"),
    "review_stale": ("Thuê bao đã thay đổi, quyết định bị từ chối", "The line changed: decision refused"),
    "review_not_claimed": ("Mục kiểm duyệt không do bạn giữ", "The review item is not held by you"),
    "item_not_held": ("Hồ sơ không còn do bạn giữ", "The item is no longer held by you"),
    "version_changed": ("Thuê bao đã thay đổi, không có gì bị ghi đè", "The line changed: nothing was overwritten"),
    "processing_restricted": (
        "Chủ thuê bao đã yêu cầu hạn chế xử lý dữ liệu; liên hệ bộ phận bảo vệ dữ liệu cá nhân",
        "The holder asked to restrict processing of their data; refer to the data protection officer",
    ),
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
    "holder.previous_id_number": "số CMND cũ",
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
    "guardian.relationship": "quan hệ của người giám hộ với chủ thuê bao",
    "organization.name": "tên tổ chức",
    "organization.registration_number": "số giấy chứng nhận tổ chức",
    "organization.registration_date": "ngày cấp giấy chứng nhận",
    "organization.address": "địa chỉ tổ chức",
    "organization.representative": "người đại diện theo pháp luật",
    "organization.signer_is_representative": "người ký là người đại diện",
    "organization.line_user": "người sử dụng thuê bao (số giấy tờ)",
    "purpose": "mục đích sử dụng",
    "subscriber_type": "loại thuê bao",
    "payment_type": "hình thức thanh toán",
    "activated_on": "ngày kích hoạt",
    "point_of_sale": "điểm giao dịch",
    "channel": "kênh",
    "status": "trạng thái",
}


# A person's field under another section than `holder`: the guardian, or the i-th organization user.
_PERSON_PATH = re.compile(r"(guardian|organization\.users\[(\d+)\])\.(\w+)")


def field_label(field: str, lang: str = "vi") -> str:
    """A readable name for a field path (the path itself in English or when unknown)."""
    if lang != "vi":
        return field
    label = _FIELD_LABELS_VI.get(field)
    if label is not None:
        return label
    match = _PERSON_PATH.fullmatch(field)
    base = _FIELD_LABELS_VI.get(f"holder.{match.group(3)}") if match else None
    if match is None or base is None:
        return field
    if match.group(2) is None:
        return f"{base} người giám hộ"
    return f"{base} của người sử dụng thứ {int(match.group(2)) + 1}"


def message_for(code: str, field: str, lang: str = "vi") -> str:
    """The message for an error code at a field, in `lang` ("vi" or "en")."""
    vi, en = CODES.get(code, ("Lỗi: {field}", "Error: {field}"))
    template = en if lang == "en" else vi
    label = field_label(field, lang) if field else "-"
    return template.format(field=label)


def summary_for(code: str, lang: str = "vi") -> str:
    """The headline of an error response with `code`, in `lang` ("vi" or "en")."""
    pair = SUMMARIES.get(code)
    if pair is None:
        vi, en = CODES.get(code, ("Lỗi: {field}", "Error: {field}"))
        pair = (vi.replace(": {field}", ""), en.replace(": {field}", ""))
    return pair[1] if lang == "en" else pair[0]
