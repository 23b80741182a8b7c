"""Which files a local workspace holds: the directory's files less what ignore rules name, within the limits.

Ignore rules are gitignore rules (``pathspec``'s GitIgnoreSpec, git's own semantics): each directory's
`.gitignore` and then `.gradientignore` (later lines win), and at the top the stack file's `ignore` list last.
A deeper directory's rules win over its parents'; an ignored directory is not entered (as in git, a file in it
cannot be re-included). `.git/` is never packed.

Symlinks are resolved safely: a link to a regular file inside the workspace is packed as a copy of that file;
a link that leads outside the workspace, to a directory, or nowhere is refused (unless ignored), so nothing
outside the directory can reach an archive. Only regular files are packed; their only kept attribute is the
executable bit (as git keeps it), so touching a file or another umask changes nothing.

A tree is read from a ``Source``: the working tree (``LocalDir``), or a git revision (``GitRevision``, for the
review plan, which compares the workspace at the base revision with the working tree).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:
    import pathspec

IGNORE_FILES = (".gitignore", ".gradientignore")
ALWAYS_IGNORED = (".git/",)
# Gradient's volumes hold at most 5 GB ("Volumes are limited to 5GB of data currently"): the archive lands in
# one and the unpacked tree in another.
MAX_BYTES = 5 * 1000**3
MAX_FILES = 50_000
TAR_BLOCK = 512


class WorkspaceError(Exception):
    """A workspace that cannot be packed; the message says which file and what to do."""


@dataclass(frozen=True)
class Limits:
    files: int = MAX_FILES
    bytes: int = MAX_BYTES


@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # "file", "dir", "link" or "other"
    executable: bool = False
    size: int = 0


class Source(Protocol):
    """A directory tree to read a workspace from; paths are relative, '/'-separated, '' the top."""

    def list_dir(self, rel: str) -> list[Node]: ...

    def read_bytes(self, rel: str) -> bytes: ...

    def open(self, rel: str) -> BinaryIO: ...

    def link_target(self, rel: str) -> Node | str:
        """What a symlink leads to, inside the tree: the regular file's node (its name the path relative to the
        top), or why it cannot be packed."""
        ...

    def blob_id(self, rel: str) -> str:
        """Git's id of the file's content (what the plan compares; git gives it for free at a revision)."""
        ...


@dataclass(frozen=True)
class Entry:
    path: str  # as packed: relative, '/'-separated
    executable: bool
    size: int
    origin: str  # where its content is read in the source (a resolved symlink's target)


@dataclass(frozen=True)
class Tree:
    source: Source
    entries: tuple[Entry, ...]  # sorted by path (code points: the same order on every machine)
    ignored: int = 0  # entries (files or whole directories) left out by ignore rules

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.entries)

    @property
    def packed_size(self) -> int:
        """The archive's size before compression: a header and whole blocks per file, two end blocks."""
        return sum(TAR_BLOCK + -(-entry.size // TAR_BLOCK) * TAR_BLOCK for entry in self.entries) + 2 * TAR_BLOCK


@dataclass
class _Rules:
    """The ignore rules in force in one directory: (directory, spec) pairs, the deepest last."""

    layers: list[tuple[str, pathspec.GitIgnoreSpec]] = field(default_factory=list)

    def ignores(self, rel: str, is_dir: bool) -> bool:
        for base, spec in reversed(self.layers):
            relative = rel[len(base) + 1 :] if base else rel
            verdict = spec.check_file(relative + ("/" if is_dir else "")).include
            if verdict is not None:
                return bool(verdict)
        return False


def scan(source: Source, ignore: Sequence[str] = (), limits: Limits | None = None, *, what: str = "workspace") -> Tree:
    """The files ``source`` holds for a workspace, sorted; WorkspaceError when one cannot be packed or the
    whole does not fit ``limits``."""
    limits = limits or Limits()
    entries: list[Entry] = []
    ignored = 0
    total = 0

    def walk(directory: str, rules: _Rules) -> None:
        nonlocal ignored, total
        nodes = sorted(source.list_dir(directory), key=lambda node: node.name)
        lines: list[str] = []
        for name in IGNORE_FILES:
            if any(node.name == name and node.kind == "file" for node in nodes):
                lines += source.read_bytes(_join(directory, name)).decode("utf-8", "replace").splitlines()
        if not directory:
            lines += [*ALWAYS_IGNORED, *ignore]
        if lines:
            import pathspec  # imported only where a workspace is read (validate of other stacks never needs it)

            rules = _Rules([*rules.layers, (directory, pathspec.GitIgnoreSpec.from_lines(lines))])
        for node in nodes:
            rel = _join(directory, node.name)
            _check_name(rel, what)
            if rules.ignores(rel, node.kind == "dir"):
                ignored += 1
                continue
            if node.kind == "dir":
                walk(rel, rules)
                continue
            if node.kind == "link":
                target = source.link_target(rel)
                if isinstance(target, str):
                    raise WorkspaceError(f"{what}: {rel} is a symlink {target}; replace it or add it to `ignore`")
                entry = Entry(rel, target.executable, target.size, target.name)
            elif node.kind == "file":
                entry = Entry(rel, node.executable, node.size, rel)
            else:
                raise WorkspaceError(
                    f"{what}: {rel} is not a regular file (a socket, pipe or device); add it to `ignore`"
                )
            entries.append(entry)
            total += entry.size
            if len(entries) > limits.files:
                raise WorkspaceError(
                    f"{what}: more than {limits.files:,} files (the limit); leave out what the jobs do not need "
                    "with `ignore` or a .gradientignore file"
                )
            if total > limits.bytes:
                raise WorkspaceError(
                    f"{what}: more than {_size(limits.bytes)} of files (the limit: a Gradient volume holds at most "
                    "5 GB); leave out what the jobs do not need with `ignore` or a .gradientignore file, and keep "
                    "data in datasets"
                )

    walk("", _Rules())
    entries.sort(key=lambda entry: entry.path)
    tree = Tree(source, tuple(entries), ignored)
    if not entries:
        raise WorkspaceError(f"{what}: no files to pack (every file is ignored, or the directory is empty)")
    if tree.packed_size > limits.bytes:
        raise WorkspaceError(
            f"{what}: its archive would be {_size(tree.packed_size)}, over the limit of {_size(limits.bytes)} (a "
            "Gradient volume holds at most 5 GB); leave out what the jobs do not need with `ignore`"
        )
    return tree


def directory(workspace: Mapping[str, Any], root: Path) -> Path:
    """The workspace's directory: `path` relative to the repository root, never outside it."""
    path = str(workspace["path"])
    where = (root / path).resolve()
    if Path(path).is_absolute() or not where.is_relative_to(root.resolve()):
        raise WorkspaceError(f"workspace.path {path!r} must be a directory inside the repository ({root})")
    if not where.is_dir():
        raise WorkspaceError(f"workspace.path {path!r}: no such directory (relative to the repository root {root})")
    return where


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _check_name(rel: str, what: str) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = rel.encode("utf-8", "backslashreplace").decode()
        raise WorkspaceError(f"{what}: the file name {shown!r} is not UTF-8; rename it or add it to `ignore`") from None


def _size(count: int) -> str:
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class LocalDir:
    """A directory of the working tree."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self._real = Path(os.path.realpath(top))

    def list_dir(self, rel: str) -> list[Node]:
        found = []
        with os.scandir(self.top / rel if rel else self.top) as listing:
            for item in listing:
                info = item.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    found.append(Node(item.name, "link"))
                elif stat.S_ISDIR(info.st_mode):
                    found.append(Node(item.name, "dir"))
                elif stat.S_ISREG(info.st_mode):
                    found.append(Node(item.name, "file", bool(info.st_mode & 0o100), info.st_size))
                else:
                    found.append(Node(item.name, "other"))
        return found

    def read_bytes(self, rel: str) -> bytes:
        return (self.top / rel).read_bytes()

    def open(self, rel: str) -> BinaryIO:
        return (self.top / rel).open("rb")

    def link_target(self, rel: str) -> Node | str:
        link = self.top / rel
        shown = os.readlink(link)
        real = Path(os.path.realpath(link))
        if not real.is_relative_to(self._real):
            return f"to {shown}, outside the workspace (nothing outside it is packed)"
        if not real.exists():
            return f"to {shown}, which does not exist"
        info = real.stat()
        if stat.S_ISDIR(info.st_mode):
            return f"to the directory {shown} (links to directories are not followed)"
        if not stat.S_ISREG(info.st_mode):
            return f"to {shown}, which is not a regular file"
        return Node(real.relative_to(self._real).as_posix(), "file", bool(info.st_mode & 0o100), info.st_size)

    def blob_id(self, rel: str) -> str:
        return git_blob_id(self.read_bytes(rel))


class GitRevision:
    """A directory as a git revision holds it: its files listed once (`git ls-tree`), read only when needed."""

    def __init__(self, repository: Path, revision: str, top: str) -> None:
        self.repository = repository
        self.revision = revision
        prefix = self._git("rev-parse", "--show-prefix").decode().strip()  # the repository within git's
        normal = os.path.normpath(prefix + top).strip("/")
        self.top = "" if normal == "." else normal
        self._files: dict[str, tuple[str, str, int]] = {}  # rel -> (mode, blob id, size)
        self._dirs: dict[str, set[str]] = {"": set()}
        listed = self._git("ls-tree", "-r", "-z", "-l", "--full-tree", revision, "--", self.top or ".")
        for record in listed.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, kind, blob, size = meta.decode().split()
            if kind != "blob":
                continue  # a submodule: nothing to pack
            path = raw_path.decode("utf-8", "surrogateescape")
            rel = path[len(self.top) + 1 :] if self.top else path
            self._files[rel] = (mode, blob, int(size) if size.isdigit() else 0)
            parts = PurePosixPath(rel).parts
            for depth in range(len(parts)):
                self._dirs.setdefault("/".join(parts[:depth]), set()).add(parts[depth])

    @property
    def exists(self) -> bool:
        return bool(self._files)

    def _git(self, *args: str) -> bytes:
        try:
            done = subprocess.run(
                ["git", "-C", str(self.repository), *args], capture_output=True, timeout=120, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise WorkspaceError(f"cannot run git in {self.repository}: {type(error).__name__}") from None
        if done.returncode != 0:
            raise WorkspaceError(f"git {args[0]} failed at {self.revision}")
        return done.stdout

    def list_dir(self, rel: str) -> list[Node]:
        found = []
        for name in self._dirs.get(rel, set()):
            child = _join(rel, name)
            if child in self._files:
                mode, _, size = self._files[child]
                kind = "link" if mode == "120000" else "file"
                found.append(Node(name, kind, mode == "100755", size))
            else:
                found.append(Node(name, "dir"))
        return found

    def read_bytes(self, rel: str) -> bytes:
        return self._git("cat-file", "blob", self._files[rel][1])

    def open(self, rel: str) -> BinaryIO:
        return io.BytesIO(self.read_bytes(rel))

    def link_target(self, rel: str) -> Node | str:
        shown = self.read_bytes(rel).decode("utf-8", "replace")
        target = os.path.normpath(PurePosixPath(rel).parent.joinpath(shown).as_posix())
        if shown.startswith("/") or target == ".." or target.startswith("../"):
            return f"to {shown}, outside the workspace (nothing outside it is packed)"
        if target in self._dirs:
            return f"to the directory {shown} (links to directories are not followed)"
        if target not in self._files or self._files[target][0] == "120000":
            return f"to {shown}, which does not exist"
        mode, _, size = self._files[target]
        return Node(target, "file", mode == "100755", size)

    def blob_id(self, rel: str) -> str:
        return self._files[rel][1]


def walk_files(tree: Tree) -> Iterator[tuple[Entry, str]]:
    """Each entry with git's id of its content."""
    for entry in tree.entries:
        yield entry, tree.source.blob_id(entry.origin)
