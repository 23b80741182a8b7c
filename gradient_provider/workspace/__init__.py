"""A local workspace: a directory of the repository packed, content-addressed and uploaded for a run (no Pulumi).

- ``tree``: which files a workspace holds (ignore rules, symlinks, limits), read from the working tree or from
  a git revision (for the review plan);
- ``pack``: the content hash and the deterministic archive;
- ``storage``: the stack's S3-compatible bucket (settings from Pulumi config, upload with boto3);
- ``stage``: what an experiment's create and update call before they build the spec;
- ``local``: the experiment kind's hook for the loader (`validate`, the program) and the plan.
"""

from __future__ import annotations

from typing import Any, TypeGuard

HASH_INPUT = "workspaceHash"  # the content hash: set by the program (loader) from the files, in the run key
OBJECT_INPUT = "workspaceObject"  # set by ``stage`` for the wire mapping: where the archive is; no credential


def is_local(workspace: Any) -> TypeGuard[dict[str, Any]]:
    """Whether an experiment's `workspace` is a directory of the repository (rather than a git URL)."""
    return isinstance(workspace, dict) and "path" in workspace
