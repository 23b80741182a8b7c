"""The Project's field-policy table."""

from __future__ import annotations

from ...lifecycles.policy import OWNER, FieldRule, FieldTable, Policy, Risk

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
        OWNER: FieldRule(
            Policy.LOCAL_ONLY,
            Risk.SAFE,
            {"type": "string", "minLength": 1},
            "Which stack entry this is (<Pulumi project>/<stack>/<section>/<key>): the program sets it; a create "
            "marks its project with a tag derived from it, so a create cut short is recognised, not repeated.",
            provider_only=True,
            create_only=True,
        ),
    },
    outputs={"projectId": "the Paperspace project id (also the resource id)"},
)
