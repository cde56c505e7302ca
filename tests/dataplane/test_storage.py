"""Content-addressed storage: atomic commit, dedupe, key checks, staging sweep, remote fs."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from tests.dataplane.support import stored_files
from yaosu.dataplane.errors import DataplaneError
from yaosu.dataplane.storage import Storage
from yaosu.kit.errors import NotFound


def stage(storage: Storage, data: bytes) -> tuple[str, str]:
    path = storage.new_staging_path()
    Path(path).write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_commit_publishes_under_content_key(storage: Storage) -> None:
    staged, sha = stage(storage, b"hello")
    key = storage.commit(staged, sha)
    assert key == f"versions/{sha[:2]}/{sha}.parquet"
    assert storage.exists(key) and storage.size(key) == 5
    with storage.open(key) as f:
        assert f.read() == b"hello"
    assert Path(storage.path(key)).read_bytes() == b"hello"
    assert not os.access(storage.path(key), os.W_OK) or os.geteuid() == 0
    assert stored_files(storage)["staging"] == []


def test_commit_of_existing_content_drops_the_staged_copy(storage: Storage) -> None:
    first, sha = stage(storage, b"same")
    second, _ = stage(storage, b"same")
    assert storage.commit(first, sha) == storage.commit(second, sha)
    assert not os.path.exists(second)
    assert len(stored_files(storage)["versions"]) == 1


def test_file_url_and_plain_path_are_the_same_store(tmp_path: Path) -> None:
    a = Storage(tmp_path / "s")
    b = Storage(f"file://{tmp_path / 's'}")
    staged, sha = stage(a, b"x")
    key = a.commit(staged, sha)
    assert b.exists(key) and b.root == a.root


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", "versions/aa/" + "b" * 64 + ".parquet", "versions/ab/ab.parquet", ""],
)
def test_keys_are_checked(storage: Storage, key: str) -> None:
    with pytest.raises(DataplaneError) as err:
        storage.exists(key)
    assert err.value.code == "invalid_key"


def test_missing_version_is_not_found(storage: Storage) -> None:
    key = Storage.key_for("a" * 64)
    assert not storage.exists(key)
    with pytest.raises(NotFound):
        storage.open(key)
    with pytest.raises(NotFound):
        storage.size(key)


def test_sweep_staging_removes_only_old_leftovers(storage: Storage) -> None:
    old, _ = stage(storage, b"old")
    fresh, _ = stage(storage, b"fresh")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert storage.sweep_staging(3600) == 1
    assert not os.path.exists(old) and os.path.exists(fresh)


def test_remote_filesystem_commits_through_put(tmp_path: Path) -> None:
    remote = Storage(f"memory://yaosu-test-{os.getpid()}-{time.time_ns()}")
    assert not remote.local
    staged, sha = stage(remote, b"remote bytes")
    key = remote.commit(staged, sha)
    assert remote.exists(key) and remote.size(key) == 12
    with remote.open(key) as f:
        assert f.read() == b"remote bytes"
    assert not os.path.exists(staged)
    with pytest.raises(DataplaneError) as err:
        remote.path(key)
    assert err.value.code == "not_local"
