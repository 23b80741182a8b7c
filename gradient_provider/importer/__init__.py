"""``import``: write a stack file that adopts what already runs in some projects of a team.

`python -m gradient_provider import --project ID [--project ID ...] [--dataset ID ...] --stack NAME [--force]`
reads each project, its deployments (latest spec, any config shape), its workflows (the spec of the latest run),
its project secrets (names only) and the datasets its workflows use (plus any asked for with `--dataset`; not
every dataset of the team: datasets are shared by the whole team, and a stack that adopts one owns it), and
writes ``stacks/NAME.yaml`` with an `adopt:` id on every entry (read.py, mapping.py, write.py; each kind's own
mapping is in ``kinds/<kind>/importing.py``).

The API URL comes from ``Pulumi.<NAME>.yaml`` (``gradient:apiUrl``) or PAPERSPACE_API_URL, the key from
PAPERSPACE_API_KEY. It only reads from Paperspace, never a secret value, and refuses to overwrite a stack file
unless ``--force``. Every failure is one line on stderr and exit code 1.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ..client import GradientApiError, GradientClient, NotFoundError, PaperspaceApi
from ..kinds import registry
from ..kinds.importing import Imported
from ..stack_settings import StackSettingsError, stack_settings
from ..yaml_source import SourceError
from .mapping import import_team
from .read import read_team
from .write import checked, render, write_atomically

STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ImportFailedError(Exception):
    """What the user gets instead of a traceback: one line saying what to fix."""


def main(project_ids: list[str], stack: str, *, dataset_ids: list[str], force: bool, root: Path) -> int:
    try:
        path, imported = run(project_ids, stack, dataset_ids=dataset_ids, force=force, root=root)
    except ImportFailedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: one clean line, never a value read from Paperspace
        print(f"error: internal error ({type(error).__name__}) while importing; please report it", file=sys.stderr)
        return 1
    counts = ", ".join(
        f"{len(imported.sections[kind.section])} {kind.section}"
        for kind in registry()
        if kind.section in imported.sections
    )
    left_out = sum(len(reasons) for reasons in imported.left_out.values())
    print(f"wrote {path}: {counts or 'nothing'}" + (f"; {left_out} left out (see its comments)" if left_out else ""))
    for key in imported.secret_keys:
        print(f"  set before `pulumi up`: pulumi config set --secret {key} <value>")
    print(f"next: python -m gradient_provider validate {path}; python -m gradient_provider plan --stack {stack}")
    return 0


def run(
    project_ids: list[str], stack: str, *, dataset_ids: list[str], force: bool, root: Path
) -> tuple[Path, Imported]:
    if not STACK_NAME.fullmatch(stack):
        raise ImportFailedError(
            f"{stack!r} is no stack name: letters, digits, `_`, `.` and `-`, a letter or digit first"
        )
    path = Path("stacks") / f"{stack}.yaml"
    if (root / path).exists() and not force:
        raise ImportFailedError(f"{path} exists; give --force to overwrite it")
    try:
        api = PaperspaceApi(GradientClient(stack_settings(stack, root)))
    except StackSettingsError as error:
        raise ImportFailedError(str(error)) from None
    try:
        team = read_team(api, project_ids, {"datasets": dataset_ids})
    except NotFoundError as error:
        raise ImportFailedError(f"{error} (not in the team of this API key?)") from None
    except GradientApiError as error:
        raise ImportFailedError(str(error)) from None
    imported = import_team(team)
    text = render(imported, [f"project {ident}" for ident in dict.fromkeys(project_ids)])
    try:
        checked(path, text)
    except SourceError as error:
        raise ImportFailedError(f"the stack file it would write is invalid; nothing written:\n{error}") from None
    write_atomically(root / path, text)
    return path, imported
