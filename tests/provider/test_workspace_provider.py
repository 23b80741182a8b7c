"""Experiments with a local workspace, through the real pulumi.dynamic server against the emulator and a real
S3-compatible server (moto's, started by the fixtures): an up uploads once and runs; an up with no change
uploads and starts nothing; editing a file uploads once and starts one run; a missing bucket or refused
credentials fail before the workflow is touched, naming the config key to fix. Credentials reach the run only
as `secret:NAME`, and never state or an error."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradient_provider.resources import ExperimentProvider, ProjectProvider
from gradient_provider.stack import load_stack
from tests.support.dynamic_server import ProviderCallError, dynamic_provider_server, provider_blob
from tests.support.emulator import EmulatorProcess
from tests.support.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server, object_keys, s3_server

from .conftest import Kind, provider_config

BUCKET = "gradient-workspaces-test"
SECRET_KEYS = frozenset({"gradient:apiKey", "gradient:workspaceSecretAccessKey"})
STACK = """\
projects:
  research: {name: Research}
experiments:
  train:
    project: research
    image: pytorch/pytorch:2.3.0
    command: python /inputs/repo/train.py
    machineType: A4000
    workspace: {path: ./training, ignore: ["*.ckpt"]}
"""


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        server.client().create_bucket(Bucket=BUCKET)
        yield server


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository: its stack file, and the training code beside it."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "dev.yaml").write_text(STACK)
    code = tmp_path / "training"
    (code / "lib").mkdir(parents=True)
    (code / "train.py").write_text("from lib.model import Model\nModel().fit()\n")
    (code / "lib" / "model.py").write_text("class Model:\n    def fit(self): ...\n")
    (code / ".gitignore").write_text("__pycache__/\n")
    return tmp_path


def workspace_config(emulator: EmulatorProcess, endpoint: str, **overrides: str) -> dict[str, str]:
    return {
        **provider_config(emulator),
        "gradient:workspaceBucket": BUCKET,
        "gradient:workspaceEndpoint": endpoint,
        "gradient:workspaceRegion": REGION,
        "gradient:workspaceAccessKeyId": ACCESS_KEY_ID,
        "gradient:workspaceSecretAccessKey": SECRET_ACCESS_KEY,
        **overrides,
    }


@contextmanager
def kinds(repo: Path, config: dict[str, str]) -> Iterator[tuple[Kind, Kind]]:
    """The project and experiment providers of one server whose project directory is ``repo``."""
    with dynamic_provider_server(cwd=repo) as server:
        server.configure(config, secret_keys=SECRET_KEYS)
        yield Kind(server, provider_blob(ProjectProvider)), Kind(server, provider_blob(ExperimentProvider))


def declared(repo: Path, project_id: str) -> dict[str, Any]:
    """What the program declares for `train`: the stack file through the real loader (which hashes the files)."""
    inputs = dict(load_stack(repo / "stacks" / "dev.yaml").section("experiments")["train"].inputs)
    return {**inputs, "projectId": project_id}


def runs_of(api: httpx.Client, workflow_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(f"/workflows/{workflow_id}/runs").raise_for_status().json()["items"]
    return items


def test_up_uploads_once_runs_and_only_a_changed_file_uploads_and_runs_again(
    emulator: EmulatorProcess, api: httpx.Client, s3: S3Server, repo: Path
) -> None:
    with kinds(repo, workspace_config(emulator, s3.endpoint)) as (projects, experiments):
        project_id, _ = projects.create({"name": "Research"})
        first = declared(repo, project_id)
        s3.reset_counts()
        ident, state = experiments.create(first)
        assert state["phase"] == "Succeeded", state
        assert s3.puts() == 1
        digest = first["workspaceHash"]
        assert object_keys(s3.client(), BUCKET) == [f"gradient-workspaces/{digest}/workspace.tar.gz"]
        (run,) = runs_of(api, ident)
        assert run["status"]["jobs"]["workspace-download"]["phase"] == "Succeeded"
        download = run["spec"]["jobs"]["workspace-download"]
        assert download["uses"] == "s3-download@v1"
        assert download["with"]["url"] == f"s3://{BUCKET}/gradient-workspaces/{digest}/"
        assert download["with"]["access-key"].startswith("secret:WORKSPACE_S3_ACCESS_KEY_")
        assert download["with"]["secret-access-key"].startswith("secret:WORKSPACE_S3_SECRET_KEY_")
        assert run["spec"]["jobs"]["train"]["inputs"]["repo"] == "workspace-unpack.outputs.repo"
        secrets = api.get(f"/projects/{project_id}/secrets").raise_for_status().json()["items"]
        assert {s["name"] for s in secrets} >= {
            download["with"]["access-key"].removeprefix("secret:"),
            download["with"]["secret-access-key"].removeprefix("secret:"),
        }
        for shown in (json.dumps(state), json.dumps(run), experiments.server.stderr()):
            assert SECRET_ACCESS_KEY not in shown and ACCESS_KEY_ID not in shown

        # No change (a file touched, an ignored file added): the same hash, so no diff: nothing uploads or runs.
        os.utime(repo / "training" / "train.py", (1, 1))
        (repo / "training" / "weights.ckpt").write_bytes(b"\0" * 1000)
        (repo / "training" / "lib" / "__pycache__").mkdir()
        (repo / "training" / "lib" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
        s3.reset_counts()
        same = declared(repo, project_id)
        assert same["workspaceHash"] == digest
        assert experiments.diff(ident, state, same).changes == "DIFF_NONE"
        assert s3.counts().get("PUT", 0) == 0 and len(runs_of(api, ident)) == 1

        # One file edited: a new hash, a diff that starts a run, one upload.
        (repo / "training" / "lib" / "model.py").write_text("class Model:\n    def fit(self): return 1\n")
        edited = declared(repo, project_id)
        assert edited["workspaceHash"] != digest
        answer = experiments.diff(ident, state, edited)
        assert (answer.changes, answer.replaces) == ("DIFF_SOME", [])
        s3.reset_counts()
        state = experiments.update(ident, state, edited)
        assert s3.puts() == 1
        assert state["phase"] == "Succeeded" and state["runNumber"] == 2
        assert len(runs_of(api, ident)) == 2
        assert len(object_keys(s3.client(), BUCKET)) == 2

        # refresh reads the workspace back: the hash from the live spec, the directory from state
        _, _, read_inputs = experiments.read(ident, state)
        assert read_inputs["workspaceHash"] == edited["workspaceHash"]
        assert read_inputs["workspace"] == edited["workspace"]

        # A new run with the same code (rerun bumped): the archive is found there (one HEAD), never sent again.
        s3.reset_counts()
        rerun = {**edited, "rerun": "again"}
        state = experiments.update(ident, state, rerun)
        assert state["runNumber"] == 3 and state["phase"] == "Succeeded"
        assert s3.puts() == 0 and s3.counts().get("HEAD", 0) >= 1


def _no_workflow(api: httpx.Client, project_id: str) -> None:
    assert api.get("/workflows", params={"projectId": project_id}).raise_for_status().json() == []
    assert api.get(f"/projects/{project_id}/secrets").raise_for_status().json()["items"] == []


def test_a_missing_bucket_fails_before_the_workflow_is_touched_and_names_the_config_key(
    emulator: EmulatorProcess, api: httpx.Client, s3: S3Server, repo: Path
) -> None:
    config = workspace_config(emulator, s3.endpoint, **{"gradient:workspaceBucket": "no-such-bucket"})
    with kinds(repo, config) as (projects, experiments):
        project_id, _ = projects.create({"name": "Research"})
        with pytest.raises(ProviderCallError) as failed:
            experiments.create(declared(repo, project_id))
        assert "bucket 'no-such-bucket' does not exist" in failed.value.details
        assert "gradient:workspaceBucket" in failed.value.details
        assert "botocore" not in failed.value.details  # the cause is in the message, not in chained frames
        _no_workflow(api, project_id)


def test_refused_credentials_fail_before_the_workflow_is_touched_and_name_the_config_keys(
    emulator: EmulatorProcess, api: httpx.Client, repo: Path
) -> None:
    with s3_server(auth=True) as strict, kinds(repo, workspace_config(emulator, strict.endpoint)) as (projects, exps):
        project_id, _ = projects.create({"name": "Research"})
        with pytest.raises(ProviderCallError) as failed:
            exps.create(declared(repo, project_id))
        details = failed.value.details
        assert "refused the credentials" in details
        assert "gradient:workspaceAccessKeyId" in details and "gradient:workspaceSecretAccessKey" in details
        assert SECRET_ACCESS_KEY not in details and "botocore" not in details
        assert strict.counts().get("PUT", 0) == 0
        _no_workflow(api, project_id)


def test_no_bucket_configured_fails_with_the_key_to_set(
    emulator: EmulatorProcess, api: httpx.Client, repo: Path
) -> None:
    with kinds(repo, provider_config(emulator)) as (projects, experiments):
        project_id, _ = projects.create({"name": "Research"})
        with pytest.raises(ProviderCallError) as failed:
            experiments.create(declared(repo, project_id))
        assert "pulumi config set gradient:workspaceBucket" in failed.value.details
        _no_workflow(api, project_id)
