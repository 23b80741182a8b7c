"""What an experiment's create and update do for a local workspace before they build the run's spec.

In order, so that a bad bucket or bad credentials fail before the workflow is touched: open the bucket and
prove it (one HEAD), pack the directory into a temporary file and check its hash is the one the program
computed (``workspaceHash``: the tree did not change since), upload the archive unless its object is already
there, and keep the credentials as Paperspace project secrets, which the `s3-download@v1` job refers to as
``secret:NAME``. What the spec needs is added to the inputs under ``workspaceObject``: the bucket, key,
endpoint, region and the secrets' names, never a credential.

Never called by preview, `validate` or `check`: those read the files only (``local``).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client import PaperspaceApi
from ..lifecycles.base import OperationFailedError, log
from . import HASH_INPUT, OBJECT_INPUT, is_local
from .pack import pack
from .settings import configured
from .tree import LocalDir, WorkspaceError, directory, scan

if TYPE_CHECKING:
    from .storage import Location


def secret_names(location: Location) -> tuple[str, str]:
    """The project secrets holding the bucket's key pair: one pair per endpoint and bucket, shared by the
    project's experiments (deleted with the project). The hash is over the endpoint and bucket only."""
    digest = hashlib.sha256(f"{location.endpoint or ''}\0{location.bucket}".encode()).hexdigest()[:8].upper()
    return f"WORKSPACE_S3_ACCESS_KEY_{digest}", f"WORKSPACE_S3_SECRET_KEY_{digest}"


def stage(api: PaperspaceApi, inputs: dict[str, Any], root: Path | None = None) -> dict[str, Any]:
    """The inputs, with ``workspaceObject`` when the workspace is a local directory (uploaded by now)."""
    workspace = inputs.get("workspace")
    if not is_local(workspace):
        return inputs
    assert isinstance(workspace, dict)
    from .storage import StorageError, Store  # boto3 takes a third of a second to import: only when needed

    what = f"workspace {workspace['path']}"
    try:
        store = Store(configured())
        store.check()
        tree = scan(LocalDir(directory(workspace, root or Path.cwd())), workspace.get("ignore") or (), what=what)
        with tempfile.TemporaryDirectory(prefix="gradient-workspace-") as scratch:
            archive = Path(scratch) / "workspace.tar.gz"
            started = time.monotonic()
            with archive.open("wb") as out:
                content_hash = pack(tree, out)
            expected = inputs.get(HASH_INPUT)
            if expected and expected != content_hash:
                raise WorkspaceError(
                    f"{what} changed after the program read it (hash {str(expected)[:12]}, now {content_hash[:12]}); "
                    "run `pulumi up` again"
                )
            location = store.location(content_hash)
            size = archive.stat().st_size
            if store.exists(location):
                log.info("%s: %s already uploaded (%d files)", what, content_hash[:12], len(tree.entries))
            else:
                log.info(
                    "%s: uploading %d files, %.1f MB packed in %.1f s",
                    what,
                    len(tree.entries),
                    size / 1000**2,
                    time.monotonic() - started,
                )
                store.upload(archive, location, lambda line: log.info("%s: %s", what, line))
    except (WorkspaceError, StorageError) as error:
        raise OperationFailedError(str(error)) from None
    access_name, secret_name = secret_names(location)
    api.put_secret(inputs["projectId"], access_name, store.credentials.access_key_id)
    api.put_secret(inputs["projectId"], secret_name, store.credentials.secret_access_key)
    found: dict[str, Any] = {
        "url": location.prefix_url,
        "accessKey": f"secret:{access_name}",
        "secretAccessKey": f"secret:{secret_name}",
    }
    if location.endpoint:
        found["endpoint"] = location.endpoint
    if location.region:
        found["region"] = location.region
    return {**inputs, HASH_INPUT: content_hash, OBJECT_INPUT: found}
