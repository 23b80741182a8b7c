"""Projects: named containers that every experiment and deployment belongs to."""

from __future__ import annotations

from ..kind import Kind
from .importing import IMPORT
from .lifecycle import ProjectLifecycle
from .lookup import find_project_id
from .table import TABLE

KIND = Kind(
    section="projects",
    noun="project",
    table=TABLE,
    lifecycle=ProjectLifecycle,
    description="Paperspace projects, by key. Every experiment and deployment names one with `project`.",
    exports={"id": "id"},
    imports=IMPORT,
    lookup=find_project_id,
)
