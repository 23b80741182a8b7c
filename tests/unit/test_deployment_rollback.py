"""Rollback of a failed deployment update, in process against the fake API and a fake clock.

When an update's new spec fails (errored instances, or `timeoutSeconds` passing), a deployment that was ready
before the update gets the old spec applied again, with its old secret values, and the update fails saying so.
Pulumi keeps the old state on a failed update, so what runs afterwards must be what that state describes.
"""

from __future__ import annotations

from typing import Any

import pytest

from gradient_provider.client import InvalidRequestError
from gradient_provider.kinds.deployment.lifecycle import DeploymentLifecycle
from gradient_provider.kinds.deployment.table import TABLE
from gradient_provider.kinds.deployment.wire import build_config
from gradient_provider.lifecycles.base import OperationFailedError
from gradient_provider.lifecycles.policy import Policy
from gradient_provider.lifecycles.secret_env import secret_name

from .fakes import FakeApi, FakeClock

POLL = 5.0
CRASH = {"EMULATOR_CRASH": "1"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> FakeApi:
    return FakeApi(clock)


@pytest.fixture
def lifecycle(api: FakeApi, clock: FakeClock) -> DeploymentLifecycle:
    return DeploymentLifecycle(api, POLL, clock)


@pytest.fixture
def project(api: FakeApi) -> str:
    return api.create_project("P").id


def _serving(project_id: str, **overrides: Any) -> dict[str, Any]:
    inputs, problems = DeploymentLifecycle.check(
        {"projectId": project_id, "name": "api", "image": "app:1", "machineType": "C4", "replicas": 2, **overrides}
    )
    assert problems == []
    return inputs


def _failed_update(lifecycle: DeploymentLifecycle, state: dict[str, Any], news: dict[str, Any]) -> str:
    with pytest.raises(OperationFailedError) as failure:
        lifecycle.update(state["deploymentId"], state, news)
    return str(failure.value)


def _runs_as(api: FakeApi, state: dict[str, Any]) -> None:
    """What runs is exactly what the old state describes: its config, its secrets revision included."""
    live = api.deployments[state["deploymentId"]]
    assert live.config == build_config(state, state["secretsRevision"])


def test_a_crashing_update_rolls_back_and_fails_naming_both_specs(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    state = lifecycle.create(_serving(project)).outputs
    message = _failed_update(lifecycle, state, _serving(project, image="app:2", env=CRASH))
    failed_spec = f"sp{int(state['specId'][2:]) + 1}"
    live = api.deployments[state["deploymentId"]]
    assert "instance i1 errored: container exited with code 1" in message, "the reason comes first"
    assert f"Rolled back: the new spec {failed_spec} failed" in message
    assert f"the config that was ready before this update (spec {state['specId']}) was applied again" in message
    assert f"is live as spec {live.spec_id} (ready: 2/2 replicas ready)" in message
    assert "the next `up` tries the change again" in message
    _runs_as(api, state)
    assert api.calls.count("upsert_deployment") == 3, "create, the failed update, the rollback"
    # Pulumi keeps the old state: a refresh reads back exactly the old inputs, and the status it had.
    observed = lifecycle.read(state["deploymentId"], state)
    assert observed is not None
    assert observed.inputs == {k: v for k, v in state.items() if k in TABLE.fields}
    assert not lifecycle.diff(state, observed.inputs).has_changes
    assert observed.outputs["status"] == "ready" and observed.outputs["specId"] == live.spec_id


def test_a_rollback_runs_the_old_secret_values_and_forgets_the_new_ones(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    state = lifecycle.create(_serving(project, secretEnv={"KEY": "old-value"})).outputs
    news = _serving(project, secretEnv={"KEY": "new-value", "MORE": "more-value"}, env=CRASH)
    message = _failed_update(lifecycle, state, news)
    assert "Rolled back" in message
    assert api.secrets == {(project, secret_name("DEPLOYMENT", "api", "KEY")): "old-value"}
    _runs_as(api, state)  # the old revision too: the rolled-back replicas restart on the old values
    assert all(value not in message for value in ("old-value", "new-value", "more-value"))
    # Put back before the old spec was applied again: its replicas read the secrets as they start.
    key = f"put_secret {secret_name('DEPLOYMENT', 'api', 'KEY')}"
    more = f"delete_secret {secret_name('DEPLOYMENT', 'api', 'MORE')}"
    assert api.calls[-3:] == [key, more, "upsert_deployment"]


def test_a_rollback_keeps_the_secrets_the_failed_spec_retired(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    state = lifecycle.create(_serving(project, secretEnv={"KEY": "v"})).outputs
    assert "Rolled back" in _failed_update(lifecycle, state, _serving(project, env=CRASH))
    assert api.secrets == {(project, secret_name("DEPLOYMENT", "api", "KEY")): "v"}, "the old spec refers to it"
    _runs_as(api, state)


def test_a_timeout_rolls_back_too(api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str) -> None:
    state = lifecycle.create(_serving(project, timeoutSeconds=30)).outputs
    started = clock.now()
    slow = _serving(project, env={"EMULATOR_READY_SECONDS": "3600"}, timeoutSeconds=30)
    message = _failed_update(lifecycle, state, slow)
    assert "gave up after 30 s (timeoutSeconds); last state: applied: 0/2 replicas ready" in message
    assert "Rolled back" in message and "ready: 2/2 replicas ready" in message
    _runs_as(api, state)
    assert clock.now() - started < 30 + 30, "the rollback's wait has the resource's timeoutSeconds as well"


def test_with_rollback_off_the_failure_is_left_in_place_and_said_so(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    state = lifecycle.create(_serving(project)).outputs
    message = _failed_update(lifecycle, state, _serving(project, image="app:2", env=CRASH, rollback=False))
    live = api.deployments[state["deploymentId"]]
    assert "Not rolled back: rollback is off (`rollback: false`)" in message
    assert f"the failed spec {live.spec_id} is left in place (failed: instance i1 errored" in message
    assert live.config["image"] == "app:2" and api.calls.count("upsert_deployment") == 2


def test_a_deployment_not_ready_before_the_update_is_not_rolled_back(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    api.ready_seconds = 1_000
    state = lifecycle.create(_serving(project, wait="none")).outputs
    assert state["status"] == "applied"
    message = _failed_update(lifecycle, state, _serving(project, env=CRASH))
    assert "Not rolled back: the deployment was not ready before this update (its status was 'applied')" in message
    assert "no healthy spec to go back to" in message
    assert api.calls.count("upsert_deployment") == 2


def test_a_disabled_deployment_has_nothing_healthy_to_roll_back_to(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    state = lifecycle.create(_serving(project, enabled=False)).outputs
    assert state["status"] == "disabled"
    message = _failed_update(lifecycle, state, _serving(project, env=CRASH))
    assert "Not rolled back" in message and "(its status was 'disabled')" in message
    assert api.deployments[state["deploymentId"]].config["enabled"] is True


def test_a_rollback_that_crashes_too_says_so_with_the_latest_state(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    state = lifecycle.create(_serving(project)).outputs
    api.instance_error = "OOMKilled"  # every spec from now on crashes, the old one applied again included
    message = _failed_update(lifecycle, state, _serving(project, image="app:2"))
    live = api.deployments[state["deploymentId"]]
    assert message.startswith(f"deployment 'api' ({state['deploymentId']}) failed: instance i1 errored: OOMKilled")
    assert f"Rollback failed: the new spec sp{int(state['specId'][2:]) + 1} failed" in message
    assert f"going back to the config that was ready before this update (spec {state['specId']}) failed" in message
    assert f"Latest state: spec {live.spec_id}, failed: instance i1 errored: OOMKilled" in message
    _runs_as(api, state)  # applied again, if not healthy: `refresh` shows no other inputs than the state's


def test_a_rollback_that_times_out_says_so_and_is_bounded(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    state = lifecycle.create(_serving(project)).outputs
    api.ready_seconds = None  # nothing becomes ready any more
    started = clock.now()
    message = _failed_update(lifecycle, state, _serving(project, image="app:2", timeoutSeconds=60))
    assert message.count("gave up after 60 s (timeoutSeconds)") == 2, "the update's wait, then the rollback's"
    assert "Rollback failed" in message and "Latest state: spec" in message and "applied: 0/2 replicas ready" in message
    assert clock.now() - started == pytest.approx(120)


def test_old_secret_values_that_cannot_be_put_back_stop_the_rollback(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = lifecycle.create(_serving(project, secretEnv={"KEY": "old-value"})).outputs
    lifecycle.update(state["deploymentId"], state, _serving(project, secretEnv={"KEY": "old-value"}))
    put = api.put_secret

    def refuse_old_value(project_id: str, name: str, value: str) -> None:
        if value == "old-value":
            raise InvalidRequestError("PUT /v1/projects/x/secrets/y", "secret refused", status=400)
        put(project_id, name, value)

    monkeypatch.setattr(api, "put_secret", refuse_old_value)
    message = _failed_update(lifecycle, state, _serving(project, secretEnv={"KEY": "new-value"}, env=CRASH))
    assert "Rollback failed" in message and "secret refused" in message
    assert "old-value" not in message and "new-value" not in message
    assert api.deployments[state["deploymentId"]].config["env"][0] == {"name": "EMULATOR_CRASH", "value": "1"}, (
        "the old spec is not applied with values it did not run with"
    )


def test_wait_none_awaits_nothing_so_nothing_is_rolled_back(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    state = lifecycle.create(_serving(project)).outputs
    outputs = lifecycle.update(state["deploymentId"], state, _serving(project, env=CRASH, wait="none"))
    assert outputs["status"] == "failed" and api.calls.count("upsert_deployment") == 2


def test_wait_applied_rolls_back_instances_that_fail_while_it_waits(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    state = lifecycle.create(_serving(project)).outputs
    assert "Rolled back" in _failed_update(lifecycle, state, _serving(project, env=CRASH, wait="applied"))
    _runs_as(api, state)


def test_rollback_is_local_only_and_on_by_default(
    api: FakeApi, clock: FakeClock, lifecycle: DeploymentLifecycle, project: str
) -> None:
    assert TABLE.fields["rollback"].policy is Policy.LOCAL_ONLY and _serving(project)["rollback"] is True
    state = lifecycle.create(_serving(project)).outputs
    api.calls.clear()
    outputs = lifecycle.update(state["deploymentId"], state, _serving(project, rollback=False))
    assert api.calls == [] and outputs["rollback"] is False
    old_state = {k: v for k, v in state.items() if k != "rollback"}  # a state written before the field existed
    assert not lifecycle.diff(old_state, _serving(project)).has_changes
