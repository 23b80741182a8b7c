"""A workspace's content hash and its deterministic archive.

The **content hash** is SHA-256 over a manifest: a format tag, then for each file in path order its mode (644 or
755), size, SHA-256 and path. It is what names the archive in the bucket and what the run key holds, so it
depends on nothing but the files' paths, bytes and executable bits: not on times, owners, umask, the order
files were made in, or the machine's compressor.

The **archive** is a gzip'd POSIX (pax) tar of the same files in the same order, with every time 0, owner
0:0 and no user or group names, no directory entries and no absolute paths; gzip's header carries no name and
no time. So the same tree gives the same bytes wherever the same zlib compresses it (and the same hash
everywhere).
"""

from __future__ import annotations

import gzip
import hashlib
import tarfile
from collections.abc import Callable
from typing import BinaryIO, cast

from .tree import Entry, Tree, WorkspaceError

FORMAT = b"gradient-workspace/1\n"  # change it and every hash changes: only with a new archive layout
ARCHIVE_NAME = "workspace.tar.gz"  # the object's name under its hash's prefix, and the file the job unpacks
CHUNK = 1 << 20


def _mode(entry: Entry) -> int:
    return 0o755 if entry.executable else 0o644


def _manifest_line(entry: Entry, digest: str) -> bytes:
    return b"%o %d %s %s\0" % (_mode(entry), entry.size, digest.encode(), entry.path.encode("utf-8"))


def content_hash(tree: Tree) -> str:
    """The content hash, reading every file once (no archive is written)."""
    manifest = hashlib.sha256(FORMAT)
    for entry in tree.entries:
        try:
            with tree.source.open(entry.origin) as stream:
                digest = _hash_stream(entry, stream, lambda _chunk: None)
        except OSError as error:
            raise _unreadable(entry, error) from None
        manifest.update(_manifest_line(entry, digest))
    return manifest.hexdigest()


def pack(tree: Tree, out: BinaryIO, progress: Callable[[int], None] | None = None) -> str:
    """Write the archive of ``tree`` to ``out`` and return its content hash (one read of each file)."""
    manifest = hashlib.sha256(FORMAT)
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for entry in tree.entries:
            info = tarfile.TarInfo(entry.path)
            info.size, info.mode, info.mtime, info.type = entry.size, _mode(entry), 0, tarfile.REGTYPE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            try:
                with tree.source.open(entry.origin) as stream:
                    hashing = _HashingReader(entry, stream)
                    archive.addfile(info, cast(BinaryIO, hashing))  # tarfile only calls read()
                    digest = hashing.finish()
            except OSError as error:  # tarfile's "unexpected end of data" too: the file shrank
                raise _unreadable(entry, error) from None
            manifest.update(_manifest_line(entry, digest))
            if progress is not None:
                progress(entry.size)
    return manifest.hexdigest()


def _hash_stream(entry: Entry, stream: BinaryIO, sink: Callable[[bytes], None]) -> str:
    digest = hashlib.sha256()
    seen = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        sink(chunk)
        seen += len(chunk)
    if seen != entry.size:
        raise _changed(entry)
    return digest.hexdigest()


def _changed(entry: Entry) -> WorkspaceError:
    return WorkspaceError(f"{entry.path} changed while it was being packed; run again when nothing writes to it")


def _unreadable(entry: Entry, error: OSError) -> WorkspaceError:
    reason = error.strerror or str(error)
    return WorkspaceError(f"{entry.path} could not be read ({reason}); run again when nothing writes to it")


class _HashingReader:
    """What tarfile reads a file's content from: the file, hashed as it is read, and exactly its scanned size."""

    def __init__(self, entry: Entry, stream: BinaryIO) -> None:
        self.entry, self.stream = entry, stream
        self.digest = hashlib.sha256()
        self.seen = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        self.seen += len(chunk)
        if self.seen > self.entry.size:
            raise _changed(self.entry)
        return chunk

    def finish(self) -> str:
        if self.seen != self.entry.size or self.stream.read(1):
            raise _changed(self.entry)
        return self.digest.hexdigest()
