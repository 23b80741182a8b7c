"""The lifecycles in process, against the fake API and a fake clock: what starts a run, what a wait concludes
from each phase, timeouts, cleanup after a failed create, and secrets. Nothing here waits on the wall clock."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_provider.client import ConnectionFailedError, InvalidRequestError
from gradient_provider.kinds.deployment.lifecycle import DeploymentLifecycle
from gradient_provider.kinds.experiment.lifecycle import ExperimentLifecycle
from gradient_provider.kinds.experiment.wire import run_key
from gradient_provider.kinds.project.lifecycle import ProjectLifecycle, owner_tag
from gradient_provider.lifecycles.base import OperationFailedError
from gradient_provider.lifecycles.secret_env import secret_name

from .fakes import FakeApi, FakeClock

POLL = 5.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> FakeApi:
    return FakeApi(clock)


def _experiment(api: FakeApi, clock: FakeClock) -> ExperimentLifecycle:
    return ExperimentLifecycle(api, POLL, clock)


def _deployment(api: FakeApi, clock: FakeClock) -> DeploymentLifecycle:
    return DeploymentLifecycle(api, POLL, clock)


def _training(project_id: str, **overrides: Any) -> dict[str, Any]:
    inputs, problems = ExperimentLifecycle.check(
        {
            "projectId": project_id,
            "name": "train",
            "image": "pytorch/pytorch:2.3.0",
            "command": "python train.py",
            "machineType": "A4000",
            "model": {"name": "resnet50"},
            **overrides,
        }
    )
    assert problems == []
    return inputs


def _serving(project_id: str, **overrides: Any) -> dict[str, Any]:
    inputs, problems = DeploymentLifecycle.check(
        {"projectId": project_id, "name": "api", "image": "app:1", "machineType": "C4", **overrides}
    )
    assert problems == []
    return inputs


# -- experiments: which change starts a run --------------------------------------------------------------


def test_create_runs_once_and_waits_on_the_fake_clock(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    created = _experiment(api, clock).create(_training(project))
    assert created.outputs["runNumber"] == 1 and created.outputs["phase"] == "Succeeded"
    assert created.outputs["modelId"] == api.runs[created.id][0].models["create-model"]
    noticed = sum(clock.slept) - api.run_seconds
    assert 0 <= noticed <= max(0.5, 0.05 * api.run_seconds) * 1.1, "the end is noticed within 5 % of the run"
    assert all(wait <= POLL for wait in clock.slept)


def test_an_update_that_changes_nothing_run_affecting_starts_no_run(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    lifecycle = _experiment(api, clock)
    state = lifecycle.create(_training(project)).outputs
    outputs = lifecycle.update(state["workflowId"], state, _training(project, timeoutSeconds=60))
    assert api.calls.count("start_run") == 1 and outputs["timeoutSeconds"] == 60


def test_each_run_affecting_change_starts_exactly_one_run(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    lifecycle = _experiment(api, clock)
    state = lifecycle.create(_training(project)).outputs
    for change in ({"command": "python train.py --lr 1"}, {"rerun": "2"}, {"env": {"A": "1"}}):
        news = _training(project, **change)
        assert lifecycle.diff(state, news).starts_run
        state = lifecycle.update(state["workflowId"], state, news)
    assert api.calls.count("start_run") == 4 and [r["number"] for r in state["runs"]] == [1, 2, 3, 4]


def test_a_create_after_a_failed_run_adopts_the_workflow_and_runs_again(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    api.run_outcome, api.run_message = "Failed", "job 'train' failed: exited with code 1"
    with pytest.raises(OperationFailedError, match=r"run 1 ended Failed: job 'train' failed: exited with code 1"):
        _experiment(api, clock).create(_training(project))
    api.run_outcome = "Succeeded"
    created = _experiment(api, clock).create(_training(project))
    assert api.calls.count("create_workflow") == 1 and created.outputs["runNumber"] == 2


@pytest.mark.parametrize("phase", ["Failed", "Error", "Canceled", "Omitted"])
def test_every_phase_that_is_neither_going_nor_won_fails_the_wait(api: FakeApi, clock: FakeClock, phase: str) -> None:
    project = api.create_project("P").id
    api.run_outcome = phase
    with pytest.raises(OperationFailedError, match=f"ended {phase}"):
        _experiment(api, clock).create(_training(project))


def test_a_run_that_outlasts_the_timeout_fails_naming_timeout_seconds(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    api.run_seconds = 10_000
    with pytest.raises(OperationFailedError, match=r"gave up after 60 s \(timeoutSeconds\); last state: Running"):
        _experiment(api, clock).create(_training(project, timeoutSeconds=60))
    assert sum(clock.slept) == pytest.approx(60), "the last probe is at the deadline itself"


def test_wait_none_and_started_return_without_the_run_ending(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    api.run_seconds = 10_000
    none = _experiment(api, clock).create(_training(project, name="a", wait="none"))
    started = _experiment(api, clock).create(_training(project, name="b", wait="started"))
    assert none.outputs["phase"] == "Running" and started.outputs["phase"] == "Running"
    assert none.outputs["modelId"] is None


def test_the_run_key_proves_nothing_about_secret_values() -> None:
    base = _training("pr1", secretEnv={"TOKEN": "guess-me"})
    other = _training("pr1", secretEnv={"TOKEN": "something-else"})
    assert run_key(base, 1) == run_key(other, 1), "same names and revision: same key, whatever the values"
    assert run_key(base, 1) != run_key(base, 2)


def test_a_secret_rotation_updates_the_secret_and_starts_a_run(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    lifecycle = _experiment(api, clock)
    state = lifecycle.create(_training(project, secretEnv={"TOKEN": "one"})).outputs
    name = secret_name("EXPERIMENT", "train", "TOKEN")
    assert api.secrets == {(project, name): "one"}
    state = lifecycle.update(state["workflowId"], state, _training(project, secretEnv={"TOKEN": "two"}))
    assert api.secrets == {(project, name): "two"} and state["secretsRevision"] == 2
    assert api.calls.count("start_run") == 2
    assert "two" not in str(api.runs[state["workflowId"]][-1].spec)


# -- deployments ----------------------------------------------------------------------------------------


def test_a_deployment_that_never_becomes_ready_fails_at_its_deadline_and_is_removed(
    api: FakeApi, clock: FakeClock
) -> None:
    project = api.create_project("P").id
    api.ready_seconds = None
    with pytest.raises(OperationFailedError, match=r"(?s)gave up after 30 s \(timeoutSeconds\).*was deleted again"):
        _deployment(api, clock).create(_serving(project, timeoutSeconds=30, secretEnv={"KEY": "v"}))
    assert api.deployments == {} and api.secrets == {}, "a failed create leaves nothing behind"


def test_crashing_instances_fail_fast_without_waiting_for_the_deadline(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    api.instance_error = "CrashLoopBackOff: exit 1"
    with pytest.raises(OperationFailedError, match="instance i1 errored: CrashLoopBackOff: exit 1"):
        _deployment(api, clock).create(_serving(project))
    assert clock.slept == []


def test_a_dropped_secret_is_deleted_only_after_the_new_spec_is_live(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    lifecycle = _deployment(api, clock)
    state = lifecycle.create(_serving(project, secretEnv={"KEY": "v"})).outputs
    api.calls.clear()
    lifecycle.update(state["deploymentId"], state, _serving(project))
    assert api.calls == ["upsert_deployment", f"delete_secret {secret_name('DEPLOYMENT', 'api', 'KEY')}"]


def test_a_local_only_change_makes_no_call(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    lifecycle = _deployment(api, clock)
    state = lifecycle.create(_serving(project)).outputs
    api.calls.clear()
    outputs = lifecycle.update(state["deploymentId"], state, _serving(project, wait="none"))
    assert api.calls == [] and outputs["wait"] == "none"


def test_project_rename_is_one_call(api: FakeApi, clock: FakeClock) -> None:
    lifecycle = ProjectLifecycle(api, POLL, clock)
    created = lifecycle.create({"name": "A"})
    api.calls.clear()
    lifecycle.update(created.id, created.outputs, {"name": "B"})
    assert api.calls == ["rename_project"] and api.projects[created.id] == "B"


# -- from the review of the contract work ----------------------------------------------------------------


def test_secret_names_never_collide_for_names_that_read_alike() -> None:
    names = {
        secret_name("DEPLOYMENT", "api-v2", "TOKEN"),
        secret_name("DEPLOYMENT", "api_v2", "TOKEN"),
        secret_name("DEPLOYMENT", "API-V2", "TOKEN"),
        secret_name("DEPLOYMENT", "a", "B_C"),
        secret_name("DEPLOYMENT", "a_b", "C"),
        secret_name("EXPERIMENT", "api-v2", "TOKEN"),
    }
    assert len(names) == 6
    assert all(name.replace("_", "").isalnum() and name[0].isalpha() for name in names)


def test_a_create_whose_run_is_refused_leaves_no_workflow_and_no_secret(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    api.refuse_runs = True
    with pytest.raises(InvalidRequestError):
        _experiment(api, clock).create(_training(project, secretEnv={"K": "v"}))
    assert api.workflows == {} and api.secrets == {}


def test_a_phase_v1_does_not_list_is_waited_on_not_taken_for_a_failure(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    api.run_outcome = "Queued"  # some phase the OpenAPI never names
    with pytest.raises(OperationFailedError, match=r"gave up after 30 s \(timeoutSeconds\); last state: Queued"):
        _experiment(api, clock).create(_training(project, timeoutSeconds=30))
    with pytest.raises(OperationFailedError, match="last state: Queued"):  # the next `up` waits on the same run
        _experiment(api, clock).create(_training(project, timeoutSeconds=30))
    assert api.calls.count("start_run") == 1, "the run still going is adopted, not started again"


def test_the_model_id_follows_the_model_name_not_just_the_newest_run(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    lifecycle = _experiment(api, clock)
    state = lifecycle.create(_training(project)).outputs
    renamed = lifecycle.update(state["workflowId"], state, _training(project, model={"name": "other"}, wait="none"))
    assert renamed["modelId"] is None, "the run registering `other` has not succeeded: no model of that name yet"


def test_a_new_run_cancels_the_run_it_supersedes(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    api.run_seconds = 10_000
    lifecycle = _experiment(api, clock)
    state = lifecycle.create(_training(project, wait="none")).outputs
    lifecycle.update(state["workflowId"], state, _training(project, command="python better.py", wait="none"))
    first, second = api.runs[state["workflowId"]]
    assert first.canceled and not second.canceled


def test_a_failed_update_puts_the_old_secret_values_back(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    lifecycle = _deployment(api, clock)
    state = lifecycle.create(_serving(project, secretEnv={"KEY": "old"})).outputs
    api.refuse_upserts = True
    with pytest.raises(InvalidRequestError):
        lifecycle.update(state["deploymentId"], state, _serving(project, secretEnv={"KEY": "new", "MORE": "x"}))
    assert api.secrets == {(project, secret_name("DEPLOYMENT", "api", "KEY")): "old"}


def test_retired_secrets_wait_until_nothing_can_use_them(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    lifecycle = _deployment(api, clock)
    state = lifecycle.create(_serving(project, secretEnv={"KEY": "v"})).outputs
    name = secret_name("DEPLOYMENT", "api", "KEY")
    early = lifecycle.update(state["deploymentId"], state, _serving(project, wait="none"))
    assert (project, name) in api.secrets and early["retiredSecrets"] == [name], "old replicas may still use it"
    later = lifecycle.update(state["deploymentId"], early, _serving(project, replicas=2))
    assert (project, name) not in api.secrets and later["retiredSecrets"] == []


def test_an_experiment_without_a_model_path_shows_no_drift_after_a_read(api: FakeApi, clock: FakeClock) -> None:
    project = api.create_project("P").id
    lifecycle = _experiment(api, clock)
    created = lifecycle.create(_training(project))
    observed = lifecycle.read(created.id, created.outputs)
    assert observed is not None and observed.inputs["model"]["path"] == "/outputs/model"
    assert not lifecycle.diff(observed.outputs, _training(project)).has_changes


def test_an_api_error_about_a_secret_never_quotes_the_value() -> None:
    import httpx

    from gradient_provider.client import ClientSettings, GradientApiError, GradientClient, PaperspaceApi

    def reply(request: httpx.Request) -> httpx.Response:
        body = {"code": "BAD_REQUEST", "message": "value 'pasted-canary' is too long", "issues": [{"message": "x"}]}
        return httpx.Response(400, json=body)

    client = GradientClient(ClientSettings("https://api.invalid/v1", "k"), transport=httpx.MockTransport(reply))
    with pytest.raises(GradientApiError) as refused:
        PaperspaceApi(client).put_secret("p1", "NAME", "pasted-canary")
    assert "pasted-canary" not in str(refused.value) and "NAME" in str(refused.value)


@pytest.mark.parametrize("run_seconds", [3, 12, 60, 600, 3600])
def test_polls_notice_the_end_within_five_percent_and_grow_with_the_wait(
    api: FakeApi, clock: FakeClock, run_seconds: float
) -> None:
    project = api.create_project("P").id
    api.run_seconds = run_seconds
    lifecycle = ExperimentLifecycle(api, 60.0, clock)  # a generous cap: the fraction decides
    lifecycle.create(_training(project, timeoutSeconds=7200))
    noticed = sum(clock.slept) - run_seconds
    assert 0 <= noticed <= max(0.5, 0.05 * run_seconds) * 1.1
    assert len(clock.slept) <= 25 + 23 * max(1, int(run_seconds).bit_length()), "reads grow with log(T), not T"


def test_check_refuses_non_finite_numbers_and_never_shows_a_secret_value() -> None:
    """The providers' check uses the loader's validator and translator: .nan never reaches the API, and a
    secret value in a bad input is described, not shown."""
    _, problems = DeploymentLifecycle.check(
        {"projectId": "p", "name": "a", "image": "i", "machineType": "C4", "replicas": float("nan")}
    )
    assert [(p.field, p.reason) for p in problems] == [("replicas", "expected an integer, got a number .nan")]
    _, problems = DeploymentLifecycle.check(
        {"projectId": "p", "name": "a", "image": "i", "machineType": "C4", "secretEnv": {"TOKEN": 12345678}}
    )
    assert [(p.field, p.reason) for p in problems] == [("secretEnv.TOKEN", "expected a string, got an integer")]


def test_a_deployment_create_whose_upsert_was_applied_but_failed_leaves_nothing(api: FakeApi, clock: FakeClock) -> None:
    """Issue #12, finding 1: the upsert went through, its answer was lost and the retries were spent."""
    project = api.create_project("P").id
    api.lose_upserts = True
    with pytest.raises(ConnectionFailedError):
        _deployment(api, clock).create(_serving(project, secretEnv={"KEY": "v"}))
    assert api.deployments == {} and api.secrets == {}


OWNER_OF_RESEARCH = "gradient-stacks/dev/projects/research"


@pytest.mark.parametrize("crash_after", ["create_project", "tag_project", "rename_project"])
def test_a_project_create_cut_short_at_any_point_is_found_again_not_repeated(
    api: FakeApi, clock: FakeClock, crash_after: str
) -> None:
    """Issue #12, finding 2: the provider killed after Paperspace made the project, before Pulumi recorded it."""
    lifecycle = ProjectLifecycle(api, POLL, clock)
    inputs = {"name": "Research", "owner": OWNER_OF_RESEARCH}
    api.crash_after = crash_after
    with pytest.raises(ConnectionFailedError):
        lifecycle.create(inputs)
    created = lifecycle.create(inputs)  # the next `up`
    assert list(api.projects) == [created.id] and api.projects[created.id] == "Research"
    assert api.project_tags(created.id) == [owner_tag(OWNER_OF_RESEARCH)]


def test_a_project_of_the_same_name_made_by_someone_else_is_never_taken_over(api: FakeApi, clock: FakeClock) -> None:
    theirs = api.create_project("Research").id
    created = ProjectLifecycle(api, POLL, clock).create({"name": "Research", "owner": OWNER_OF_RESEARCH})
    assert created.id != theirs and sorted(api.projects.values()) == ["Research", "Research"]
    assert api.project_tags(theirs) == []


def test_the_owner_of_a_project_is_read_by_create_only() -> None:
    olds = {"name": "Research", "owner": "a/dev/projects/research", "projectId": "pr1"}
    assert not ProjectLifecycle.diff(olds, {"name": "Research", "owner": "a/prod/projects/research"}).has_changes
    assert not ProjectLifecycle.diff({"name": "Research"}, {"name": "Research", "owner": "x"}).has_changes
