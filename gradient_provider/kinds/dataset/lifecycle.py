"""Dataset: a team's persistent, versioned data. Pulumi id = dataset id.

Versions are not declared: workflow runs commit them (an experiment job's dataset output). Data outlives runs
and stacks: a dataset that holds a committed version is only deleted when its entry says `retainOnDelete:
false`; otherwise a delete leaves it on Paperspace (and a later create of the same name takes it over).
"""

from __future__ import annotations

import logging
from typing import Any

from ...client import NotFoundError
from ...client.models import Dataset
from ...lifecycles.base import Created, Lifecycle, Observed
from .table import RETAIN, TABLE

log = logging.getLogger("gradient_provider")


class DatasetLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        # Take over a dataset of this name: one kept by an earlier destroy (its data is the point), or made by a
        # create whose answer was lost. Names are unique in the team, so it is this entry's.
        dataset = self.api.find_dataset(inputs["name"])
        if dataset is not None:
            log.info("dataset %r: taking over the existing dataset %s of that name", inputs["name"], dataset.id)
            if dataset.description != inputs.get("description"):
                dataset = self.api.update_dataset(dataset.id, inputs["name"], inputs.get("description"))
        else:
            dataset = self.api.create_dataset(
                inputs["name"], inputs.get("description"), inputs.get("storageProviderId")
            )
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
                        "`retainOnDelete: false` on its entry to delete it with its data",
                        state.get("name"),
                        ident,
                        len(committed),
                    )
                    return
            self.api.delete_dataset(ident)
        except NotFoundError:
            pass

    @staticmethod
    def _outputs(dataset: Dataset, inputs: dict[str, Any]) -> dict[str, Any]:
        return {**inputs, "datasetId": dataset.id}
