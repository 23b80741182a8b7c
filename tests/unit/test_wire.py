"""Each kind's wire mapping over generated inputs (Hypothesis, from the kind's own table schema):

- the round trip: what refresh reads back from the API body is what produced it (defaults filled in);
- the body is one the emulator's validation accepts (its schema of a deployment config, its checks of a
  workflow spec), so the tables and the emulator cannot drift apart; the emulator's schemas are in turn
  proven against the published OpenAPI by tests/emulator.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.validation import schema_issues
from emulator.workflow_spec import spec_issues
from gradient_provider.kinds.deployment.table import TABLE as DEPLOYMENT_TABLE
from gradient_provider.kinds.deployment.wire import build_config, inputs_from_config
from gradient_provider.kinds.experiment.table import TABLE as EXPERIMENT_TABLE
from gradient_provider.kinds.experiment.wire import build_spec, inputs_from_spec
from gradient_provider.lifecycles.policy import FieldTable, Policy

from .schema_strategy import strategy

EXAMPLES = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
_TEXT = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._/:-]{0,30}$"}  # printable, as a user writes


def _inputs(table: FieldTable, overrides: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid provider inputs of a table, with plain text where the schema allows any string."""
    schema = table.schema()
    for name, override in overrides.items():
        schema["properties"][name] = override
    valid = strategy(schema).filter(lambda inputs: not table.semantic_problems(inputs))
    # The program splits one stack-file `env` into env and secretEnv, so a variable is never in both.
    disjoint = valid.filter(lambda inputs: not set(inputs.get("env") or {}) & set(inputs.get("secretEnv") or {}))
    return disjoint.map(table.with_defaults)


def _comparable(table: FieldTable, inputs: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
    """What a round trip must preserve: API-facing fields, empty collections equal to absent ones, nested
    defaults filled in."""
    return {
        name: table.fields[name].canonical(value)
        for name, value in inputs.items()
        if name in table.fields
        and table.fields[name].policy is not Policy.LOCAL_ONLY
        and name not in dropped
        and value not in (None, {}, [])
    }


_DEPLOYMENT_TEXT = {
    name: _TEXT for name in ("projectId", "name", "image", "machineType", "containerRegistry", "region")
}


@EXAMPLES
@given(_inputs(DEPLOYMENT_TABLE, _DEPLOYMENT_TEXT), st.integers(min_value=0, max_value=50))
def test_a_deployment_config_reads_back_as_the_inputs_that_made_it(inputs: dict[str, Any], revision: int) -> None:
    config = build_config(inputs, revision)
    back, read_revision = inputs_from_config(inputs["projectId"], config, inputs)
    assert _comparable(DEPLOYMENT_TABLE, back, set()) == _comparable(DEPLOYMENT_TABLE, inputs, set())
    if inputs.get("secretEnv"):
        assert read_revision == revision


@EXAMPLES
@given(_inputs(DEPLOYMENT_TABLE, _DEPLOYMENT_TEXT))
def test_every_deployment_config_the_table_allows_is_one_the_emulator_accepts(inputs: dict[str, Any]) -> None:
    assert schema_issues("deployment-config", build_config(inputs, 1)) == []


_EXPERIMENT_TEXT = {
    **{name: _TEXT for name in ("projectId", "name", "image", "machineType", "command")},
    "workspace": {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "pattern": "^https://[a-z]{1,10}\\.example/[a-z]{1,10}\\.git$"},
            "ref": _TEXT,
        },
    },
}


@EXAMPLES
@given(_inputs(EXPERIMENT_TABLE, _EXPERIMENT_TEXT), st.integers(min_value=0, max_value=50))
def test_a_run_spec_reads_back_as_the_inputs_that_made_it(inputs: dict[str, Any], revision: int) -> None:
    spec = build_spec(inputs, revision)
    back = inputs_from_spec(inputs["name"], spec, inputs)
    kept_in_state = {"rerun"}  # no API field holds it: read keeps it from state
    assert _comparable(EXPERIMENT_TABLE, back, kept_in_state) == _comparable(EXPERIMENT_TABLE, inputs, kept_in_state)


@EXAMPLES
@given(_inputs(EXPERIMENT_TABLE, _EXPERIMENT_TEXT))
def test_every_run_spec_the_table_allows_is_one_the_emulator_accepts(inputs: dict[str, Any]) -> None:
    assert spec_issues(build_spec(inputs, 1)) == []
