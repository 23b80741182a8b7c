"""Reading a stack file as it was at a git revision."""

from __future__ import annotations

import subprocess
from pathlib import Path


class GitError(Exception):
    pass


def read_at(revision: str, path: Path) -> str | None:
    """The file's text at ``revision``, or None when it did not exist there."""
    directory = path.resolve().parent
    while not directory.exists():  # a stack file (and its folder) deleted in the working tree
        directory = directory.parent
    if _git(directory, "rev-parse", "--git-dir").returncode != 0:
        raise GitError(f"{directory} is not inside a git repository, so there is no base to compare with")
    verify = _git(directory, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if verify.returncode != 0:
        raise GitError(f"{revision!r} is not a commit of the git repository at {directory}")
    relative = path.resolve().relative_to(directory) if path.resolve().is_relative_to(directory) else path.name
    shown = _git(directory, "show", f"{revision}:./{relative}")
    if shown.returncode != 0:
        return None
    return shown.stdout


def files_at(revision: str, directory: Path) -> list[str]:
    listed = _git(directory, "ls-tree", "--name-only", f"{revision}", "./")
    return [name for name in listed.stdout.splitlines() if name.endswith(".yaml")] if listed.returncode == 0 else []


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError as error:
        raise GitError("git is not installed") from error
    except OSError as error:
        raise GitError(f"cannot run git in {directory}: {error}") from error
