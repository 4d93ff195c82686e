"""Blob stores (document images and files, stored encrypted by the caller)."""

from subreg.adapters.blob.local import LocalBlobStore, new_blob_key

__all__ = ["LocalBlobStore", "new_blob_key"]
