"""The engine scenarios through the real Pulumi CLI (pulumi.automation), where the CLI is installed.

The CLI is on no package registry this project's machines reach, so here these tests report themselves
skipped with that reason; on a machine with `pulumi` on PATH they run against the emulator with a local file
backend and a passphrase, exactly as a user would.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.emulator import DEV_KEY, REPO_ROOT, EmulatorProcess
from tests.support.stacks import SCENARIO_STACK as STACK

pytestmark = pytest.mark.skipif(
    shutil.which("pulumi") is None,
    reason="the Pulumi CLI is not on PATH (it cannot be installed on this machine); the engine harness in "
    "tests/engine covers these scenarios here; run `pytest tests/e2e` where the CLI exists",
)


@pytest.fixture
def stack(tmp_path: Path, emulator: EmulatorProcess) -> Iterator[Any]:
    from pulumi import automation

    emulator.reset()
    work = tmp_path / "project"
    (work / "stacks").mkdir(parents=True)
    # The repository's own project file, byte for byte, so a project file the CLI refuses fails here; its
    # `virtualenv: .venv` is this repository's environment.
    shutil.copy(REPO_ROOT / "__main__.py", work / "__main__.py")
    shutil.copy(REPO_ROOT / "Pulumi.yaml", work / "Pulumi.yaml")
    (work / ".venv").symlink_to(REPO_ROOT / ".venv")
    (work / "stacks" / "dev.yaml").write_text(STACK)
    backend = tmp_path / "backend"
    backend.mkdir()
    env = {
        "PULUMI_CONFIG_PASSPHRASE": "e2e",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_BACKEND_URL": f"file://{backend}",
    }
    workspace = automation.LocalWorkspace(work_dir=str(work), env_vars=env)
    created = automation.Stack.create("dev", workspace)
    created.set_config("gradient:apiUrl", automation.ConfigValue(emulator.api_url))
    created.set_config("gradient:apiKey", automation.ConfigValue(DEV_KEY, secret=True))
    created.set_config("gradient:pollIntervalSeconds", automation.ConfigValue("0.05"))
    created.set_config("hfToken", automation.ConfigValue("hf_e2e_secret", secret=True))
    yield created
    created.destroy()
    workspace.remove_stack("dev")


def _stack_file(stack: Any) -> Path:
    return Path(stack.workspace.work_dir) / "stacks" / "dev.yaml"


def test_up_then_up_again_changes_nothing(stack: Any, emulator: EmulatorProcess) -> None:
    result = stack.up()
    assert result.summary.resource_changes["create"] == 6  # the stack, four resources and the Readiness resource
    writes = emulator.stats()["writes"]
    again = stack.up()
    assert again.summary.resource_changes.get("create", 0) == 0
    assert again.summary.resource_changes.get("update", 0) == 0
    assert emulator.stats()["writes"] == writes


def test_preview_makes_no_api_call(stack: Any, emulator: EmulatorProcess) -> None:
    stack.up()
    path = _stack_file(stack)
    path.write_text(path.read_text().replace("replicas: 2", "replicas: 3"))
    total = emulator.stats()["total"]
    preview = stack.preview()
    assert preview.change_summary.get("update") == 2  # the deployment, and the Readiness resource that waits for it
    assert emulator.stats()["total"] == total


def test_moving_a_deployment_replaces_it_and_destroy_empties_the_team(stack: Any, emulator: EmulatorProcess) -> None:
    stack.up()
    path = _stack_file(stack)
    path.write_text(path.read_text().replace("  api:\n    project: research", "  api:\n    project: other"))
    result = stack.up()
    assert result.summary.resource_changes.get("replace") == 1
    with httpx.Client(base_url=emulator.api_url, headers={"Authorization": f"Bearer {DEV_KEY}"}) as api:
        assert len(api.get("/deployments").json()["items"]) == 1
    stack.destroy()
    assert emulator.stats()["objects"] == {}


def test_refresh_drops_a_deployment_deleted_out_of_band(stack: Any, emulator: EmulatorProcess) -> None:
    outputs = stack.up().outputs
    ident = outputs["deployments"].value["api"]["id"]
    with httpx.Client(base_url=emulator.api_url, headers={"Authorization": f"Bearer {DEV_KEY}"}) as api:
        api.delete(f"/deployments/{ident}").raise_for_status()
    stack.refresh()
    state = stack.export_stack().deployment["resources"]
    assert not any(r["type"].endswith("gradient:Deployment") for r in state)
