"""A local workspace's packing: the same tree gives the same hash and bytes anywhere; ignore rules, symlinks and
limits as docs/experiments.md describes them."""

from __future__ import annotations

import io
import os
import random
import tarfile
from pathlib import Path

import pytest

from gradient_provider.workspace.pack import content_hash, pack
from gradient_provider.workspace.tree import Limits, LocalDir, WorkspaceError, scan

FILES = {
    "train.py": b"print('train')\n",
    "run.sh": b"#!/bin/sh\npython train.py\n",
    "pkg/__init__.py": b"",
    "pkg/model.py": b"class Model: ...\n",
    "pkg/data/config.yaml": b"epochs: 3\n",
    "pkg-extra.txt": b"sorted between pkg and pkg/ by code point\n",
    "ünïcode/naïve.txt": b"non-ASCII names are packed as UTF-8\n",
    ".gitignore": b"*.pyc\n__pycache__/\n",
}
EXECUTABLE = {"run.sh"}


def make_tree(top: Path, seed: int, files: dict[str, bytes] = FILES) -> Path:
    """Write ``files`` under ``top`` in a shuffled order, with arbitrary times and umask-like modes."""
    rng = random.Random(seed)
    names = list(files)
    rng.shuffle(names)
    for name in names:
        path = top / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
        os.chmod(path, (0o755 if name in EXECUTABLE else rng.choice([0o644, 0o600, 0o664])))
        stamp = rng.randrange(1_000_000_000, 2_000_000_000)
        os.utime(path, (stamp, stamp))
    return top


def packed(top: Path, ignore: tuple[str, ...] = ()) -> tuple[str, bytes]:
    out = io.BytesIO()
    digest = pack(scan(LocalDir(top), ignore), out)
    return digest, out.getvalue()


def test_the_same_tree_made_twice_in_another_order_gives_the_same_hash_and_bytes(tmp_path: Path) -> None:
    first = make_tree(tmp_path / "one", seed=1)
    second = make_tree(tmp_path / "elsewhere" / "two", seed=2)
    hash_one, bytes_one = packed(first)
    hash_two, bytes_two = packed(second)
    assert hash_one == hash_two
    assert bytes_one == bytes_two
    assert content_hash(scan(LocalDir(first))) == hash_one  # the loader's hash, without an archive


def test_the_archive_holds_relative_paths_fixed_times_owners_and_modes(tmp_path: Path) -> None:
    _, data = packed(make_tree(tmp_path / "w", seed=3))
    assert data[4:8] == b"\0\0\0\0"  # gzip's header carries no time
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == sorted(FILES)
        for member in members:
            assert not member.name.startswith("/") and ".." not in member.name.split("/")
            assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
            assert member.isreg()
            assert member.mode == (0o755 if member.name in EXECUTABLE else 0o644)
            extracted = archive.extractfile(member)
            assert extracted is not None and extracted.read() == FILES[member.name]


def test_touching_files_or_adding_ignored_ones_keeps_the_hash_and_editing_one_changes_it(tmp_path: Path) -> None:
    top = make_tree(tmp_path / "w", seed=4)
    before, _ = packed(top)
    os.utime(top / "train.py", (1, 1))
    (top / "pkg" / "model.pyc").write_bytes(b"\0compiled")
    (top / "pkg" / "__pycache__").mkdir()
    (top / "pkg" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (top / ".git").mkdir()
    (top / ".git" / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    assert packed(top)[0] == before
    (top / "train.py").write_bytes(b"print('train harder')\n")
    assert packed(top)[0] != before


def test_the_executable_bit_is_content_and_other_mode_bits_are_not(tmp_path: Path) -> None:
    top = make_tree(tmp_path / "w", seed=5)
    before, _ = packed(top)
    os.chmod(top / "train.py", 0o600)
    assert packed(top)[0] == before
    os.chmod(top / "train.py", 0o700)
    assert packed(top)[0] != before


def test_nested_ignore_files_the_stack_ignore_list_and_negations(tmp_path: Path) -> None:
    files = {
        **FILES,
        "pkg/.gradientignore": b"data/\n",
        "logs/run.log": b"noise\n",
        "logs/keep.log": b"kept\n",
        "notes.md": b"kept\n",
    }
    top = make_tree(tmp_path / "w", seed=6, files=files)
    tree = scan(LocalDir(top), ["logs/*.log", "!logs/keep.log"])
    paths = [entry.path for entry in tree.entries]
    assert "pkg/data/config.yaml" not in paths  # pkg's .gradientignore
    assert "logs/run.log" not in paths and "logs/keep.log" in paths  # the stack's `ignore`, negation included
    assert "notes.md" in paths and "pkg/.gradientignore" in paths


def test_a_symlink_that_points_outside_is_refused(tmp_path: Path) -> None:
    top = make_tree(tmp_path / "w", seed=7)
    (tmp_path / "secret.txt").write_text("outside the workspace")
    (top / "pkg" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(WorkspaceError, match=r"pkg/leak.txt is a symlink to .*outside the workspace"):
        scan(LocalDir(top))
    relative = top / "up.txt"
    relative.symlink_to(Path("..") / "secret.txt")
    (top / "pkg" / "leak.txt").unlink()
    with pytest.raises(WorkspaceError, match=r"up\.txt is a symlink to \.\./secret\.txt, outside the workspace"):
        scan(LocalDir(top))
    assert [e.path for e in scan(LocalDir(top), ["up.txt"]).entries] == sorted(FILES)  # unless ignored


def test_a_symlink_to_a_file_inside_is_packed_as_that_file_and_one_to_a_directory_is_refused(tmp_path: Path) -> None:
    top = make_tree(tmp_path / "w", seed=8)
    (top / "latest.py").symlink_to("pkg/model.py")
    tree = scan(LocalDir(top))
    link = next(entry for entry in tree.entries if entry.path == "latest.py")
    assert (link.origin, link.size) == ("pkg/model.py", len(FILES["pkg/model.py"]))
    (top / "alias").symlink_to("pkg", target_is_directory=True)
    with pytest.raises(WorkspaceError, match="alias is a symlink to the directory pkg"):
        scan(LocalDir(top))
    (top / "alias").unlink()
    (top / "dangling").symlink_to("nowhere.txt")
    with pytest.raises(WorkspaceError, match=r"dangling is a symlink to nowhere\.txt, which does not exist"):
        scan(LocalDir(top))


def test_limits_on_file_count_and_size_say_what_to_do(tmp_path: Path) -> None:
    top = make_tree(tmp_path / "w", seed=9)
    with pytest.raises(WorkspaceError, match=r"more than 3 files \(the limit\).*`ignore` or a .gradientignore"):
        scan(LocalDir(top), limits=Limits(files=3))
    with pytest.raises(WorkspaceError, match=r"more than 50 bytes of files .*5 GB"):
        scan(LocalDir(top), limits=Limits(bytes=50))
    with pytest.raises(WorkspaceError, match="its archive would be"):
        scan(LocalDir(top), limits=Limits(bytes=2000))  # the files fit; with tar's blocks they do not


def test_an_empty_or_wholly_ignored_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "only.log").write_text("x")
    with pytest.raises(WorkspaceError, match="no files to pack"):
        scan(LocalDir(tmp_path / "w"), ["*.log"])
