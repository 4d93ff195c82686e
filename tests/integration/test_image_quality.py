"""Image quality checks on real pixels: Pillow, OpenCV's Haar cascade and zxing-cpp, no mocks."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from subreg.adapters.images.quality import OpenCvImageInspector, count_faces, measure
from subreg.domain.counter.image_rules import ImageLimits
from tests.fixtures.images import (
    CARD_HOLDER,
    bomb_png,
    card_back_jpeg,
    card_front_jpeg,
    encode,
    face_image,
    gif_bytes,
    paper_jpeg,
    plain_card_jpeg,
    portrait_jpeg,
    three_images,
    two_faces_jpeg,
)

INSPECTOR = OpenCvImageInspector()


def codes(images: dict[str, bytes], id_type: str | None = "cccd") -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in INSPECTOR.check(images, id_type=id_type).errors}


class TestAcceptedImages:
    def test_a_good_set_passes_and_the_card_qr_gives_the_holder(self):
        result = INSPECTOR.check(three_images(), id_type="cccd")
        assert result.ok
        assert result.card_source == "qr"
        assert result.card_fields["id_number"] == CARD_HOLDER["id_number"]
        assert result.card_fields["full_name"] == CARD_HOLDER["full_name"]

    @pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
    def test_jpeg_png_and_webp_are_accepted(self, fmt):
        assert codes({"portrait": encode(face_image(), fmt)}) == set()

    def test_a_signed_paper_is_checked_as_a_paper(self):
        assert codes({"confirmation_form": paper_jpeg()}) == set()

    def test_an_old_cmnd_card_needs_no_machine_readable_zone(self):
        assert codes({"id_front": plain_card_jpeg(), "id_back": card_back_jpeg()}, id_type="cmnd") == set()


class TestRefusedImages:
    def test_a_non_image_and_a_gif_are_not_supported(self):
        assert codes({"portrait": b"%PDF-1.4 not an image", "id_front": gif_bytes()}) == {
            ("documents.portrait", "image_not_supported"),
            ("documents.id_front", "image_not_supported"),
        }

    def test_a_decompression_bomb_is_refused_before_decoding(self):
        assert codes({"portrait": bomb_png()}) == {("documents.portrait", "image_too_large")}

    def test_too_many_bytes_are_refused(self):
        small = OpenCvImageInspector(ImageLimits(max_bytes=10_000))
        assert [e.code for e in small.check({"portrait": portrait_jpeg()}, id_type=None).errors] == ["image_too_large"]

    def test_a_tiny_image_is_too_small(self):
        assert codes({"portrait": portrait_jpeg(size=160)}) == {("documents.portrait", "image_too_small")}

    def test_a_blurred_portrait_is_blurry(self):
        assert ("documents.portrait", "image_blurry") in codes({"portrait": portrait_jpeg(blur=3)})

    def test_a_blurred_card_is_blurry(self):
        assert ("documents.id_front", "image_blurry") in codes({"id_front": card_front_jpeg(blur=3)})

    def test_a_portrait_without_a_face(self):
        assert codes({"portrait": plain_card_jpeg()}) == {("documents.portrait", "no_face")}

    def test_a_portrait_with_two_faces(self):
        assert codes({"portrait": two_faces_jpeg()}) == {("documents.portrait", "several_faces")}

    def test_a_cccd_whose_photos_show_neither_qr_nor_mrz_is_unreadable(self):
        assert codes({"id_front": plain_card_jpeg(), "id_back": card_back_jpeg()}) == {
            ("documents.id_front", "id_unreadable"),
            ("documents.id_back", "id_unreadable"),
        }

    def test_several_problems_are_reported_together(self):
        found = codes({"portrait": two_faces_jpeg(), "id_front": gif_bytes(), "id_back": bomb_png()})
        assert {f for f, _ in found} == {"documents.portrait", "documents.id_front", "documents.id_back"}


class TestMeasurements:
    def test_exif_orientation_is_applied_before_measuring(self):
        image = face_image().rotate(90, expand=True)
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": undoes the rotation above
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", exif=exif.tobytes())
        measured, _ = measure("portrait", buffer.getvalue(), ImageLimits())
        assert measured.faces == 1
        sideways, _ = measure("portrait", encode(image), ImageLimits())  # control: without the tag, no face
        assert sideways.faces == 0

    def test_the_face_counter_sees_the_astronaut(self):
        import numpy as np

        assert count_faces(np.asarray(face_image().convert("L"))) == 1

    def test_a_face_far_from_the_camera_is_not_a_portrait(self):
        import numpy as np
        from skimage import data

        # The whole astronaut picture: the face spans a fifth of it, under the 0.3 a portrait needs.
        far = Image.fromarray(data.astronaut())
        assert codes({"portrait": encode(far)}) == {("documents.portrait", "no_face")}
        assert count_faces(np.asarray(far.convert("L")), min_share=0.15) == 1  # control: it is a face
