"""The Project's field-policy table."""

from __future__ import annotations

from ...lifecycles.policy import ADOPT, OWNER, FieldRule, FieldTable, Policy, Risk, adopt_rule, name_rule

TABLE = FieldTable(
    kind="Project",
    fields={
        "name": name_rule(
            Policy.IN_PLACE, Risk.SAFE, "Project name shown in the Paperspace console (not unique). Renamed in place."
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
        ADOPT: adopt_rule("project"),
    },
    outputs={"projectId": "the Paperspace project id (also the resource id)"},
)
