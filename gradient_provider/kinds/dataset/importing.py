"""`import` of datasets: those the imported workflows use (by id, or by name, unique in a team) and those asked for
with `--dataset`; not every dataset of the team: datasets are shared by the whole team, and a stack that adopts
one owns it."""

from __future__ import annotations

from typing import Any

from ...client import NotFoundError
from ...client.models import Dataset
from ...lifecycles.policy import ADOPT
from ..experiment.importing import WorkflowSnapshot, dataset_refs
from ..importing import ImportContext, ImportReader, add_checked
from ..kind import ImportMapping
from .lifecycle import DatasetLifecycle


def _read(reader: ImportReader) -> list[Any]:
    wanted = [reader.api.get_dataset(ident) for ident in dict.fromkeys(reader.asked.get("datasets", []))]
    found: dict[str, Dataset] = {}
    team: list[Dataset] | None = None
    workflows: list[WorkflowSnapshot] = reader.live.get("experiments", [])
    for workflow in workflows:
        for ref in dataset_refs(workflow.spec):
            ident = ref.partition(":")[0]
            if ident in found:
                continue
            try:
                found[ident] = reader.api.get_dataset(ident)
                continue
            except NotFoundError:
                pass
            team = reader.api.list_datasets() if team is None else team
            named = next((d for d in team if d.name == ident), None)
            if named is not None:
                found[ident] = named
            else:
                reader.notes.append(
                    f"workflow {workflow.workflow.name!r} names dataset {ref!r}, which is no dataset of this team: "
                    "kept as written"
                )
    names = set(reader.named.get("datasets", [])) - {d.name for d in [*wanted, *found.values()]}
    if names:  # the team's datasets are few: one list finds every name asked for
        team = reader.api.list_datasets() if team is None else team
        wanted += [d for d in team if d.name in names]
    return list({d.id: d for d in [*wanted, *found.values()]}.values())


def _entry(dataset: Dataset, ctx: ImportContext) -> None:
    key = ctx.keys["datasets"](dataset.name, "dataset")
    ctx.ids["datasets"][dataset.id] = key
    fields: dict[str, Any] = {"name": dataset.name, ADOPT: dataset.id}
    if dataset.description:
        fields["description"] = dataset.description
    if dataset.storage_provider_id:
        fields["storageProviderId"] = dataset.storage_provider_id
    add_checked(ctx.imported, "datasets", f"dataset {dataset.name!r} ({dataset.id})", DatasetLifecycle, fields, key)


IMPORT = ImportMapping(read=_read, entry=_entry)
