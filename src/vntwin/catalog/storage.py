"""Content-addressed store of uploaded files.

Bytes are streamed to a temporary file in the store while being hashed and counted, then
renamed to ``<root>/<sha[:2]>/<sha[2:4]>/<sha>``: the same content is kept once, a partial
upload never appears under a real name, and client file names never become paths.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from types import TracebackType

from vntwin.errors import TooLarge


class UploadWriter:
    """Receives chunks of one upload; ``commit()`` files it under its sha256."""

    def __init__(self, store: UploadStore) -> None:
        self.store = store
        self.size = 0
        self._hash = hashlib.sha256()
        self.tmp_path = store.root / "tmp" / secrets.token_hex(16)
        self.tmp_path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.tmp_path, "wb")  # noqa: SIM115 - closed in commit/abort

    def write(self, chunk: bytes) -> None:
        """Append a chunk; refuse (and discard everything) once over the size limit."""
        self.size += len(chunk)
        if self.size > self.store.max_bytes:
            self.abort()
            raise TooLarge(
                f"upload is larger than the limit of {self.store.max_bytes:,} bytes"
            )
        self._hash.update(chunk)
        self._file.write(chunk)

    def commit(self) -> tuple[str, int, Path]:
        """Move the finished file into place; return (sha256 hex, size, path)."""
        self._file.close()
        sha = self._hash.hexdigest()
        final = self.store.path_for(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            self.tmp_path.unlink(missing_ok=True)
        else:
            os.replace(self.tmp_path, final)
        return sha, self.size, final

    def abort(self) -> None:
        """Discard the partial file."""
        if not self._file.closed:
            self._file.close()
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> UploadWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()


class UploadStore:
    """The upload directory and its size limit."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def writer(self) -> UploadWriter:
        """Start receiving a new upload."""
        return UploadWriter(self)

    def path_for(self, sha256: str) -> Path:
        """Where the file with this digest lives (whether or not it exists)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256
