"""`import` of projects: the projects asked for are the import's scope; each becomes an entry that adopts it."""

from __future__ import annotations

from typing import Any

from ...lifecycles.policy import ADOPT
from ..importing import Entry, ImportContext, ImportReader, ScopeProject
from ..kind import ImportMapping


def _read(reader: ImportReader) -> list[Any]:
    return list(reader.projects)


def _entry(scope: ScopeProject, ctx: ImportContext) -> None:
    key = ctx.keys["projects"](scope.project.name, "project")
    ctx.ids["projects"][scope.project.id] = key
    entry = Entry(key, {"name": scope.project.name, ADOPT: scope.project.id})
    if scope.secret_names:
        entry.notes.append("project secrets (names only; values are never read): " + ", ".join(scope.secret_names))
    ctx.imported.add("projects", entry)


IMPORT = ImportMapping(read=_read, entry=_entry)
