"""Deployment through the real pulumi.dynamic server against the emulator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gradient_provider.lifecycles.secret_env import secret_name
from tests.support.dynamic_server import DynamicProviderServer, ProviderCallError
from tests.support.emulator import EmulatorProcess

from .conftest import Kind, request_count, write_count


def _inputs(project_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "projectId": project_id,
        "name": "api",
        "image": "paperspace/fastapi-deployment:latest",
        "machineType": "C4",
        "ports": [8000],
        "replicas": 2,
        "env": {"MODE": "prod", "HF_TOKEN": "secret:hfToken"},
        **overrides,
    }


def _live(api: httpx.Client, ident: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/deployments/{ident}").json()
    return body


def test_create_waits_until_ready_and_returns_every_output(
    deployments: Kind, project_id: str, api: httpx.Client
) -> None:
    ident, outputs = deployments.create(_inputs(project_id))
    assert outputs["status"] == "ready" and outputs["readyReplicas"] == 2
    assert outputs["deploymentId"] == ident and outputs["endpoint"].startswith("https://")
    live = _live(api, ident)
    assert live["latestSpec"]["dtHealthy"] is not None and outputs["specId"] == live["latestSpec"]["id"]
    config = live["latestSpec"]["data"]
    assert config["resources"] == {"machineType": "C4", "ports": [8000], "replicas": 2}
    # gRPC carries numbers as doubles; the API gets integers, as written (2, not 2.0).
    assert type(config["resources"]["replicas"]) is int and type(config["resources"]["ports"][0]) is int
    # `secret:NAME` references pass through untouched, for Paperspace to resolve.
    assert {"name": "HF_TOKEN", "value": "secret:hfToken"} in config["env"]
    for key, value in _inputs(project_id).items():
        assert outputs[key] == value
    assert outputs["wait"] == "ready" and outputs["timeoutSeconds"] == 900  # defaults filled by check


def test_no_op_diff_makes_no_api_call(deployments: Kind, project_id: str, emulator: EmulatorProcess) -> None:
    ident, state = deployments.create(_inputs(project_id))
    before = request_count(emulator)
    answer = deployments.diff(ident, state, _inputs(project_id))
    assert answer.changes == "DIFF_NONE" and answer.replaces == []
    assert request_count(emulator) == before


@pytest.mark.parametrize(
    ("change", "expected_config"),
    [
        ({"replicas": 3}, lambda c: c["resources"]["replicas"] == 3),
        ({"image": "nginx:1.27"}, lambda c: c["image"] == "nginx:1.27"),
        ({"env": {"MODE": "canary"}}, lambda c: c["env"] == [{"name": "MODE", "value": "canary"}]),
        ({"name": "api-v2"}, lambda c: c["name"] == "api-v2"),
        ({"enabled": False}, lambda c: c["enabled"] is False),
    ],
)
def test_in_place_changes_update_the_same_deployment(
    deployments: Kind, project_id: str, api: httpx.Client, change: dict[str, Any], expected_config: Any
) -> None:
    ident, state = deployments.create(_inputs(project_id))
    news = _inputs(project_id, **change)
    answer = deployments.diff(ident, state, news)
    assert answer.changes == "DIFF_SOME" and answer.replaces == []
    outputs = deployments.update(ident, state, news)
    assert expected_config(_live(api, ident)["latestSpec"]["data"])
    assert outputs["status"] == ("disabled" if change.get("enabled") is False else "ready")
    assert outputs["deploymentId"] == ident and all(outputs[k] == v for k, v in news.items())
    assert len(api.get("/deployments").json()["items"]) == 1


def test_moving_to_another_project_is_a_replace(deployments: Kind, project_id: str, api: httpx.Client) -> None:
    ident, state = deployments.create(_inputs(project_id))
    other = api.post("/projects", json={"name": "Other"}).json()["id"]
    answer = deployments.diff(ident, state, _inputs(other))
    assert answer.changes == "DIFF_SOME" and answer.replaces == ["projectId"]


def test_local_only_change_updates_state_without_api_writes(
    deployments: Kind, project_id: str, emulator: EmulatorProcess
) -> None:
    ident, state = deployments.create(_inputs(project_id))
    news = _inputs(project_id, wait="applied", timeoutSeconds=60)
    assert deployments.diff(ident, state, news).changes == "DIFF_SOME"
    before = request_count(emulator)
    outputs = deployments.update(ident, state, news)
    assert request_count(emulator) == before
    assert outputs["wait"] == "applied" and outputs["timeoutSeconds"] == 60 and outputs["status"] == "ready"


def test_read_shows_out_of_band_edits_and_a_deleted_deployment_gone(
    deployments: Kind, project_id: str, api: httpx.Client
) -> None:
    ident, state = deployments.create(_inputs(project_id))
    config = _live(api, ident)["latestSpec"]["data"]
    config["resources"]["replicas"] = 5
    config["image"] = "edited/by-hand:1"
    api.post("/deployments", json={"projectId": project_id, "config": config, "deploymentId": ident}).raise_for_status()
    same, outputs, inputs = deployments.read(ident, state)
    assert same == ident and inputs["replicas"] == 5 and inputs["image"] == "edited/by-hand:1"
    assert inputs["env"] == _inputs(project_id)["env"] and inputs["wait"] == "ready"
    assert deployments.diff(ident, outputs, _inputs(project_id)).changes == "DIFF_SOME"
    api.delete(f"/deployments/{ident}").raise_for_status()
    assert deployments.read(ident, state)[:2] == ("", {})


def test_delete_and_delete_again(deployments: Kind, project_id: str, api: httpx.Client) -> None:
    ident, state = deployments.create(_inputs(project_id))
    deployments.delete(ident, state)
    assert api.get(f"/deployments/{ident}").status_code == 404
    deployments.delete(ident, state)


def test_crashing_instances_fail_fast_with_their_message_and_leave_nothing(
    deployments: Kind, project_id: str, api: httpx.Client
) -> None:
    crashing = _inputs(project_id, env={"EMULATOR_CRASH": "1"}, timeoutSeconds=3600)
    with pytest.raises(ProviderCallError) as failure:
        deployments.create(crashing)
    assert "container exited with code 1" in failure.value.details
    assert "create Deployment 'api'" in failure.value.details
    assert api.get("/deployments").json()["items"] == [], "a failed create must not leave an orphan"


def test_an_update_that_crashes_fails_with_the_message(deployments: Kind, project_id: str) -> None:
    ident, state = deployments.create(_inputs(project_id))
    with pytest.raises(ProviderCallError) as failure:
        deployments.update(ident, state, _inputs(project_id, env={"EMULATOR_CRASH": "1"}))
    assert "EMULATOR_CRASH" in failure.value.details and f"update Deployment {ident}" in failure.value.details


def test_waiting_gives_up_at_its_own_deadline(deployments: Kind, project_id: str, api: httpx.Client) -> None:
    slow = _inputs(project_id, env={"EMULATOR_READY_SECONDS": "3600"}, timeoutSeconds=2)
    with pytest.raises(ProviderCallError) as failure:
        deployments.create(slow)
    assert "gave up after 2 s (timeoutSeconds)" in failure.value.details
    assert "0/2 replicas ready" in failure.value.details
    assert api.get("/deployments").json()["items"] == []


def test_wait_applied_and_none_return_early(deployments: Kind, project_id: str) -> None:
    slow_env = {"EMULATOR_READY_SECONDS": "3600"}
    _, applied = deployments.create(_inputs(project_id, name="applied", wait="applied", env=slow_env))
    assert applied["status"] == "applied" and applied["readyReplicas"] == 0
    _, none = deployments.create(_inputs(project_id, name="none", wait="none", env=slow_env))
    assert none["status"] == "pending"


def test_model_id_mounts_the_model(deployments: Kind, project_id: str, api: httpx.Client) -> None:
    model = api.post("/models", json={"name": "resnet", "isPublic": False, "projectId": project_id}).json()
    ident, outputs = deployments.create(_inputs(project_id, modelId=model["id"]))
    integrations = _live(api, ident)["latestSpec"]["data"]["integrations"]
    assert integrations == [{"type": "model", "id": model["id"], "name": "model", "path": "/opt/models"}]
    _, _, inputs = deployments.read(ident, outputs)
    assert inputs["modelId"] == model["id"]


def test_invalid_inputs_fail_check_and_the_api_rejection_names_the_field(
    deployments: Kind, project_id: str, emulator: EmulatorProcess
) -> None:
    failures = deployments.failures(_inputs(project_id, replicas=-1, wait="forever", image=None))
    assert {field for field, _ in failures} == {"replicas", "wait", "image"}
    before = write_count(emulator)
    with pytest.raises(ProviderCallError) as failure:
        deployments.create(_inputs(project_id, modelId="monothere"))
    assert "config.integrations[0].id: model 'monothere' not found" in failure.value.details
    assert write_count(emulator) == before + 1  # the rejected upsert only


def test_long_waits_log_progress_to_the_provider_stderr(
    deployments: Kind, project_id: str, provider_server: DynamicProviderServer
) -> None:
    ident, _ = deployments.create(_inputs(project_id, name="logged"))
    log = provider_server.stderr()
    waiting = [line for line in log.splitlines() if f"deployment 'logged' ({ident})" in line]
    assert any("waiting" in line and "s elapsed" in line for line in waiting), log[-2000:]
    assert any("done after" in line and "2/2 replicas ready" in line for line in waiting)
    assert all(line.startswith("gradient: ") for line in waiting)


def test_secret_env_values_stay_out_of_the_spec_and_its_history(
    deployments: Kind, project_id: str, api: httpx.Client
) -> None:
    canary = "hf-canary-value-5c1e"
    name = secret_name("DEPLOYMENT", "api", "HF_TOKEN")
    ident, state = deployments.create(_inputs(project_id, secretEnv={"HF_TOKEN": canary}, env={"MODE": "prod"}))
    config = _live(api, ident)["latestSpec"]["data"]
    assert {"name": "HF_TOKEN", "value": f"secret:{name}"} in config["env"]
    history = api.get(f"/deployments/{ident}/history").json()
    assert f"secret:{name}" in str(history)
    assert canary not in str(history) and canary not in str(_live(api, ident))
    secrets = api.get(f"/projects/{project_id}/secrets").json()["items"]
    assert [s["name"] for s in secrets] == [name] and canary not in str(secrets)
    first = api.get(f"/projects/{project_id}/secrets/{name}").json()["dtModified"]
    # Reading back keeps the value (write-only in Paperspace) and shows no drift.
    _, outputs, inputs = deployments.read(ident, state)
    assert inputs["secretEnv"] == {"HF_TOKEN": canary} and "HF_TOKEN" not in inputs["env"]
    assert (
        deployments.diff(
            ident, outputs, _inputs(project_id, secretEnv={"HF_TOKEN": canary}, env={"MODE": "prod"})
        ).changes
        == "DIFF_NONE"
    )
    # Rotating the value updates the secret and rolls the deployment: a new spec version.
    rotated = deployments.update(
        ident, state, _inputs(project_id, secretEnv={"HF_TOKEN": canary + "-2"}, env={"MODE": "prod"})
    )
    assert rotated["specId"] != state["specId"] and rotated["secretsRevision"] == 2
    assert api.get(f"/projects/{project_id}/secrets/{name}").json()["dtModified"] > first, "the secret was set"
    assert canary not in str(api.get(f"/deployments/{ident}/history").json())
    # Dropping the variable deletes its secret once the new spec no longer refers to it.
    dropped = deployments.update(ident, rotated, _inputs(project_id, env={"MODE": "prod"}))
    assert api.get(f"/projects/{project_id}/secrets").json()["items"] == []
    deployments.delete(ident, dropped)
    assert canary not in deployments.server.stderr(), "nor in anything the provider process printed"


def test_a_deployment_is_found_by_name_only_in_its_own_project(
    deployments: Kind, project_id: str, api: httpx.Client
) -> None:
    other = api.post("/projects", json={"name": "Other"}).json()["id"]
    theirs, _ = deployments.create(_inputs(other))
    ours, _ = deployments.create(_inputs(project_id))
    assert ours != theirs, "a create never adopts a deployment of the same name in another project"
    assert api.get(f"/deployments/{theirs}").json()["projectId"] == other


def test_the_endpoint_output_is_a_url_built_from_the_v1_host_name(
    deployments: Kind, project_id: str, api: httpx.Client
) -> None:
    ident, outputs = deployments.create(_inputs(project_id))
    host = _live(api, ident)["endpoint"]
    assert "://" not in host and outputs["endpoint"] == f"https://{host}"


def test_a_deployment_in_an_older_config_shape_reads_without_crashing(
    deployments: Kind, project_id: str, api: httpx.Client
) -> None:
    old = {
        "apiVersion": "v0alpha0",
        "name": "legacy",
        "image": "legacy/app:1",
        "port": 8080,
        "resources": {"instanceType": "C4", "replicas": 1},
        "env": [{"name": "MODE", "value": "old"}],
    }
    ident = api.post("/deployments", json={"projectId": project_id, "config": old}).json()["deploymentId"]
    same, _, inputs = deployments.read(ident, {"projectId": project_id, "name": "legacy"})
    assert same == ident
    assert (inputs["machineType"], inputs["ports"], inputs["replicas"]) == ("C4", [8080], 1)
    assert inputs["image"] == "legacy/app:1" and inputs["env"] == {"MODE": "old"}


def test_a_crashing_update_rolls_back_to_the_previous_config(
    deployments: Kind, project_id: str, api: httpx.Client
) -> None:
    olds = _inputs(project_id, env={"MODE": "prod"}, secretEnv={"HF_TOKEN": "hf-rollback-old-7d2a"})
    ident, state = deployments.create(olds)
    before = _live(api, ident)["latestSpec"]["data"]
    crashing = _inputs(
        project_id,
        image="paperspace/fastapi-deployment:next",
        env={"MODE": "prod", "EMULATOR_CRASH": "1"},
        secretEnv={"HF_TOKEN": "hf-rollback-new-91c4", "EXTRA": "hf-rollback-extra-0b5e"},
    )
    with pytest.raises(ProviderCallError) as failure:
        deployments.update(ident, state, crashing)
    details = failure.value.details
    live = _live(api, ident)["latestSpec"]
    history = {spec["id"]: spec for spec in api.get(f"/deployments/{ident}/history").json()["items"]}
    assert len(history) == 3, "the old spec, the failed one, and the old config applied again"
    failed = next(spec for spec in history.values() if "EMULATOR_CRASH" in str(spec["data"]))
    assert f"update Deployment {ident}" in details and "crash requested by EMULATOR_CRASH=1" in details
    assert f"Rolled back: the new spec {failed['id']} failed" in details
    assert f"the config that was ready before this update (spec {state['specId']}) was applied again" in details
    assert f"is live as spec {live['id']} (ready: 2/2 replicas ready)" in details
    assert live["id"] not in (state["specId"], failed["id"]) and history[live["id"]]["data"] == before
    assert live["data"] == before and live["dtHealthy"] is not None, "healthy on the previous config"
    assert "hf-rollback" not in details and "hf-rollback" not in str(history)
    # The secret the failed spec added is gone again; the one the old spec uses stays.
    secrets = api.get(f"/projects/{project_id}/secrets").json()["items"]
    assert [s["name"] for s in secrets] == [secret_name("DEPLOYMENT", "api", "HF_TOKEN")]
    # Pulumi keeps the old state after a failed update: a refresh finds exactly the old inputs, and ready.
    same, outputs, inputs = deployments.read(ident, state)
    assert same == ident and outputs["status"] == "ready" and outputs["specId"] == live["id"]
    assert {k: v for k, v in inputs.items() if k in olds} == olds
    assert deployments.diff(ident, outputs, olds).changes == "DIFF_NONE"
    assert deployments.diff(ident, state, inputs).changes == "DIFF_NONE"


def test_with_rollback_off_a_crashing_update_is_left_in_place_and_said_so(
    deployments: Kind, project_id: str, api: httpx.Client
) -> None:
    ident, state = deployments.create(_inputs(project_id))
    crashing = _inputs(project_id, env={"MODE": "prod", "EMULATOR_CRASH": "1"}, rollback=False)
    with pytest.raises(ProviderCallError) as failure:
        deployments.update(ident, state, crashing)
    live = _live(api, ident)["latestSpec"]
    assert "Not rolled back: rollback is off (`rollback: false`)" in failure.value.details
    assert f"the failed spec {live['id']} is left in place (failed: " in failure.value.details
    assert {"name": "EMULATOR_CRASH", "value": "1"} in live["data"]["env"] and live.get("dtHealthy") is None
    _, outputs, inputs = deployments.read(ident, state)
    assert outputs["status"] == "failed" and inputs["env"]["EMULATOR_CRASH"] == "1", "refresh shows what runs"
