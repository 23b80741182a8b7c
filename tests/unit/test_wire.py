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
from gradient_provider.kinds.experiment.jobs import dataset_keys
from gradient_provider.kinds.experiment.table import TABLE as EXPERIMENT_TABLE
from gradient_provider.kinds.experiment.wire import build_spec, inputs_from_spec, run_key
from gradient_provider.lifecycles.policy import FieldTable, Policy
from gradient_provider.workspace import HASH_INPUT, OBJECT_INPUT, is_local

from .schema_strategy import strategy

EXAMPLES = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
_TEXT = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._/:-]{0,30}$"}  # printable, as a user writes


def _inputs(
    table: FieldTable, overrides: dict[str, Any], required: tuple[str, ...] = (), absent: tuple[str, ...] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid provider inputs of a table, with plain text where the schema allows any string."""
    schema = table.schema()
    for name, override in overrides.items():
        schema["properties"][name] = override
    for name in absent:
        del schema["properties"][name]
    schema["required"] = [*schema["required"], *required]
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
        "oneOf": [
            {
                "type": "object",
                "required": ["url"],
                "additionalProperties": False,
                "properties": {
                    "url": {"type": "string", "pattern": "^https://[a-z]{1,10}\\.example/[a-z]{1,10}\\.git$"},
                    "ref": _TEXT,
                },
            },
            {
                "type": "object",
                "required": ["path"],
                "additionalProperties": False,
                "properties": {
                    "path": {"type": "string", "pattern": "^\\./[a-z]{1,10}$"},
                    "ignore": {"type": "array", "items": _TEXT},
                },
            },
        ]
    },
}


def _uploaded(inputs: dict[str, Any]) -> dict[str, Any]:
    """A local workspace as the provider builds its spec: hashed by the program, uploaded by the lifecycle
    (``workspaceObject``). A git workspace has no content hash."""
    if not is_local(inputs.get("workspace")):
        return {k: v for k, v in inputs.items() if k != HASH_INPUT}
    digest = inputs.get(HASH_INPUT) or "a" * 64
    uploaded = {
        "url": f"s3://bucket/gradient-workspaces/{digest}/",
        "accessKey": "secret:WORKSPACE_S3_ACCESS_KEY_0A1B2C3D",
        "secretAccessKey": "secret:WORKSPACE_S3_SECRET_KEY_0A1B2C3D",
        "endpoint": "http://127.0.0.1:9000",
    }
    return {**inputs, HASH_INPUT: digest, OBJECT_INPUT: uploaded}


_SINGLE_JOB = (
    _inputs(
        EXPERIMENT_TABLE,
        _EXPERIMENT_TEXT,
        required=("image", "command", "machineType"),
        absent=("jobs", "datasetIds"),
    )
    .map(
        lambda inputs: (
            {**inputs, "model": {k: v for k, v in inputs["model"].items() if k != "job"}}
            if inputs.get("model")
            else inputs
        )
    )
    .map(_uploaded)
)
_NAMES = st.text(alphabet="abcdefgh", min_size=1, max_size=4).map(lambda text: f"j{text}")


@st.composite
def _jobs_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """An experiment with `jobs` whose DAG is valid: each job needs only earlier ones and mounts their outputs,
    datasets by key (with their ids), and every volume is used by a later job or holds the model."""
    base = draw(_inputs(EXPERIMENT_TABLE, _EXPERIMENT_TEXT, absent=("image", "command", "datasets", "jobs")))
    base.pop("model", None)
    names = draw(st.lists(_NAMES, min_size=1, max_size=4, unique=True))
    keys = ["corpus", "state", "reports"]
    ids = {key: f"ds{index:013d}" for index, key in enumerate(keys)}
    jobs: dict[str, Any] = {}
    for index, name in enumerate(names):
        job: dict[str, Any] = {"image": draw(strategy(_TEXT)), "command": draw(strategy(_TEXT))}
        if not base.get("machineType") or draw(st.booleans()):
            job["machineType"] = draw(st.sampled_from(["C5", "A4000", "A100-80G"]))
        if draw(st.booleans()):
            job["env"] = {"JOB_VAR": draw(strategy(_TEXT))}
        earlier = names[:index]
        needs = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
        if needs:
            job["needs"] = needs
        inputs: dict[str, Any] = {}
        for producer in needs:
            if draw(st.booleans()):
                inputs[f"from-{producer}"] = {"job": producer, "output": "handoff"}
                jobs[producer].setdefault("outputs", {})["handoff"] = "volume"
        if draw(st.booleans()):
            version = draw(st.sampled_from([None, "latest", "abc1234"]))
            inputs["data"] = {"dataset": "corpus", **({"version": version} if version else {})}
        if draw(st.booleans()):
            inputs["external"] = {"ref": "dsexternal0001:v1"}
        if inputs:
            job["inputs"] = inputs
        if draw(st.booleans()):
            job["outputs"] = {**job.get("outputs", {}), "state": {"dataset": "state"}}
        if draw(st.booleans()):
            job["artifacts"] = {"dataset": "reports"}
        jobs[name] = job
    inputs = {**base, "jobs": jobs}
    if draw(st.booleans()):
        inputs["model"] = {"name": "model", "job": draw(st.sampled_from(names)), "path": "/outputs/model"}
    used = {key for _, key in dataset_keys(jobs)}
    if used:
        inputs["datasetIds"] = {key: ids[key] for key in sorted(used)}
    assert EXPERIMENT_TABLE.entry_problems(inputs) == []
    return _uploaded(EXPERIMENT_TABLE.canonical(inputs) if EXPERIMENT_TABLE.canonical else inputs)


_EXPERIMENTS = st.one_of(_SINGLE_JOB, _jobs_inputs())


@EXAMPLES
@given(_EXPERIMENTS, st.integers(min_value=0, max_value=50))
def test_a_run_spec_reads_back_as_the_inputs_that_made_it(inputs: dict[str, Any], revision: int) -> None:
    spec = build_spec(inputs, revision)
    back = inputs_from_spec(inputs["name"], spec, inputs)
    kept_in_state = {"rerun"}  # no API field holds it: read keeps it from state
    assert _comparable(EXPERIMENT_TABLE, back, kept_in_state) == _comparable(EXPERIMENT_TABLE, inputs, kept_in_state)


@EXAMPLES
@given(_EXPERIMENTS)
def test_every_run_spec_the_table_allows_is_one_the_emulator_accepts(inputs: dict[str, Any]) -> None:
    assert spec_issues(build_spec(inputs, 1)) == []


@EXAMPLES
@given(_jobs_inputs())
def test_a_jobs_spec_is_read_back_as_jobs_even_without_state(inputs: dict[str, Any]) -> None:
    """An experiment adopted or imported has no state to say its form: the spec's shape says it."""
    spec = build_spec(inputs, 0)
    back = inputs_from_spec(inputs["name"], spec, {"projectId": inputs["projectId"]})
    assert set(back["jobs"]) == set(inputs["jobs"])


def test_a_single_job_experiment_keeps_the_run_key_and_spec_of_earlier_versions() -> None:
    """Upgrading must not retrain: the key and spec of a single-job experiment are those the first versions
    computed (recorded from the release before `jobs` existed)."""
    inputs = {
        "projectId": "p1",
        "name": "train",
        "image": "img:1",
        "command": "python t.py",
        "machineType": "A4000",
        "env": {"A": "1"},
        "workspace": {"url": "https://g/x.git", "ref": "main"},
        "model": {"name": "m", "path": "/outputs/model"},
        "rerun": "r1",
        "wait": "completed",
        "timeoutSeconds": 600,
    }
    assert run_key(inputs, 0) == "142d188cc585db9d"
    assert run_key(inputs, 2) == "8f98787cb520986e"
    assert build_spec(inputs, 0) == {
        "defaults": {"env": {"GRADIENT_STACKS_RUN_KEY": "142d188cc585db9d"}},
        "jobs": {
            "clone": {
                "uses": "git-checkout@v1",
                "with": {"url": "https://g/x.git", "ref": "main"},
                "outputs": {"repo": {"type": "volume"}},
                "resources": {"instance-type": "C4"},
            },
            "train": {
                "uses": "container@v1",
                "with": {"image": "img:1", "args": ["sh", "-c", "python t.py"]},
                "resources": {"instance-type": "A4000"},
                "env": {"A": "1"},
                "needs": ["clone"],
                "inputs": {"repo": "clone.outputs.repo"},
                "outputs": {"model": {"type": "volume"}},
            },
            "create-model": {
                "uses": "create-model@v1",
                "needs": ["train"],
                "inputs": {"model": "train.outputs.model"},
                "with": {"name": "m", "type": "Custom"},
                "outputs": {"model-id": {"type": "string"}},
                "resources": {"instance-type": "C4"},
            },
        },
    }
