"""Every blob store keeps the same contract: keys made by aptmagic, nothing
outside the store, a clear error for a missing blob. S3 runs on a moto server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aptmagic.storage.base import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    InvalidKey,
    check_key,
)
from aptmagic.storage.local import LocalBlobStore
from aptmagic.storage.memory import MemoryBlobStore


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "root")
    elif request.param == "memory":
        yield MemoryBlobStore()
    else:
        yield request.getfixturevalue("s3_store")


GOOD_KEYS = ["a", "outputs/ab/0123abcd.png", "x-y_z.1/2/3.bin", "9" * 255]

BAD_KEYS = [
    "",
    "..",
    "../escape.png",
    "outputs/../../escape.png",
    "a/../b",
    "a..b",
    "/etc/passwd",
    "/abs/key",
    "a\\b",
    "..\\escape",
    "C:\\windows",
    "Upper.png",
    "outputs/AB/x.png",
    "with space",
    "tab\tkey",
    "new\nline",
    "nul\x00byte",
    "a//b",
    "a/",
    "./a",
    "a/./b",
    ".hidden",
    "a/.hidden",
    "-dash",
    "caf\u00e9",
    "emoji\U0001f600",
    "semi;colon",
    "percent%2e%2e",
    "star*",
    "q?",
    "x" * 256,
]


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_check_key_accepts_store_made_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", BAD_KEYS)
def test_check_key_refuses_odd_keys(key: str) -> None:
    with pytest.raises(InvalidKey):
        check_key(key)


def test_put_read_stat_exists_delete(store: BlobStore) -> None:
    key = "outputs/ab/abcdef.png"
    assert not store.exists(key)
    store.put(key, b"hello world", "image/png")
    assert store.exists(key)
    assert store.read(key) == b"hello world"
    assert store.stat(key) == BlobInfo(key=key, size=11)
    assert b"".join(store.iter_bytes(key)) == b"hello world"

    store.put(key, b"replaced", "image/png")
    assert store.read(key) == b"replaced"
    assert store.stat(key).size == 8

    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.read(key)
    store.delete(key)  # deleting twice is fine


def test_iter_bytes_chunks(store: BlobStore) -> None:
    data = os.urandom(200_000)
    store.put("big/blob.bin", data, "application/octet-stream")
    chunks = list(store.iter_bytes("big/blob.bin", chunk_size=65536))
    assert b"".join(chunks) == data
    assert all(len(chunk) <= 65536 for chunk in chunks)
    assert len([c for c in chunks if c]) == 4


def test_empty_blob(store: BlobStore) -> None:
    store.put("empty", b"", "text/plain")
    assert store.exists("empty")
    assert store.read("empty") == b""
    assert store.stat("empty").size == 0
    assert b"".join(store.iter_bytes("empty")) == b""


def test_keys_are_independent(store: BlobStore) -> None:
    store.put("a/b", b"1", "text/plain")
    store.put("a/c", b"2", "text/plain")
    store.put("ab", b"3", "text/plain")
    assert [store.read(k) for k in ("a/b", "a/c", "ab")] == [b"1", b"2", b"3"]
    store.delete("a/b")
    assert not store.exists("a/b")
    assert store.exists("a/c") and store.exists("ab")


@pytest.mark.parametrize("op", ["read", "iter_bytes", "stat"])
def test_missing_key_raises_blob_not_found(store: BlobStore, op: str) -> None:
    with pytest.raises(BlobNotFound):
        result = getattr(store, op)("outputs/no/such.png")
        if op == "iter_bytes":
            list(result)
    assert store.exists("outputs/no/such.png") is False


def test_blob_not_found_is_a_lookup_error() -> None:
    assert issubclass(BlobNotFound, LookupError)
    assert issubclass(InvalidKey, ValueError)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_every_operation_refuses_bad_keys(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(key, b"x", "text/plain")
    with pytest.raises(InvalidKey):
        store.read(key)
    with pytest.raises(InvalidKey):
        list(store.iter_bytes(key))
    with pytest.raises(InvalidKey):
        store.stat(key)
    with pytest.raises(InvalidKey):
        store.exists(key)
    with pytest.raises(InvalidKey):
        store.delete(key)


def test_check_passes(store: BlobStore) -> None:
    store.check()


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def test_local_store_writes_only_under_its_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    store = LocalBlobStore(root)
    for key in GOOD_KEYS:
        store.put(key, b"data", "text/plain")
    for key in BAD_KEYS:
        with pytest.raises(InvalidKey):
            store.put(key, b"evil", "text/plain")
    store.check()
    written = _files_under(tmp_path)
    assert written, "nothing was written"
    assert all(path.resolve().is_relative_to(root.resolve()) for path in written)
    # every file is a stored blob: no temp files or probes are left behind
    assert {p.relative_to(root).as_posix() for p in written} == set(GOOD_KEYS)


def test_local_store_does_not_follow_links_out_of_its_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    store = LocalBlobStore(root)
    (root / "link").symlink_to(outside, target_is_directory=True)

    with pytest.raises((InvalidKey, BlobNotFound)):
        store.put("link/evil", b"evil", "text/plain")
    with pytest.raises((InvalidKey, BlobNotFound)):
        store.read("link/secret")
    with pytest.raises((InvalidKey, BlobNotFound)):
        store.delete("link/secret")
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"secret"


def test_local_store_put_is_atomic_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalBlobStore(tmp_path / "root")
    store.put("k", b"old", "text/plain")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put("k", b"new", "text/plain")
    monkeypatch.undo()
    assert store.read("k") == b"old"
    assert [p.name for p in (tmp_path / "root").iterdir()] == ["k"]


def test_local_store_survives_a_new_instance(tmp_path: Path) -> None:
    LocalBlobStore(tmp_path / "root").put("a/b.png", b"png", "image/png")
    again = LocalBlobStore(tmp_path / "root")
    assert again.read("a/b.png") == b"png"


def test_memory_store_keeps_a_copy() -> None:
    store = MemoryBlobStore()
    data = bytearray(b"abc")
    store.put("k", data, "text/plain")  # type: ignore[arg-type]
    data[0] = ord("z")
    assert store.read("k") == b"abc"
