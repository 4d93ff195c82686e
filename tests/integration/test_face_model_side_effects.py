"""Building the face model leaves Pillow's process-wide settings as they were (face_recognition's import
turns on LOAD_TRUNCATED_IMAGES, which would let truncated uploads through every image check)."""

from __future__ import annotations

import pytest
from PIL import ImageFile

from subreg.adapters.face.dlib_model import DlibFaceModel
from subreg.adapters.images.card_reader import load_image
from subreg.domain.common.errors import InputError
from tests.integration.test_idcard_image import qr_png


def test_a_truncated_upload_is_still_refused_after_the_face_model_is_built():
    DlibFaceModel()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(InputError):
        load_image(qr_png("x")[:60])
