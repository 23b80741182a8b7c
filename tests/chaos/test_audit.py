"""The audit the chaos and crash suites rely on sees what it must: a clean stack is clean, and objects made or
changed behind the provider's back are orphans, duplicates or lost updates."""

from __future__ import annotations

from pathlib import Path

from .crash import EXPERIMENT, SECRETS, engine_for
from .support import LoggedEmulator, audit

STACK = (
    EXPERIMENT
    + """\
deployments:
  api:
    project: research
    image: paperspace/fastapi-deployment:latest
    machineType: C4
    replicas: 2
    model: train
    env: {MODE: prod, HF_TOKEN: {secret: hfToken}}
"""
)


def test_the_audit_sees_orphans_duplicates_and_lost_updates(chaos_emulator: LoggedEmulator, tmp_path: Path) -> None:
    chaos_emulator.reset()
    engine, stack = engine_for(chaos_emulator, tmp_path, STACK)
    engine.up()
    with chaos_emulator.client() as api:
        found, _ = audit(api, engine, stack, runs={"train": 1}, secret_config=SECRETS, emulator=chaos_emulator)
        assert not found, str(found)

        project = engine.resource("Project", "research").id
        deployment = engine.resource("Deployment", "api")
        workflow = engine.resource("Experiment", "train").id
        config = api.get(f"/deployments/{deployment.id}").json()["latestSpec"]["data"]
        config["resources"]["replicas"] = 5
        secret = next(e["value"] for e in config["env"] if e["name"] == "HF_TOKEN").removeprefix("secret:")
        spec = api.get(f"/workflows/{workflow}/runs/1").json()["spec"]
        for method, path, body in [
            ("POST", "/projects", {"name": "Research"}),
            ("POST", "/deployments", {"projectId": project, "config": config, "deploymentId": deployment.id}),
            ("PATCH", f"/projects/{project}/secrets/{secret}", {"value": "changed behind its back"}),
            ("POST", f"/projects/{project}/secrets", {"name": "STRAY", "value": "x"}),
            ("POST", f"/workflows/{workflow}/runs", {"spec": spec}),
        ]:
            api.request(method, path, json=body).raise_for_status()
        found, _ = audit(api, engine, stack, runs={"train": 1}, secret_config=SECRETS, emulator=chaos_emulator)

    text = str(found)
    assert len(found.orphans) == 2 and "'Research'" in found.orphans[0] and "STRAY" in found.orphans[1], text
    assert "2 projects named 'Research'" in found.duplicates and "experiment train: 2 runs, 1 expected" in text
    assert "deployment api: replicas is 5, not 2" in found.lost_updates, text
    assert f"deployment api: secret {secret} is not the value of 'hfToken'" in found.lost_updates, text
