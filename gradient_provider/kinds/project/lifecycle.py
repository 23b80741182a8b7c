"""Project: a named container for deployments and workflows. Pulumi id = project id.

Project names are not unique, so a create cut short (the provider killed after Paperspace made the project,
before Pulumi recorded it) cannot be recognised by name. A create therefore marks what it makes: it creates the
project under a pending name that carries a tag derived from its stack entry (``owner``), adds that tag, and
only then gives the project its name. Any later create of the same entry first looks for a project under the
pending name, or of that name with the tag, and takes it over: at every point of a create, what it made is
found again, and never made twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from typing import Any

from ...client import NotFoundError
from ...client.models import Project
from ...lifecycles.base import Created, Lifecycle, Observed
from ...lifecycles.policy import OWNER
from .table import TABLE

log = logging.getLogger("gradient_provider")
_MAX_NAME = 128


def owner_tag(owner: str) -> str:
    """The tag that marks the project of one stack entry: stable, short, and no more than a hash of it."""
    return "gradient-stacks-" + hashlib.sha256(owner.encode()).hexdigest()[:16]


def pending_name(name: str, tag: str) -> str:
    """The name a project has while its create is under way; a person would not choose it."""
    suffix = f" (creating: {tag})"
    return name[: _MAX_NAME - len(suffix)] + suffix


class ProjectLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        name, owner = inputs["name"], inputs.get(OWNER)
        if not owner:  # declared outside a stack file (no program set it): a plain create
            project = self.api.create_project(name)
            return Created(project.id, {**inputs, "projectId": project.id})
        tag = owner_tag(owner)
        pending = pending_name(name, tag)
        found = self._made_before(name, pending, tag)
        if found is not None:
            log.info("project %r: taking over %s, which an earlier create of this entry made", name, found.id)
            project_id = found.id
        else:
            project_id = self.api.create_project(pending).id
        self.api.tag_project(project_id, tag)
        if found is None or found.name != name:
            self.api.rename_project(project_id, name)
        return Created(project_id, {**inputs, "projectId": project_id})

    def _made_before(self, name: str, pending: str, tag: str) -> Project | None:
        for project in self.api.list_projects():
            if project.name == pending or (project.name == name and tag in self.api.project_tags(project.id)):
                return project
        return None

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        try:
            project = self.api.get_project(ident)
        except NotFoundError:
            return None
        inputs = {"name": project.name}
        return Observed(project.id, {**state, **inputs, "projectId": project.id}, inputs)

    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if self.diff(olds, news).touches_api:
            self.api.rename_project(ident, news["name"])
        return {**news, "projectId": ident}

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        with contextlib.suppress(NotFoundError):
            self.api.delete_project(ident)
