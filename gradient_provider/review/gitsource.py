"""Reading a stack file as it was at a git revision."""

from __future__ import annotations

import subprocess
from pathlib import Path


class GitError(Exception):
    pass


def read_at(revision: str, path: Path, limit: int | None = None) -> bytes | None:
    """The file's bytes at ``revision``, or None when it did not exist there. With ``limit``, at most
    ``limit + 1`` bytes are read (as many as it takes to tell that a file is too big)."""
    directory = path.resolve().parent
    while not directory.exists():  # a stack file (and its folder) deleted in the working tree
        directory = directory.parent
    if _git(directory, "rev-parse", "--git-dir").returncode != 0:
        raise GitError(f"{directory} is not inside a git repository, so there is no base to compare with")
    verify = _git(directory, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if verify.returncode != 0:
        raise GitError(f"{revision!r} is not a commit of the git repository at {directory}")
    relative = path.resolve().relative_to(directory) if path.resolve().is_relative_to(directory) else path.name
    command = ["git", "-C", str(directory), "cat-file", "blob", f"{revision}:./{relative}"]
    try:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as process:
            assert process.stdout is not None
            data = process.stdout.read(-1 if limit is None else limit + 1)
            if limit is not None and len(data) > limit:
                process.kill()
                return data
            code = process.wait(timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"cannot run git in {directory}: {type(error).__name__}") from error
    return data if code == 0 else None


def files_at(revision: str, directory: Path) -> list[str]:
    listed = _git(directory, "ls-tree", "--name-only", f"{revision}", "./")
    return [name for name in listed.stdout.splitlines() if name.endswith(".yaml")] if listed.returncode == 0 else []


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = _git_bytes(directory, *args)
    text = result.stdout.decode("utf-8", "replace")
    return subprocess.CompletedProcess(result.args, result.returncode, text, result.stderr.decode("utf-8", "replace"))


def _git_bytes(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, timeout=60)
    except FileNotFoundError as error:
        raise GitError("git is not installed") from error
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"cannot run git in {directory}: {type(error).__name__}") from error
