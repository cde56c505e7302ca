"""Content-addressed storage of dataset versions over fsspec.

Layout under the root::

    versions/<sha[:2]>/<sha256>.parquet   complete, immutable versions (read-only files)
    staging/<random>.<suffix>             work in progress of running ingests

A version only ever appears under ``versions/`` complete: it is written and fsynced in
``staging/`` and then renamed (``os.replace``, atomic on one filesystem). Remote filesystems
(S3 and friends) stage work in a local temporary directory and upload on commit; an object PUT
is atomic there, so readers never see a partial object either.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from yaosu.kit.errors import NotFound

from .errors import DataplaneError

__all__ = ["Storage"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^versions/([0-9a-f]{2})/([0-9a-f]{64})\.parquet$")


class Storage:
    """Versions addressed by the SHA-256 of their bytes, under a local directory or fsspec URL."""

    def __init__(self, root: str | os.PathLike[str], *, fs: Any | None = None) -> None:
        """Open (creating if needed) the store at ``root``: a path, ``file://`` or other URL."""
        if fs is None:
            fs, path = fsspec.core.url_to_fs(str(root))
        else:
            path = str(root)
        self.fs = fs
        self.local = isinstance(fs, LocalFileSystem)
        self.root = str(Path(path).resolve()) if self.local else path.rstrip("/")
        self.fs.makedirs(self._join("versions"), exist_ok=True)
        self.fs.makedirs(self._join("staging"), exist_ok=True)
        # Remote stores cannot hold half-written files we then work on, so stage locally.
        self._local_staging = (
            os.path.join(self.root, "staging")
            if self.local
            else os.path.join(tempfile.gettempdir(), "yaosu-staging")
        )
        os.makedirs(self._local_staging, exist_ok=True)

    def __repr__(self) -> str:
        return f"Storage({self.root!r}, local={self.local})"

    def _join(self, relative: str) -> str:
        return f"{self.root}/{relative}" if not self.local else os.path.join(self.root, relative)

    @staticmethod
    def key_for(sha256: str) -> str:
        """The key a version with this SHA-256 (lowercase hex) is stored under."""
        if not _SHA256.match(sha256):
            raise DataplaneError(
                "invalid_sha256",
                f"{sha256!r} is not a lowercase hex SHA-256.",
                f"{sha256!r} 不是小写十六进制的 SHA-256 值。",
            )
        return f"versions/{sha256[:2]}/{sha256}.parquet"

    def _checked(self, key: str) -> str:
        match = _KEY.match(key)
        if not match or match.group(2)[:2] != match.group(1):
            raise DataplaneError(
                "invalid_key",
                f"{key!r} is not a version key (versions/<sha[:2]>/<sha256>.parquet).",
                f"{key!r} 不是有效的版本键（versions/<sha[:2]>/<sha256>.parquet）。",
                key=key,
            )
        return self._join(key)

    # -- staging -------------------------------------------------------------------------------

    def new_staging_path(self, suffix: str = ".parquet") -> str:
        """A fresh local file path in the staging area (not created yet)."""
        return os.path.join(self._local_staging, secrets.token_hex(16) + suffix)

    def discard(self, staged: str) -> None:
        """Remove a staged file if it exists (used on errors and cancels)."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(staged)

    def commit(self, staged: str, sha256: str) -> str:
        """Publish a complete staged file as the version ``sha256`` and return its key.

        If the version already exists (same content), the staged file is dropped. The staged
        file is fsynced before the rename and the directory after it, so a crash leaves either
        no version or the whole version.
        """
        key = self.key_for(sha256)
        target = self._join(key)
        try:
            if self.local:
                self._commit_local(staged, target)
            else:
                self._commit_remote(staged, target)
        finally:
            self.discard(staged)
        return key

    def _commit_local(self, staged: str, target: str) -> None:
        if os.path.exists(target):
            return
        fd = os.open(staged, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(staged, 0o444)  # versions are immutable; make accidents harder
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        os.replace(staged, target)
        _fsync_dir(parent)

    def _commit_remote(self, staged: str, target: str) -> None:
        if self.fs.exists(target):
            return
        parent = target.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        remote_staged = self._join(f"staging/{secrets.token_hex(16)}.parquet")
        self.fs.put_file(staged, remote_staged)
        try:
            self.fs.mv(remote_staged, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(remote_staged)

    def sweep_staging(self, older_than_seconds: float) -> int:
        """Remove staging leftovers (from killed processes) older than the given age.

        Returns how many files were removed. Running ingests keep touching their files, so a
        generous age (an hour) never removes live work.
        """
        cutoff = time.time() - older_than_seconds
        removed = _sweep_local(self._local_staging, cutoff)
        if not self.local:
            removed += self._sweep_remote(self._join("staging"), cutoff)
        return removed

    def _sweep_remote(self, directory: str, cutoff: float) -> int:
        removed = 0
        for path in self.fs.ls(directory, detail=False):
            try:
                modified = self.fs.modified(path).timestamp()
            except (NotImplementedError, FileNotFoundError):
                continue
            if modified < cutoff:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm_file(path)
                    removed += 1
        return removed

    # -- readers -------------------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        """Whether the version ``key`` is stored."""
        return bool(self.fs.exists(self._checked(key)))

    def size(self, key: str) -> int:
        """The size in bytes of the stored version ``key``."""
        path = self._checked(key)
        try:
            return int(self.fs.size(path))
        except FileNotFoundError:
            raise _missing(key) from None

    def open(self, key: str) -> IO[bytes]:
        """Open the stored version ``key`` for reading (binary, seekable)."""
        path = self._checked(key)
        try:
            handle: IO[bytes] = self.fs.open(path, "rb")
        except FileNotFoundError:
            raise _missing(key) from None
        return handle

    def path(self, key: str) -> str:
        """The local filesystem path of version ``key`` (local storage only)."""
        path = self._checked(key)
        if not self.local:
            raise DataplaneError(
                "not_local",
                "This storage is not on the local filesystem; use open() instead of path().",
                "该存储不在本地文件系统上，请使用 open() 而不是 path()。",
            )
        if not os.path.exists(path):
            raise _missing(key)
        return path


def _missing(key: str) -> NotFound:
    return NotFound(
        f"Dataset version {key} does not exist.",
        f"数据集版本 {key} 不存在。",
        code="version_not_found",
    )


def _fsync_dir(path: str) -> None:
    # Makes the rename itself durable; not supported everywhere (e.g. some network mounts).
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sweep_local(directory: str, cutoff: float) -> int:
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                os.remove(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
