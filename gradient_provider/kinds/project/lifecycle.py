"""Project: a named container for deployments and workflows. Pulumi id = project id."""

from __future__ import annotations

import contextlib
from typing import Any

from ...client import NotFoundError
from ...lifecycles.base import Created, Lifecycle, Observed
from .table import TABLE


class ProjectLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        project = self.api.create_project(inputs["name"])
        return Created(project.id, {**inputs, "projectId": project.id})

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
