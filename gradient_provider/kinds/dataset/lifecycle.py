"""Dataset: a team's persistent, versioned data. Pulumi id = dataset id.

Versions are not declared: workflow runs commit them (an experiment job's dataset output). Data outlives runs
and stacks: a dataset that holds a committed version is only deleted when its entry says `retainOnDelete:
false`; otherwise a delete leaves it on Paperspace, and an entry takes it over again only when it says so
(`adopt: <id>`). A create never takes over a dataset of the same name by itself: it may be another stack's or
someone's data, which this entry's `retainOnDelete: false` would then delete.
"""

from __future__ import annotations

import logging
from typing import Any

from ...client import NotFoundError
from ...client.models import Dataset
from ...lifecycles.base import Created, Lifecycle, Observed, OperationFailedError
from .table import RETAIN, TABLE

log = logging.getLogger("gradient_provider")


class DatasetLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        # Names are unique in the team (a workflow spec may name a dataset by its name), so one of this name
        # stops the create: it is taken over only when the entry says so. (A create whose answer was lost is
        # recovered by the client, within this call.)
        existing = self.api.find_dataset(inputs["name"])
        if existing is not None:
            raise OperationFailedError(
                f"dataset {inputs['name']!r}: the team already has a dataset of this name ({existing.id}); take it "
                f"over with `adopt: {existing.id}` on this entry, or give the entry another `name` (names are unique "
                "in the team; a new storage provider needs a new dataset, so a new name too)"
            )
        dataset = self.api.create_dataset(inputs["name"], inputs.get("description"), inputs.get("storageProviderId"))
        return Created(dataset.id, self._outputs(dataset, inputs))

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        try:
            dataset = self.api.get_dataset(ident)
        except NotFoundError:
            return None
        inputs: dict[str, Any] = {"name": dataset.name, RETAIN: state.get(RETAIN, True)}
        if dataset.description is not None:
            inputs["description"] = dataset.description
        if dataset.storage_provider_id is not None and state.get("storageProviderId") is not None:
            inputs["storageProviderId"] = dataset.storage_provider_id  # the managed default is not written
        return Observed(ident, self._outputs(dataset, inputs), inputs)

    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if not self.diff(olds, news).touches_api:
            return {**olds, **news}
        dataset = self.api.update_dataset(ident, news["name"], news.get("description"))
        return self._outputs(dataset, news)

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        try:
            if state.get(RETAIN, True):
                committed = [v for v in self.api.dataset_versions(ident) if v.committed]
                if committed:
                    log.warning(
                        "dataset %r (%s) is kept on Paperspace: it holds %d committed version(s); set "
                        "`retainOnDelete: false` on its entry to delete it with its data, or declare it again with "
                        "`adopt: %s` to use it",
                        state.get("name"),
                        ident,
                        len(committed),
                        ident,
                    )
                    return
            self.api.delete_dataset(ident)
        except NotFoundError:
            pass

    @staticmethod
    def _outputs(dataset: Dataset, inputs: dict[str, Any]) -> dict[str, Any]:
        return {**inputs, "datasetId": dataset.id}
