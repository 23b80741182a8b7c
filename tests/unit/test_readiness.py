"""The Readiness resource in process, against the fake API and clock: many waits in one operation, reads per
poll that do not grow with the number of deployments, the first failure or expired timeout named."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from gradient_provider.kinds.deployment.lifecycle import DeploymentLifecycle
from gradient_provider.kinds.experiment.lifecycle import ExperimentLifecycle
from gradient_provider.lifecycles.base import OperationFailedError
from gradient_provider.readiness.lifecycle import ReadinessLifecycle

from .fakes import FakeApi, FakeClock

POLL = 5.0


class CountingApi(FakeApi):
    """The fake API, counting the reads a wait makes."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.reads: Counter[str] = Counter()

    def project_deployments(self, project_id: str) -> Any:
        self.reads["project_deployments"] += 1
        return super().project_deployments(project_id)

    def deployment_runs(self, deployment_id: str) -> Any:
        self.reads["deployment_runs"] += 1
        return super().deployment_runs(deployment_id)

    def get_run(self, workflow_id: str, number: int) -> Any:
        self.reads["get_run"] += 1
        return super().get_run(workflow_id, number)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> CountingApi:
    return CountingApi(clock)


def _deploy(api: FakeApi, clock: FakeClock, name: str, project: str = "p1", **overrides: Any) -> dict[str, Any]:
    """A deployment created with its wait deferred: it returns at once, not ready yet."""
    inputs, problems = DeploymentLifecycle.check(
        {"projectId": project, "name": name, "image": "app:1", "machineType": "C4", "waitInStack": True, **overrides}
    )
    assert problems == []
    created = DeploymentLifecycle(api, POLL, clock).create(inputs)
    return {**created.outputs, "id": created.id}


def _target(section: str, key: str, kind: str, outputs: dict[str, Any], since: Any) -> dict[str, Any]:
    return {
        "resource": f"{section}.{key}",
        "kind": kind,
        "id": outputs["id"],
        "projectId": outputs["projectId"],
        "name": outputs["name"],
        "wait": outputs["wait"],
        "timeoutSeconds": outputs["timeoutSeconds"],
        "since": since,
    }


def test_deferred_creates_return_at_once_and_one_wait_covers_them_all(api: CountingApi, clock: FakeClock) -> None:
    api.ready_seconds = 10.0
    deployed = [_deploy(api, clock, f"api-{n}", project=f"p{n % 2}") for n in range(32)]
    assert clock.now() == 1_000.0, "no create waited"
    assert {d["status"] for d in deployed} == {"applied"}
    targets = [_target("deployments", d["name"], "Deployment", d, d["specId"]) for d in deployed]
    polls_before = len(clock.slept)
    api.reads.clear()
    outputs = ReadinessLifecycle(api, POLL, clock).create({"targets": targets}).outputs
    waited = clock.now() - 1_000.0
    assert 10.0 <= waited <= 10.0 + max(0.5, 0.05 * 10.0) + 0.1, "noticed within max(0.5 s, 5 % of T)"
    assert {s["status"] for s in outputs["statuses"].values()} == {"ready"} and len(outputs["statuses"]) == 32
    polls = len(clock.slept) - polls_before + 1
    assert api.reads["project_deployments"] == 2 * polls, "one list per project per poll, whatever the number"
    assert api.reads["deployment_runs"] <= polls, "at most one deployment's runs per poll"


def test_the_first_crash_fails_the_wait_naming_the_resource_and_the_instance_message(
    api: CountingApi, clock: FakeClock
) -> None:
    api.ready_seconds = 30.0
    good = _deploy(api, clock, "good")
    bad = _deploy(api, clock, "bad", env={"EMULATOR_CRASH": "1"})
    targets = [_target("deployments", d["name"], "Deployment", d, d["specId"]) for d in (good, bad)]
    with pytest.raises(OperationFailedError) as raised:
        ReadinessLifecycle(api, POLL, clock).create({"targets": targets})
    message = str(raised.value)
    assert message.startswith(f"deployments.bad (deployment 'bad', {bad['id']}) failed: instance i1 errored: ")
    assert "crash requested by EMULATOR_CRASH=1" in message
    assert "Still going when this was found" in message and "deployments.good" in message
    assert clock.now() - 1_000.0 < 30.0, "failed fast, before the healthy one was even ready"


def test_an_expired_timeout_names_the_resource_and_its_timeout_seconds(api: CountingApi, clock: FakeClock) -> None:
    api.ready_seconds = None  # never ready
    slow = _deploy(api, clock, "slow", timeoutSeconds=120)
    with pytest.raises(OperationFailedError) as raised:
        ReadinessLifecycle(api, POLL, clock).create(
            {"targets": [_target("deployments", "slow", "Deployment", slow, 1)]}
        )
    assert "deployments.slow (deployment 'slow'" in str(raised.value)
    assert "gave up after 120 s (its timeoutSeconds); last state: applied: 0/1 replicas ready" in str(raised.value)
    assert clock.now() - 1_000.0 == pytest.approx(120.0)


def test_a_failed_experiment_run_names_its_job_and_log_tail_with_secret_values_masked(
    api: CountingApi, clock: FakeClock
) -> None:
    api.projects["p1"] = "Research"
    api.run_outcome, api.run_message = "Failed", "job 'train' failed: exited with code 2"
    api.job_logs = {"train": ["loading", "the value is s3cr3t-value-9", "boom"]}
    inputs, _ = ExperimentLifecycle.check(
        {
            "projectId": "p1",
            "name": "train",
            "image": "i",
            "command": "c",
            "machineType": "A4000",
            "secretEnv": {"TOKEN": "s3cr3t-value-9"},
            "waitInStack": True,
        }
    )
    created = ExperimentLifecycle(api, POLL, clock).create(inputs)
    assert created.outputs["phase"] == "Running" and clock.now() == 1_000.0, "the create did not wait"
    target = {**_target("experiments", "train", "Experiment", {**created.outputs, "id": created.id}, 1)}
    target["secrets"] = {"TOKEN": "s3cr3t-value-9"}
    with pytest.raises(OperationFailedError) as raised:
        ReadinessLifecycle(api, POLL, clock).create({"targets": [target]})
    message = str(raised.value)
    assert message.startswith(f"experiments.train (experiment 'train', {created.id}) failed: run 1 ended Failed")
    assert "the value is [secret]" in message and "s3cr3t-value-9" not in message and message.endswith("  boom")


def test_refresh_and_destroy_of_the_readiness_resource_make_no_call(api: CountingApi, clock: FakeClock) -> None:
    lifecycle = ReadinessLifecycle(api, POLL, clock)
    state = {"targets": [], "statuses": {"deployments.api": {"status": "ready"}}}
    observed = lifecycle.read("readiness", state)
    assert observed is not None and observed.outputs == state
    lifecycle.delete("readiness", state)
    assert not api.reads and api.calls == []


def test_the_next_up_retries_a_deferred_run_that_failed_and_then_settles(api: CountingApi, clock: FakeClock) -> None:
    """A deferred experiment's create returns before its run ends; when the Readiness resource finds the run
    failed, the next up looks again (its state does not record the end), starts one new run, and once a run
    succeeded the up after that changes nothing."""
    api.projects["p1"] = "Research"
    api.run_outcome, api.run_message = "Failed", "job 'train' failed: exited with code 1"
    inputs, _ = ExperimentLifecycle.check(
        {"projectId": "p1", "name": "train", "image": "i", "command": "c", "machineType": "A4000", "waitInStack": True}
    )
    lifecycle = ExperimentLifecycle(api, POLL, clock)
    created = lifecycle.create(inputs)
    state = {**created.outputs, "id": created.id}
    target = _target("experiments", "train", "Experiment", state, state["runNumber"])
    with pytest.raises(OperationFailedError, match="run 1 ended Failed"):
        ReadinessLifecycle(api, POLL, clock).create({"targets": [target]})
    api.run_outcome = "Succeeded"  # the cause is gone
    assert ExperimentLifecycle.diff(state, inputs).starts_run, "the next up looks again"
    state = lifecycle.update(created.id, state, inputs)
    assert state["runNumber"] == 2, "one new run: the latest with these inputs failed"
    ReadinessLifecycle(api, POLL, clock).create({"targets": [{**target, "since": 2}]})
    assert ExperimentLifecycle.diff(state, inputs).starts_run, "its state still says Running"
    state = lifecycle.update(created.id, state, inputs)
    assert state["runNumber"] == 2 and state["phase"] == "Succeeded", "no new run for a run that succeeded"
    assert not ExperimentLifecycle.diff(state, inputs).has_changes


def test_a_crash_message_that_echoes_a_secret_value_is_masked(api: CountingApi, clock: FakeClock) -> None:
    api.instance_error = "container exited: the model hub rejected hf-secret-value-7"
    deployed = _deploy(api, clock, "api", secretEnv={"HF_TOKEN": "hf-secret-value-7"})
    target = {**_target("deployments", "api", "Deployment", deployed, deployed["specId"])}
    target["secrets"] = {"HF_TOKEN": "hf-secret-value-7"}
    with pytest.raises(OperationFailedError) as raised:
        ReadinessLifecycle(api, POLL, clock).create({"targets": [target]})
    assert "hf-secret-value-7" not in str(raised.value) and "[secret]" in str(raised.value)
