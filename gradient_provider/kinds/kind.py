"""What one resource kind declares, once: everything the loader, schema, program, reference and plan need.

A kind lives in its own folder (``kinds/<kind>/``: table, wire mapping, lifecycle, this declaration) and is
listed once in the registry (``kinds/__init__.py``). Nothing outside names a kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..lifecycles.base import Lifecycle
from ..lifecycles.policy import EntryProblem, FieldTable, Risk
from ..readiness.watch import Watch

if TYPE_CHECKING:
    from ..client import PaperspaceApi
    from ..client.models import WorkflowRun
    from ..stack import StackFile
    from .importing import ImportContext, ImportReader

# A stack key (an entry's key in its section): the Pulumi resource name.
KEY_PATTERN = "^[A-Za-z][A-Za-z0-9_-]*$"

# price of one hour of a machine type, or None when unknown
PriceOf = Callable[[str | None], float | None]


@dataclass(frozen=True)
class Reference:
    """A stack-file field that names another entry by its key; it becomes a real Pulumi dependency."""

    field: str  # the stack-file field, e.g. "project"
    target: str  # the section whose keys it names, e.g. "projects"
    input: str  # the provider input it resolves to, e.g. "projectId"
    output: str  # the target resource's output that feeds it: "id" (the Pulumi id) or an output name
    description: str
    required: bool = False
    # a field the target entry must set for the reference to make sense, and what to say when it does not
    needs: str | None = None
    needs_message: str = ""
    # A reference written inside the field's value rather than as the value (an experiment job's
    # `inputs.<name>.dataset`): it finds every key named there, with its path below the field. The field
    # stays an input as written, and the provider input becomes a map of each key named to its target's output.
    within: Callable[[Any], list[tuple[tuple[str | int, ...], str]]] | None = None


@dataclass(frozen=True)
class Cost:
    """What a kind costs: by the hour while it exists, and per run it starts (an upper bound)."""

    hourly: Callable[[Mapping[str, Any], PriceOf, list[str]], float | None] | None = None
    per_run: Callable[[Mapping[str, Any], PriceOf, list[str]], float | None] | None = None
    # per hour at its peak (a deployment at its most replicas; an experiment's jobs training at once), for the
    # `maxCostPerHour` guardrail
    peak_hourly: Callable[[Mapping[str, Any], PriceOf, list[str]], float | None] | None = None


@dataclass(frozen=True)
class LocalFiles:
    """Fields of an entry that name files of the repository (an experiment's local workspace), read where the
    stack file is read, never by the provider's check or diff."""

    # The loader (`validate`, the program): (provider inputs derived from the files, problems). ``root`` is the
    # repository root, the folder holding `stacks/`. A derived input is in the diff, so preview sees a change.
    derive: Callable[[Mapping[str, Any], Path], tuple[dict[str, Any], list[EntryProblem]]]
    # The review plan: (field, old, new, note) for what changed in the files between the git revision ``base``
    # (old entry) and the working tree (new entry): paths only, never content.
    changes: Callable[[Mapping[str, Any], Mapping[str, Any], Path, str], list[tuple[str, Any, Any, str]]]


@dataclass(frozen=True)
class ImportMapping:
    """How `import` reads a kind's live objects and turns one into a stack entry that adopts it, or leaves it out
    saying why (kinds/importing.py has what every mapping shares)."""

    read: Callable[[ImportReader], list[Any]]
    entry: Callable[[Any, ImportContext], None]


class NotOnPaperspaceError(Exception):
    """What a run command looked for is not on Paperspace (yet); the message says what."""


@dataclass(frozen=True)
class RunCommands:
    """What `logs` and `artifacts` need from a kind whose objects have runs (runs_cli.py)."""

    # (workflow id, its runs) of a stack entry (api, stack file, key, Pulumi project, stack), from the stack file
    # and the API; NotOnPaperspaceError says what is missing
    find: Callable[[PaperspaceApi, StackFile, str, str, str], tuple[str, list[WorkflowRun]]]
    # the dataset versions a run committed: {job, datasetId, version, artifacts}
    versions: Callable[[WorkflowRun], list[dict[str, Any]]]


@dataclass(frozen=True)
class Kind:
    section: str  # the stack file's map of this kind, e.g. "deployments"
    noun: str  # one of them in prose, e.g. "deployment"
    table: FieldTable
    lifecycle: type[Lifecycle]
    description: str  # of the section, for the schema and the reference
    references: tuple[Reference, ...] = ()
    local: LocalFiles | None = None  # fields that name files of the repository (read by the loader and the plan)
    exclusive: tuple[tuple[str, ...], ...] = ()  # stack-file fields of which at most one may be set
    create_risk: Risk = Risk.SAFE  # what creating one risks (an experiment trains)
    cost: Cost = field(default_factory=Cost)
    exports: Mapping[str, str] = field(default_factory=dict)  # stack output key -> resource output ("id": Pulumi id)
    # the stack fields that identify the Paperspace object (an entry that left under one key and came back
    # under another with the same values is a re-key), and whether two entries may share them
    identity: tuple[str, ...] = ("name",)
    unique_identity: bool = False
    # What removing an entry does, for the review plan: its risk and a note (the default: destroy, no note).
    on_delete: Callable[[Mapping[str, Any]], tuple[Risk, str | None]] | None = None
    # A kind whose operations may leave the waiting to the stack's Readiness resource: how it observes many
    # at once, and which output says what an operation produced (a spec id, a run number).
    watch: Watch | None = None
    watch_since: str = ""
    # the most replicas an entry may run (autoscaling's ceiling included), for the `maxReplicas` guardrail
    scale: Callable[[Mapping[str, Any]], int] | None = None
    # How `import` reads this kind's live objects and writes one as an entry that adopts it (kinds/<kind>/importing.py)
    imports: ImportMapping | None = None
    # A kind whose entries scope the others (projects): find an entry's live id by its name without Pulumi state
    # (api, name, owner `<pulumi project>/<stack>/<section>/<key>`), for `drift`
    lookup: Callable[[PaperspaceApi, str, str], str | None] | None = None
    # A kind whose objects have runs, with logs and artifacts (`python -m gradient_provider logs|artifacts`)
    runs: RunCommands | None = None

    @property
    def kind(self) -> str:
        return self.table.kind

    def reference(self, stack_field: str) -> Reference | None:
        """The reference a stack field is (a field that holds references within it is a field of its own)."""
        return next((ref for ref in self.references if ref.field == stack_field and ref.within is None), None)

    @property
    def stack_fields(self) -> dict[str, str]:
        """Stack-file field -> provider input, for the fields a stack file writes differently (references)."""
        return {ref.field: ref.input for ref in self.references if ref.within is None}


# The reference of every kind that lives in a project.
IN_PROJECT = Reference(
    "project", "projects", "projectId", "id", "Key of the project (under `projects`) that holds this.", required=True
)
