"""The Project's field-policy table."""

from __future__ import annotations

from ...lifecycles.policy import FieldRule, FieldTable, Policy, Risk

TABLE = FieldTable(
    kind="Project",
    fields={
        "name": FieldRule(
            Policy.IN_PLACE,
            Risk.SAFE,
            {"type": "string", "minLength": 1, "maxLength": 128},
            "Project name shown in the Paperspace console (not unique). Renamed in place.",
            required=True,
            defaults_to_key=True,
        ),
    },
    outputs={"projectId": "the Paperspace project id (also the resource id)"},
)
