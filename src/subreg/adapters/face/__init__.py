"""Offline face models behind the `FaceModel` port (dlib's ResNet through face_recognition)."""

from subreg.adapters.face.dlib_model import DlibFaceModel, recapture_score

__all__ = ["DlibFaceModel", "recapture_score"]
