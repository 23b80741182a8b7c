"""An experiment's local workspace as the loader and the plan see it: files read, nothing uploaded.

- ``derive`` (the loader, so `validate` and the program): the directory exists, fits the limits and holds
  nothing unpackable; its content hash becomes the provider input ``workspaceHash``, so preview and diff see a
  change of code as a change of the experiment.
- ``changes`` (the review plan): which files differ between the workspace at the base revision (git) and the
  working tree, as paths only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..lifecycles.policy import EntryProblem
from . import HASH_INPUT, is_local
from .pack import content_hash
from .tree import GitRevision, LocalDir, Source, WorkspaceError, directory, scan, walk_files

FIELD = "workspace"
SHOWN_FILES = 50  # a plan lists at most this many changed paths, then says how many more


def derive(entry: Mapping[str, Any], root: Path) -> tuple[dict[str, Any], list[EntryProblem]]:
    workspace = entry.get(FIELD)
    if not is_local(workspace):
        return {}, []
    try:
        source = LocalDir(directory(workspace, root))
        tree = scan(source, workspace.get("ignore") or (), what=f"directory {workspace['path']}")
        return {HASH_INPUT: content_hash(tree)}, []
    except WorkspaceError as error:
        return {}, [((FIELD, "path"), str(error))]


def changes(old: Mapping[str, Any], new: Mapping[str, Any], root: Path, base: str) -> list[tuple[str, Any, Any, str]]:
    """(field, old, new, note) when the files of a local workspace differ from the base revision's: the note
    says "workspace changed (N files)" and lists the paths (added, removed or edited)."""
    before_ws, after_ws = old.get(FIELD), new.get(FIELD)
    if not is_local(before_ws) and not is_local(after_ws):
        return []
    try:
        before = _files(GitRevision(root, base, str(before_ws["path"])), before_ws) if is_local(before_ws) else {}
        after = _files(LocalDir(directory(after_ws, root)), after_ws) if is_local(after_ws) else {}
    except WorkspaceError as error:
        return [(FIELD, None, None, f"workspace files cannot be compared: {error}")]
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    if not changed:
        return []
    shown = [
        f"{path} (added)" if path not in before else f"{path} (removed)" if path not in after else path
        for path in changed[:SHOWN_FILES]
    ]
    more = f", and {len(changed) - SHOWN_FILES} more" if len(changed) > SHOWN_FILES else ""
    note = f"workspace changed ({len(changed)} file{'s' if len(changed) != 1 else ''}): {', '.join(shown)}{more}"
    return [(FIELD, f"{len(before)} files", f"{len(after)} files", note)]


def _files(source: Source, workspace: Mapping[str, Any]) -> dict[str, tuple[str, bool]]:
    """Each packed path -> (git's id of its content, executable): what tells an edited file."""
    if isinstance(source, GitRevision) and not source.exists:
        return {}
    tree = scan(source, workspace.get("ignore") or (), what=f"directory {workspace['path']}")
    return {entry.path: (blob, entry.executable) for entry, blob in walk_files(tree)}
