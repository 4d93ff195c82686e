"""The dlib face model on real faces shipped in scikit-image: transformed copies of the astronaut match, other
people do not, and unusable pictures are refused with their reason codes."""

from __future__ import annotations

import pytest
from skimage import data

from subreg.domain.verification.face import DEFAULT_THRESHOLDS, FaceReason
from subreg.services.verification.biometric_ports import FaceRefusedError
from subreg.services.verification.chip_face import match_face
from tests.fixtures.faces import astronaut, jpeg, lfw_faces, moire, side_by_side, transforms

STRICT = DEFAULT_THRESHOLDS["circular-08-2026"]


@pytest.fixture(scope="module")
def model():
    from subreg.adapters.face import DlibFaceModel

    return DlibFaceModel()


@pytest.fixture(scope="module")
def reference(model):
    return model.template(jpeg(astronaut()), live_capture=False)


@pytest.mark.parametrize("name", sorted(transforms()))
def test_transformed_copies_of_the_same_face_match(model, reference, name):
    transform, quality = transforms()[name]
    probe = jpeg(transform(astronaut()), quality)
    decision, _ = match_face(probe, reference, model=model, threshold=STRICT)
    assert decision.passed, (name, decision)
    assert decision.distance is not None
    assert decision.distance < 0.4
    assert decision.model.startswith("dlib-resnet-v1/")


def test_other_people_do_not_match_the_astronaut(model, reference):
    distances = []
    for face in lfw_faces(40):
        try:
            other = model.template(jpeg(face), live_capture=False)
        except FaceRefusedError:
            continue
        distances.append(model.distance(reference, other))
    assert len(distances) >= 30
    assert min(distances) > STRICT


def test_a_picture_without_a_face_is_refused(model, reference):
    for picture in (data.chelsea(), data.coffee()):  # a cat, a cup of coffee
        decision, _ = match_face(jpeg(picture), reference, model=model, threshold=STRICT)
        assert decision.reason is FaceReason.NO_FACE
        assert decision.decision == "refused"


def test_two_faces_are_refused(model, reference):
    decision, _ = match_face(jpeg(side_by_side(astronaut())), reference, model=model, threshold=STRICT)
    assert decision.reason is FaceReason.SEVERAL_FACES


@pytest.mark.parametrize(("frequency", "depth"), [(0.31, 0.1), (0.31, 0.2), (0.4, 0.1), (0.4, 0.3)])
def test_a_photo_of_a_screen_is_refused(model, reference, frequency, depth):
    probe = jpeg(moire(astronaut(), frequency, depth))
    decision, _ = match_face(probe, reference, model=model, threshold=STRICT)
    assert decision.reason is FaceReason.RECAPTURED


def test_the_recapture_check_applies_to_live_captures_only(model):
    model.template(jpeg(moire(astronaut(), 0.4, 0.1)), live_capture=False)  # a reference: not checked


def test_unreadable_bytes_and_a_faceless_reference_are_refused(model, reference):
    decision, _ = match_face(b"not an image", reference, model=model, threshold=STRICT)
    assert decision.reason is FaceReason.IMAGE_UNREADABLE
    decision, ref = match_face(jpeg(astronaut()), jpeg(data.coffee()), model=model, threshold=STRICT)
    assert decision.reason is FaceReason.NO_REFERENCE
    assert ref is None


def test_jpeg2000_reference_is_read(model, reference):
    import io

    buf = io.BytesIO()
    astronaut().save(buf, "JPEG2000")
    decision, _ = match_face(jpeg(astronaut()), buf.getvalue(), model=model, threshold=STRICT)
    assert decision.passed


def test_templates_of_different_models_are_not_compared(model, reference):
    from subreg.services.verification.biometric_ports import FaceTemplate

    with pytest.raises(ValueError, match="different models"):
        model.distance(reference, FaceTemplate("other", reference.vector))
