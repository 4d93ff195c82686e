"""Reading chip-CCCD photos: QR codes through zxing-cpp, the MRZ through the Tesseract program."""

from __future__ import annotations

import io
import shutil
from datetime import date
from pathlib import Path

import pytest
import segno
from PIL import Image

from subreg.adapters.images.card_reader import decode_qr, load_image, read_id_image, read_mrz
from subreg.domain.common.errors import ExternalServiceError, FieldError, InputError
from subreg.domain.id_documents.card_codes import build_cccd_qr, build_td1_mrz, parse_cccd_qr, parse_td1_mrz
from tests.fixtures.idcards import HOLDER, mrz_png, photo_like, png_header_claiming, qr_png

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="the tesseract binary is not installed (Debian package tesseract-ocr)",
)

PAYLOAD = build_cccd_qr(HOLDER, old_id="123456789")
MRZ = build_td1_mrz(HOLDER, expiry=date(2030, 5, 17))


def png_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def blank_png() -> bytes:
    return png_of(Image.new("L", (600, 400), 255))


def error_codes(exc: pytest.ExceptionInfo[InputError]) -> list[FieldError]:
    return exc.value.errors


class TestLoadImage:
    @pytest.mark.parametrize(
        "data",
        [b"", b"plain text, not an image", b"%PDF-1.7\n", b"P6\n2 2\n255\n" + b"\x00" * 12, qr_png("x")[:60]],
        ids=["empty", "text", "pdf", "ppm-not-allowed", "truncated-png"],
    )
    def test_refuses_bytes_that_are_not_an_accepted_image(self, data: bytes) -> None:
        with pytest.raises(InputError) as exc:
            load_image(data)
        assert error_codes(exc) == [FieldError("image", "not_an_image")]

    @pytest.mark.parametrize("size", [(100_000, 100_000), (10_000, 10_000), (8_000, 6_000)])
    def test_refuses_a_decompression_bomb_from_its_header_alone(self, size: tuple[int, int]) -> None:
        with pytest.raises(InputError) as exc:
            load_image(png_header_claiming(*size))
        assert error_codes(exc) == [FieldError("image", "image_too_large")]

    def test_honours_a_smaller_pixel_limit(self) -> None:
        data = png_of(Image.new("L", (200, 200), 255))
        assert load_image(data, max_pixels=40_000).size == (200, 200)
        with pytest.raises(InputError) as exc:
            load_image(data, max_pixels=39_999)
        assert error_codes(exc) == [FieldError("image", "image_too_large")]

    def test_turns_a_photo_upright_from_its_exif_orientation(self) -> None:
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90° clockwise to view"
        buffer = io.BytesIO()
        Image.new("RGB", (120, 40), "white").save(buffer, format="JPEG", exif=exif.tobytes())
        assert load_image(buffer.getvalue()).size == (40, 120)


class TestDecodeQr:
    def test_reads_a_generated_code_with_diacritics_exactly(self) -> None:
        text = decode_qr(qr_png(PAYLOAD))
        assert text == PAYLOAD
        holder = parse_cccd_qr(text)
        assert holder["full_name"] == "Nguyễn Thị Ánh Đào"
        assert holder["address"] == "12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh"
        assert holder == {**HOLDER, "previous_id_number": "123456789"}

    @pytest.mark.parametrize(
        ("angle", "quality", "blur"),
        [(90, 85, 0), (17, 40, 0), (-33, 60, 0.8), (180, 30, 0)],
    )
    def test_reads_a_rotated_blurred_jpeg_photo(self, angle: float, quality: int, blur: float) -> None:
        photo = photo_like(qr_png(PAYLOAD, scale=5), angle=angle, quality=quality, blur=blur, pad=120)
        assert decode_qr(photo) == PAYLOAD

    def test_reads_a_code_on_a_transparent_background(self) -> None:
        buffer = io.BytesIO()
        segno.make(PAYLOAD, error="m", encoding="utf-8").save(buffer, kind="png", scale=4, light=None)
        assert decode_qr(buffer.getvalue()) == PAYLOAD

    def test_reads_the_six_field_variant(self) -> None:
        payload = PAYLOAD.replace("|123456789|", "|", 1)
        assert parse_cccd_qr(decode_qr(qr_png(payload))) == HOLDER

    def test_says_no_code_found_on_a_blank_image(self) -> None:
        with pytest.raises(InputError) as exc:
            decode_qr(blank_png())
        assert error_codes(exc) == [FieldError("image", "no_code_found")]

    def test_refuses_non_images(self) -> None:
        with pytest.raises(InputError) as exc:
            decode_qr(b"GIF89a but not really")
        assert error_codes(exc) == [FieldError("image", "not_an_image")]


class TestReadMrz:
    @needs_tesseract
    def test_reads_a_rendered_mrz_and_its_fields(self) -> None:
        text = read_mrz(mrz_png(MRZ))
        assert text == MRZ
        assert parse_td1_mrz(text, as_of=date(2025, 1, 1)) == parse_td1_mrz(MRZ)

    @needs_tesseract
    def test_reads_the_mrz_under_other_card_text_in_a_jpeg(self) -> None:
        image = mrz_png(MRZ, font_size=36, above=["Noi cu tru: 12 Le Loi, Q1", "Ngay cap: 01/06/2021"])
        text = read_mrz(photo_like(image, quality=75, pad=40))
        assert parse_td1_mrz(text)["id_number"] == HOLDER["id_number"]

    @needs_tesseract
    def test_says_no_code_found_on_a_blank_image(self) -> None:
        with pytest.raises(InputError) as exc:
            read_mrz(blank_png())
        assert error_codes(exc) == [FieldError("image", "no_code_found")]

    def test_reports_a_missing_tesseract_as_a_non_retryable_service_error(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(ExternalServiceError) as exc:
            read_mrz(blank_png())
        assert exc.value.retryable is False


class TestReadIdImage:
    def test_prefers_the_qr_code(self) -> None:
        fields = read_id_image(photo_like(qr_png(PAYLOAD), angle=8, pad=60))
        assert fields.pop("source") == "qr"
        assert fields["full_name"] == "Nguyễn Thị Ánh Đào"
        assert fields["id_issue_date"] == "2021-06-01"

    @needs_tesseract
    def test_falls_back_to_the_mrz(self) -> None:
        fields = read_id_image(mrz_png(MRZ), as_of=date(2025, 1, 1))
        assert fields.pop("source") == "mrz"
        assert fields == parse_td1_mrz(MRZ)

    @needs_tesseract
    def test_reports_a_foreign_qr_code_when_there_is_no_mrz(self) -> None:
        with pytest.raises(InputError) as exc:
            read_id_image(qr_png("https://example.org/menu"))
        assert error_codes(exc) == [FieldError("qr", "invalid_qr")]

    @needs_tesseract
    def test_says_no_code_found_when_neither_is_there(self) -> None:
        with pytest.raises(InputError) as exc:
            read_id_image(blank_png())
        assert error_codes(exc) == [FieldError("image", "no_code_found")]
