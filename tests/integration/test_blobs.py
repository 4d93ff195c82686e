"""LocalBlobStore: atomic, sharded, private files under random keys."""

from __future__ import annotations

import os
import stat

import pytest

from subreg.adapters.blob import LocalBlobStore, new_blob_key
from subreg.domain.common.errors import NotFoundError


@pytest.fixture
def store(tmp_path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


class TestLocalBlobStore:
    def test_put_get_exists_delete(self, store):
        key = new_blob_key()
        assert not store.exists(key)
        store.put(key, b"\x00ciphertext\xff")
        assert store.exists(key)
        assert store.get(key) == b"\x00ciphertext\xff"
        store.delete(key)
        assert not store.exists(key)
        store.delete(key)  # idempotent

    def test_missing_key_is_not_found(self, store):
        with pytest.raises(NotFoundError):
            store.get(new_blob_key())

    def test_overwrite_replaces_the_whole_content(self, store):
        key = new_blob_key()
        store.put(key, b"a" * 1000)
        store.put(key, b"b")
        assert store.get(key) == b"b"

    def test_files_are_sharded_private_and_leave_no_temporary_files(self, store):
        key = new_blob_key()
        store.put(key, b"data")
        path = store.root / key[:2] / key[2:4] / key
        assert path.is_file()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [p.name for p in path.parent.iterdir()] == [key]

    def test_put_many_stores_each_and_keys_sharing_a_prefix_share_a_directory(self, store):
        keys = ["ab12" + new_blob_key()[4:] for _ in range(3)]
        store.put_many({k: k.encode() for k in keys})
        assert [store.get(k) for k in keys] == [k.encode() for k in keys]
        assert sorted(p.name for p in (store.root / "ab" / "12").iterdir()) == sorted(keys)

    def test_a_new_shard_directory_is_made_durable_in_its_parent(self, store, monkeypatch):
        # The file and its directory entry are fsynced; a directory created for it must be too, else a
        # crash can lose the directory, and the file with it, after the database recorded the key.
        synced: list[str] = []
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
        store.put("ef56" + new_blob_key()[4:], b"first")
        root = str(store.root)
        assert {root, f"{root}/ef", f"{root}/ef/56"} <= set(synced)
        synced.clear()
        store.put("ef56" + new_blob_key()[4:], b"second")  # existing directories: only the leaf's entry
        assert [p for p in synced if not p.split("/")[-1].startswith(".tmp-")] == [f"{root}/ef/56"]

    def test_put_many_with_a_bad_key_stores_nothing_and_leaves_no_temporary_file(self, store):
        good = "cd34" + new_blob_key()[4:]
        with pytest.raises(ValueError, match="invalid blob key"):
            store.put_many({good: b"first", "../escape": b"second"})
        assert not store.exists(good)
        assert list((store.root / "cd" / "34").iterdir()) == []

    def test_keys_are_random(self):
        assert len({new_blob_key() for _ in range(100)}) == 100

    @pytest.mark.parametrize("key", ["../../etc/passwd", "a/b" * 8, "", "short", "x" * 65, "abc.def.ghi.jkl.mno"])
    def test_keys_that_are_not_plain_tokens_are_refused(self, store, key):
        with pytest.raises(ValueError, match="invalid blob key"):
            store.put(key, b"x")
