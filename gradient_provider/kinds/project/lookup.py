"""Finding the project a stack entry made, by name, without Pulumi state (for the commands that read a stack's
objects from the stack file alone): among projects of the same name, the one its create marked with the owner tag."""

from __future__ import annotations

from ...client import PaperspaceApi
from ...client.models import Project
from .lifecycle import owner_tag


def find_project(api: PaperspaceApi, name: str, owner: str) -> Project | None:
    """``owner``: `<pulumi project>/<stack>/projects/<key>`, as the create tagged it."""
    named = [p for p in api.list_projects() if p.name == name]
    if len(named) > 1:
        tag = owner_tag(owner)
        named = [p for p in named if tag in api.project_tags(p.id)] or named[:1]
    return named[0] if named else None


def find_project_id(api: PaperspaceApi, name: str, owner: str) -> str | None:
    project = find_project(api, name, owner)
    return project.id if project else None
