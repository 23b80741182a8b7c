"""A user's whole flow through the real Pulumi CLI (the build of tools/pulumi/go.mod), on a local file backend
with a passphrase, against an emulator process: `stack init`, `config set --secret`, `preview`, `up`,
`preview --expect-no-changes`, an edit (in place, a new run, a replacement), `refresh --expect-no-changes`, a
failed update that rolls back, `destroy` (a dataset with data kept), `stack rm`; and `make up` twice.

A secret canary goes in through `config set --secret`; it must never appear in the state file, in any CLI
output, or in what Paperspace holds as a spec.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support.emulator import DEV_KEY, REPO_ROOT, EmulatorProcess
from tests.support.pulumi_cli import PINNED_BIN, PulumiCli
from tests.support.stacks import SCENARIO_STACK

CANARY = "hf_canary_7c1d0e5b_never_in_clear"

STACK = """\
projects:
  research: {name: Research}
  other: {name: Other}
datasets:
  reports: {description: Evaluation reports}
experiments:
  train:
    project: research
    machineType: A4000
    env: {EMULATOR_RUN_SECONDS: "1"}
    jobs:
      train:
        image: pytorch/pytorch:2.3.0
        command: python train.py
      evaluate:
        image: pytorch/pytorch:2.3.0
        command: python evaluate.py
        needs: [train]
        inputs:
          model: {job: train}
        artifacts: {dataset: reports}
    model: {name: resnet50, job: train, path: /outputs/model}
"""
# the deployment of the engine scenarios' stack, as it is there
STACK += SCENARIO_STACK[SCENARIO_STACK.index("deployments:") :]
DYNAMIC = "pulumi-python:dynamic/gradient:"


def _summary(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The CLI's own change counts: `preview --json` prints one document with `changeSummary`; `up --json`
    streams engine events, the last of which with a summary carries `resourceChanges`."""
    decoder = json.JSONDecoder()
    body, end = decoder.raw_decode(result.stdout)
    if "changeSummary" in body:
        assert not result.stdout[end:].strip(), "preview --json prints one document"
        summary: dict[str, int] = body["changeSummary"]
        return summary
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    [done] = [e["summaryEvent"] for e in events if "summaryEvent" in e]
    changes: dict[str, int] = done["resourceChanges"]
    return {op: n for op, n in changes.items() if op != "same"}


def _kinds(exported: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in exported["deployment"].get("resources") or []:
        if resource["type"].startswith(DYNAMIC) and not resource.get("delete"):
            kind = resource["type"].removeprefix(DYNAMIC)
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def _edit(cli: PulumiCli, old: str, new: str) -> None:
    path = cli.root / "stacks" / "dev.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _team(emulator: EmulatorProcess) -> dict[str, int]:
    objects: dict[str, int] = emulator.stats()["objects"].get("team-dev", {})
    return objects


def _backend_text(backend: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in backend.rglob("*") if p.is_file())


def test_a_stack_from_init_to_rm_through_the_real_cli(
    cli: PulumiCli, emulator: EmulatorProcess, tmp_path: Path
) -> None:
    emulator.reset()
    (cli.root / "stacks").mkdir()
    (cli.root / "stacks" / "dev.yaml").write_text(STACK)
    cli.run("stack", "init", "dev")
    cli.set_config("gradient:apiUrl", emulator.api_url)
    cli.set_config("gradient:pollIntervalSeconds", "0.02")
    cli.set_config("gradient:apiKey", DEV_KEY, secret=True)
    cli.set_config("hfToken", CANARY, secret=True)
    stack_config = (cli.root / "Pulumi.dev.yaml").read_text()
    assert CANARY not in stack_config and DEV_KEY not in stack_config and "secure: v1:" in stack_config

    # preview: what would be made, and no call that changes anything
    writes = emulator.stats()["writes"]
    assert _summary(cli.run("preview", "--json")) == {"create": 7}  # the stack, 5 resources, Readiness
    assert emulator.stats()["writes"] == writes

    cli.run("up", "--yes")
    assert _kinds(cli.export()) == {"Project": 2, "Dataset": 1, "Experiment": 1, "Deployment": 1, "Readiness": 1}
    team = _team(emulator)
    assert team["project"] == 2 and team["deployment"] == 1 and team["run"] == 1 and team["dataset"] == 1
    cli.run("preview", "--expect-no-changes")

    # one edit: a rename in place, a new training run on the same workflow, a deployment moved (replaced)
    workflow = cli.run("stack", "output", "experiments", "--json")
    _edit(cli, "research: {name: Research}", "research: {name: Research Lab}")
    _edit(cli, "command: python train.py", "command: python train.py --epochs 10")
    _edit(cli, "  api:\n    project: research", "  api:\n    project: other")
    changes = _summary(cli.run("up", "--yes", "--skip-preview", "--json"))
    assert changes.get("replace") == 1 and changes.get("update", 0) >= 2 and "create" not in changes
    experiments = json.loads(cli.run("stack", "output", "experiments", "--json").stdout)
    assert experiments["train"]["runNumber"] == 2
    assert experiments["train"]["workflowId"] == json.loads(workflow.stdout)["train"]["workflowId"]
    with emulator.client() as api:
        deployments = api.get("/deployments").json()["items"]
        projects = {p["name"]: p["id"] for p in api.get("/projects").json()["items"]}
    assert [d["projectId"] for d in deployments] == [projects["Other"]], "replaced, and the old one deleted"
    assert "Research Lab" in projects

    cli.run("refresh", "--yes", "--expect-no-changes")

    # an update whose new spec crashes fails, and the deployment is rolled back to the spec that was ready
    ident = deployments[0]["id"]
    _edit(cli, "env: {MODE: prod,", 'env: {MODE: prod, EMULATOR_CRASH: "1",')
    failed = cli.run("up", "--yes", check=False)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "crash requested by EMULATOR_CRASH=1" in output
    assert "Rolled back: the new spec" in output
    with emulator.client() as api:
        live = api.get(f"/deployments/{ident}").json()["latestSpec"]
    assert live["dtHealthy"] and "EMULATOR_CRASH" not in json.dumps(live["data"]["env"])
    _edit(cli, 'env: {MODE: prod, EMULATOR_CRASH: "1",', "env: {MODE: prod,")
    cli.run("preview", "--expect-no-changes")  # the state is what runs: the old inputs

    # nothing secret in clear: not in the state file, the export, any CLI output, nor a Paperspace spec
    exported = json.dumps(cli.export())
    backend = tmp_path / "backend"
    for text in (exported, _backend_text(backend), *cli.transcript):
        assert CANARY not in text and DEV_KEY not in text
    with emulator.client() as api:
        spec = api.get(f"/deployments/{ident}").json()["latestSpec"]["data"]
    assert CANARY not in json.dumps(spec) and "secret:" in json.dumps(spec["env"])

    # destroy: everything goes but the dataset that holds a committed version (retainOnDelete, the default)
    cli.run("destroy", "--yes")
    assert _kinds(cli.export()) == {}
    left = _team(emulator)
    assert left.get("dataset") == 1 and not {"project", "workflow", "deployment", "secret"} & set(left), left
    cli.run("stack", "rm", "--yes")
    assert json.loads(cli.run("stack", "ls", "--json").stdout) == []
    assert not list((backend / ".pulumi" / "stacks").rglob("dev.json"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_make_up_twice_reconciles_the_dev_stack_then_changes_nothing(tmp_path: Path) -> None:
    """The Quickstart's main job as a user with Go but no Pulumi runs it: the CLI is built (here: found built),
    the dev stack reconciled against the emulator, its outputs printed; the second run changes nothing."""
    go = shutil.which("go")
    assert go is not None, "the CLI was built, so Go is here"
    path = os.pathsep.join(
        [str(Path(go).parent), *(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "pulumi").exists())]
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PAPERSPACE_", "VIRTUAL_ENV"))},
        "PATH": path,
        "HOME": str(tmp_path / "home"),  # no ~/.pulumi/bin
        "GRADIENT_STATE_DIR": str(tmp_path / "state"),
        "GRADIENT_EMULATOR_PORT": str(_free_port()),
    }
    stack_config = (REPO_ROOT / "Pulumi.dev.yaml").read_bytes()
    first = subprocess.run(["scripts/up"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"Using {PINNED_BIN}/pulumi (v3." in first.stderr
    outputs = json.loads(first.stdout[first.stdout.index("\n{") :])
    assert outputs["deployments"]["api"]["status"] == "ready"
    assert outputs["experiments"]["train"]["phase"] == "Succeeded"
    assert "+ 5 created" in first.stdout

    second = subprocess.run(["scripts/up"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "5 unchanged" in second.stdout and "created" not in second.stdout and "updated" not in second.stdout
    assert json.loads(second.stdout[second.stdout.index("\n{") :]) == outputs
    assert (REPO_ROOT / "Pulumi.dev.yaml").read_bytes() == stack_config, "make up edits no tracked file"
    with httpx.Client() as client:  # the emulator was stopped with the script
        try:
            client.get(f"http://127.0.0.1:{env['GRADIENT_EMULATOR_PORT']}/v1/projects", timeout=2)
            raise AssertionError("the emulator still answers")
        except httpx.TransportError:
            pass


def test_a_stack_with_no_config_runs_on_the_environment_alone(cli: PulumiCli, emulator: EmulatorProcess) -> None:
    """No `config:` in Pulumi.<stack>.yaml at all (the README's real-Paperspace setup leaves gradient:apiUrl unset):
    the provider takes the URL and key from the environment."""
    emulator.reset()
    (cli.root / "stacks").mkdir()
    (cli.root / "stacks" / "dev.yaml").write_text("projects:\n  research: {name: Research}\n")
    env_cli = PulumiCli(
        root=cli.root,
        backend_url=cli.backend_url,
        home=cli.home,
        extra_env={"PAPERSPACE_API_URL": emulator.api_url, "PAPERSPACE_API_KEY": DEV_KEY},
    )
    env_cli.run("stack", "init", "dev")
    assert "config:" not in (cli.root / "Pulumi.dev.yaml").read_text()
    env_cli.run("up", "--yes")
    env_cli.run("preview", "--expect-no-changes")
    assert _team(emulator)["project"] == 1
    env_cli.run("destroy", "--yes")
    for text in env_cli.transcript:
        assert DEV_KEY not in text
