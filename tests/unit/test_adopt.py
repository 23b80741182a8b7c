"""`adopt: <id>`: the one adopt path (Lifecycle.create_or_adopt) against the fake API and clock, for each kind
that lives in the fakes. It takes the object over (nothing created), reconciles it with the kind's own update
rules, and refuses clearly a wrong id, another project's object, or a difference only a new object could make."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_provider.kinds.deployment.lifecycle import DeploymentLifecycle
from gradient_provider.kinds.deployment.wire import build_config
from gradient_provider.kinds.experiment.lifecycle import ExperimentLifecycle
from gradient_provider.kinds.experiment.wire import build_spec
from gradient_provider.kinds.project.lifecycle import ProjectLifecycle
from gradient_provider.lifecycles.base import OperationFailedError, read_hint
from gradient_provider.lifecycles.secret_env import secret_name

from .fakes import FakeApi, FakeClock

POLL = 5.0
CREATES = ("create_project", "create_workflow", "create_dataset")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> FakeApi:
    return FakeApi(clock)


def _serving(project_id: str, **overrides: Any) -> dict[str, Any]:
    inputs, problems = DeploymentLifecycle.check(
        {"projectId": project_id, "name": "api", "image": "app:1", "machineType": "C4", **overrides}
    )
    assert problems == []
    return inputs


def _training(project_id: str, **overrides: Any) -> dict[str, Any]:
    inputs, problems = ExperimentLifecycle.check(
        {
            "projectId": project_id,
            "name": "train",
            "image": "pytorch/pytorch:2.3.0",
            "command": "python train.py",
            "machineType": "A4000",
            **overrides,
        }
    )
    assert problems == []
    return inputs


def _made_elsewhere(api: FakeApi, clock: FakeClock, project_id: str, inputs: dict[str, Any]) -> str:
    """A deployment made outside the stack, ready by now."""
    ident = api.upsert_deployment(project_id, build_config(inputs))
    clock.time += 60
    return ident


def _workflow_elsewhere(api: FakeApi, clock: FakeClock, project_id: str, inputs: dict[str, Any]) -> str:
    """A workflow made outside the stack with one succeeded run of the spec these inputs give."""
    workflow = api.create_workflow(project_id, inputs["name"], {})
    api.start_run(workflow.id, build_spec(inputs))
    clock.time += 60
    return workflow.id


def test_a_project_is_taken_over_and_renamed_to_the_entry(api: FakeApi, clock: FakeClock) -> None:
    existing = api.create_project("Old name").id
    api.calls.clear()
    created = ProjectLifecycle(api, POLL, clock).create_or_adopt({"name": "Research", "adopt": existing})
    assert created.id == existing and created.outputs["projectId"] == existing
    assert api.projects == {existing: "Research"}
    assert api.calls == ["rename_project"]  # no create, no tag: adopting marks nothing


def test_a_wrong_id_fails_clearly_and_makes_nothing(api: FakeApi, clock: FakeClock) -> None:
    with pytest.raises(OperationFailedError, match=r"adopt 'pr404': there is no project with this id in the team"):
        ProjectLifecycle(api, POLL, clock).create_or_adopt({"name": "Research", "adopt": "pr404"})
    assert api.projects == {} and api.calls == []


def test_without_adopt_the_create_is_the_kinds_own(api: FakeApi, clock: FakeClock) -> None:
    created = ProjectLifecycle(api, POLL, clock).create_or_adopt({"name": "Research"})
    assert api.projects == {created.id: "Research"}


def test_a_deployment_that_already_matches_is_taken_over_without_a_write(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    ident = _made_elsewhere(api, clock, project, _serving(project, replicas=2))
    spec_before = api.deployments[ident].spec_id
    api.calls.clear()
    created = DeploymentLifecycle(api, POLL, clock).create_or_adopt(_serving(project, replicas=2, adopt=ident))
    assert created.id == ident and created.outputs["status"] == "ready" and created.outputs["adopt"] == ident
    assert api.calls == [] and api.deployments[ident].spec_id == spec_before  # no upsert: no new spec version


def test_a_deployment_is_reconciled_in_place_when_its_config_differs(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    ident = _made_elsewhere(api, clock, project, _serving(project, name="legacy", replicas=1))
    created = DeploymentLifecycle(api, POLL, clock).create_or_adopt(_serving(project, replicas=3, adopt=ident))
    assert created.id == ident and list(api.deployments) == [ident]  # the same deployment, renamed and scaled
    assert api.deployments[ident].config["name"] == "api"
    assert api.deployments[ident].config["resources"]["replicas"] == 3
    assert api.calls.count("upsert_deployment") == 2  # the one that made it, and the reconciling one


def test_a_deployment_of_another_project_is_refused(api: FakeApi, clock: FakeClock) -> None:
    mine, theirs = api.create_project("Mine").id, api.create_project("Theirs").id
    ident = _made_elsewhere(api, clock, theirs, _serving(theirs))
    api.calls.clear()
    with pytest.raises(OperationFailedError, match=rf"belongs to project '{theirs}', not to the entry's project"):
        DeploymentLifecycle(api, POLL, clock).create_or_adopt(_serving(mine, adopt=ident))
    assert api.calls == []


def test_a_secret_value_cannot_be_read_back_so_adopting_writes_it(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    ident = _made_elsewhere(api, clock, project, _serving(project))
    inputs = _serving(project, adopt=ident, secretEnv={"HF_TOKEN": "hf-value"})
    created = DeploymentLifecycle(api, POLL, clock).create_or_adopt(inputs)
    name = secret_name("DEPLOYMENT", "api", "HF_TOKEN")
    assert api.secrets == {(project, name): "hf-value"}
    env = {item["name"]: item["value"] for item in api.deployments[ident].config["env"]}
    assert env["HF_TOKEN"] == f"secret:{name}" and created.outputs["secretsRevision"] == 1


def test_the_read_is_never_told_a_secret_value() -> None:
    inputs = _serving("pr1", adopt="de1", secretEnv={"HF_TOKEN": "hf-value"}, replicas=4)
    hint = read_hint(DeploymentLifecycle.table, inputs)
    assert "secretEnv" not in hint and "replicas" not in hint  # in-place fields come from the object
    assert hint["projectId"] == "pr1" and hint["adopt"] == "de1" and hint["wait"] == "ready"


def test_an_experiment_whose_latest_run_matches_starts_no_run(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    workflow = _workflow_elsewhere(api, clock, project, _training(project))
    api.calls.clear()
    created = ExperimentLifecycle(api, POLL, clock).create_or_adopt(_training(project, adopt=workflow))
    assert created.id == workflow and created.outputs["runNumber"] == 1 and created.outputs["phase"] == "Succeeded"
    assert "start_run" not in api.calls and not any(call in CREATES for call in api.calls)


def test_an_experiment_whose_run_fields_differ_gets_one_new_run_on_the_same_workflow(
    api: FakeApi, clock: FakeClock
) -> None:
    project = api.create_project("P").id
    workflow = _workflow_elsewhere(api, clock, project, _training(project))
    api.calls.clear()
    news = _training(project, adopt=workflow, command="python train.py --epochs 9")
    created = ExperimentLifecycle(api, POLL, clock).create_or_adopt(news)
    assert created.id == workflow and list(api.workflows) == [workflow]
    assert api.calls.count("start_run") == 1 and created.outputs["runNumber"] == 2
    assert api.runs[workflow][-1].spec["jobs"]["train"]["with"]["args"][2] == "python train.py --epochs 9"


def test_an_experiment_of_another_project_is_refused(api: FakeApi, clock: FakeClock) -> None:
    mine, theirs = api.create_project("Mine").id, api.create_project("Theirs").id
    workflow = _workflow_elsewhere(api, clock, theirs, _training(theirs))
    api.calls.clear()
    with pytest.raises(OperationFailedError, match=rf"belongs to another project, not to the entry's project '{mine}'"):
        ExperimentLifecycle(api, POLL, clock).create_or_adopt(_training(mine, adopt=workflow))
    assert api.calls == []


def test_a_difference_only_a_new_object_could_make_is_refused(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    workflow = _workflow_elsewhere(api, clock, project, _training(project, name="baseline"))
    api.calls.clear()
    with pytest.raises(OperationFailedError, match=r"name is 'baseline' there, 'train' here\. An existing experiment"):
        ExperimentLifecycle(api, POLL, clock).create_or_adopt(_training(project, adopt=workflow))
    assert "start_run" not in api.calls


@pytest.mark.parametrize("lifecycle", [ProjectLifecycle, DeploymentLifecycle, ExperimentLifecycle])
def test_adopt_may_stay_change_or_go_without_a_diff(lifecycle: Any) -> None:
    base = {"name": "n", "projectId": "pr1", "image": "i", "machineType": "C4", "command": "c"}
    base = {k: v for k, v in base.items() if k in lifecycle.table.fields}
    olds, _ = lifecycle.check({**base, "adopt": "x1"})
    for news in (base, {**base, "adopt": "x1"}, {**base, "adopt": "x2"}):
        assert not lifecycle.diff(olds, lifecycle.check(news)[0]).has_changes
    assert not lifecycle.diff(lifecycle.check(base)[0], olds).has_changes  # nor added later


def test_a_failed_adoption_leaves_the_secret_the_running_spec_uses(api: FakeApi, clock: FakeClock) -> None:
    """The provider's own secret of an adopted deployment exists with a value the state cannot know: when the
    reconciling update fails (and rolls back), it is left as set, never deleted under the running spec."""
    project = api.create_project("P").id
    running = _serving(project, secretEnv={"HF_TOKEN": "old-value"})
    ident = DeploymentLifecycle(api, POLL, clock).create(running).id
    clock.time += 60
    name = secret_name("DEPLOYMENT", "api", "HF_TOKEN")
    crashing = _serving(project, adopt=ident, secretEnv={"HF_TOKEN": "new-value"}, env={"EMULATOR_CRASH": "1"})
    with pytest.raises(OperationFailedError):
        DeploymentLifecycle(api, POLL, clock).create_or_adopt(crashing)
    assert (project, name) in api.secrets, "the spec that runs still refers to it"
    env = {item["name"]: item["value"] for item in api.deployments[ident].config["env"]}
    assert env["HF_TOKEN"] == f"secret:{name}"
