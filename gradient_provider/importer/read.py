"""What `import` reads from Paperspace: each project asked for and its project secrets (names only: v1 never
returns a value, and `import` never asks), then every kind's live objects, each by its own import mapping
(``Kind.imports``), dependents first (a workflow names the datasets it uses). Reads only: nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable

from ..client import PaperspaceApi
from ..kinds import in_dependency_order
from ..kinds.importing import ImportReader, ScopeProject, TeamSnapshot


def read_team(
    api: PaperspaceApi,
    project_ids: Iterable[str],
    asked: dict[str, list[str]],
    named: dict[str, list[str]] | None = None,
) -> TeamSnapshot:
    """Read each project (a missing one raises NotFoundError, which names it) and what the kinds find in them.
    ``asked``: ids asked for by section (`--dataset`), read whether or not anything uses them; ``named``: names
    asked for by section, for a kind whose objects are not found in the projects (a team's datasets)."""
    projects = []
    for ident in dict.fromkeys(project_ids):
        project = api.get_project(ident)
        # projectSecrets-list: names only
        secrets = sorted(str(item["name"]) for item in api.client.paginate(f"/projects/{project.id}/secrets"))
        projects.append(ScopeProject(project, secrets))
    reader = ImportReader(api, projects, asked, named=named or {})
    for kind in reversed(in_dependency_order()):
        if kind.imports is not None:
            reader.live[kind.section] = kind.imports.read(reader)
    return TeamSnapshot(projects, reader.live, reader.notes)
