"""`s3-download@v1` in the emulator: when the job starts, the objects its `with` names are looked up at its
`endpoint` (a real S3-compatible server here, moto's): nothing there fails the job and the run, as the real
action would; something there lets the run go on. A bucket on AWS (no endpoint) is never contacted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.emulator import EmulatorProcess, wait_for
from tests.support.s3 import S3Server, s3_server

from .helpers import container_job, finished_run, new_project, ok

BUCKET = "emulator-downloads"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        client = server.client()
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="present/workspace.tar.gz", Body=b"archive")
        yield server


def _spec(url: str, endpoint: str | None) -> dict[str, Any]:
    with_ = {"url": url, "access-key": "secret:ACCESS", "secret-access-key": "secret:SECRET"}
    if endpoint:
        with_["endpoint"] = endpoint
    download = {
        "uses": "s3-download@v1",
        "with": with_,
        "outputs": {"archive": {"type": "volume"}},
        "resources": {"instance-type": "C4"},
    }
    train = container_job(needs=["download"], inputs={"archive": "download.outputs.archive"}, seconds=1)
    return {"jobs": {"download": download, "train": train}}


def _finished(api: httpx.Client, emulator: EmulatorProcess, spec: dict[str, Any]) -> dict[str, Any]:
    project_id = new_project(api)
    workflow = ok(api.post("/workflows", json={"name": "fetch", "projectId": project_id, "spec": spec, "run": True}))
    emulator.advance(60)
    run: dict[str, Any] = wait_for(lambda: finished_run(api, workflow["id"], 1), timeout=30)
    return run


def test_a_download_of_a_prefix_that_holds_nothing_fails_the_run(
    api: httpx.Client, emulator: EmulatorProcess, s3: S3Server
) -> None:
    url = f"s3://{BUCKET}/missing/"
    run = _finished(api, emulator, _spec(url, s3.endpoint))
    assert run["status"]["phase"] == "Failed"
    assert run["status"]["jobs"]["download"]["message"] == f"s3-download: nothing to download at {url} ({s3.endpoint})"
    assert run["status"]["message"] == f"job 'download' failed: {run['status']['jobs']['download']['message']}"
    assert run["status"]["jobs"]["train"]["phase"] == "Skipped"


def test_a_missing_bucket_fails_the_run(api: httpx.Client, emulator: EmulatorProcess, s3: S3Server) -> None:
    run = _finished(api, emulator, _spec("s3://no-such-bucket/x/", s3.endpoint))
    assert run["status"]["phase"] == "Failed"
    assert "nothing to download at s3://no-such-bucket/x/" in run["status"]["jobs"]["download"]["message"]


def test_a_download_of_objects_that_are_there_succeeds(
    api: httpx.Client, emulator: EmulatorProcess, s3: S3Server
) -> None:
    run = _finished(api, emulator, _spec(f"s3://{BUCKET}/present/", s3.endpoint))
    assert run["status"]["phase"] == "Succeeded"
    assert [run["status"]["jobs"][job]["phase"] for job in ("download", "train")] == ["Succeeded", "Succeeded"]


def test_an_unreachable_endpoint_fails_the_run_and_aws_buckets_are_not_contacted(
    api: httpx.Client, emulator: EmulatorProcess
) -> None:
    run = _finished(api, emulator, _spec("s3://bucket/path/", "http://127.0.0.1:9"))
    assert run["status"]["phase"] == "Failed"
    assert run["status"]["jobs"]["download"]["message"].startswith("s3-download: cannot reach http://127.0.0.1:9")
    assert _finished(api, emulator, _spec("s3://bucket/path/", None))["status"]["phase"] == "Succeeded"


def test_an_endpoint_that_is_no_url_is_refused(api: httpx.Client, s3: S3Server) -> None:
    project_id = new_project(api)
    spec = _spec(f"s3://{BUCKET}/present/", "ftp://example.invalid")
    answer = api.post("/workflows", json={"name": "fetch", "projectId": project_id, "spec": spec, "run": True})
    assert answer.status_code == 400
    assert [issue["path"] for issue in answer.json()["issues"]] == ["spec.jobs.download.with.endpoint"]
