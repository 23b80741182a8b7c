"""The Dataset's field-policy table."""

from __future__ import annotations

from ...lifecycles.policy import ADOPT, FieldRule, FieldTable, Policy, Risk, adopt_rule, name_rule

RETAIN = "retainOnDelete"

TABLE = FieldTable(
    kind="Dataset",
    fields={
        "name": name_rule(
            Policy.IN_PLACE,
            Risk.SAFE,
            "Dataset name; unique in the team (a workflow spec may name a dataset by its name). Renamed in place.",
        ),
        "description": FieldRule(
            Policy.IN_PLACE, Risk.SAFE, {"type": "string", "maxLength": 1024}, "What the dataset holds."
        ),
        "storageProviderId": FieldRule(
            Policy.REPLACE,
            Risk.DESTROY,
            {"type": "string", "minLength": 1},
            "Team storage provider that holds the data; Gradient Managed when absent. A dataset cannot move: "
            "changing it makes a new, empty dataset, which needs a new `name` (names are unique in the team).",
        ),
        RETAIN: FieldRule(
            Policy.LOCAL_ONLY,
            Risk.SAFE,
            {"type": "boolean"},
            "Keep the dataset on Paperspace, with its versions, when it leaves the stack or the stack is destroyed "
            "while it holds a committed version. `false`: delete it and every version.",
            default=True,
        ),
        ADOPT: adopt_rule("dataset"),
    },
    outputs={"datasetId": "the Paperspace dataset id (also the resource id)"},
)
