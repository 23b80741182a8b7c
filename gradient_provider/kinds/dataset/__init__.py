"""Datasets: persistent, versioned data that experiments read (`inputs`) and commit new versions of (`outputs`,
`artifacts`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...lifecycles.policy import Risk
from ..kind import Kind
from .importing import IMPORT
from .lifecycle import DatasetLifecycle
from .table import RETAIN, TABLE


def on_delete(view: Mapping[str, Any]) -> tuple[Risk, str | None]:
    if view.get(RETAIN, True):
        return Risk.SAFE, (
            "leaves the stack; if it holds committed versions it is kept on Paperspace (retainOnDelete), to be taken "
            "over again with `adopt: <id>`"
        )
    return Risk.DATA_LOSS, "deletes the dataset and every version it holds (retainOnDelete: false)"


KIND = Kind(
    section="datasets",
    noun="dataset",
    table=TABLE,
    lifecycle=DatasetLifecycle,
    description="Datasets of the team, by key: data that outlives runs. Experiment jobs read them "
    "(`inputs.<name>: {dataset: KEY}`) and commit a new version per run (`outputs`, `artifacts`).",
    exports={"id": "id"},
    unique_identity=True,
    on_delete=on_delete,
    imports=IMPORT,
)
