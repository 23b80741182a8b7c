"""Hostile input is refused at the door with a v1 error, never a 500, and nothing stored can poison a listing.

Issue #12: one stored NaN (a NaN autoscaling value, a NaN spec timeout) made a team's listings answer 500 for
good; 5,000-digit numbers, lone surrogates, odd cursors and huge run numbers gave 500s; 100 MB bodies were
stored. Each test below is one of those, through the emulator process over HTTP.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.store import Store
from tests.support.emulator import REPO_ROOT, EmulatorProcess, running_emulator, stop_process

from .contract import checked_client
from .helpers import container_job, deployment_config, error, new_project, ok, upsert

JSON = {"content-type": "application/json"}
ONE_MIB = 1024 * 1024
LISTS = ("/projects", "/deployments", "/workflows", "/models", "/datasets")


def _raw(api: httpx.Client, method: str, url: str, text: str | bytes) -> httpx.Response:
    """A body as written: JSON text json.dumps would refuse to write (NaN tokens, lone surrogates)."""
    content = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return api.request(method, url, content=content, headers=JSON)


def _lists_answer(api: httpx.Client) -> None:
    for url in LISTS:
        ok(api.get(url))


def _autoscaled(value: str, project_id: str) -> str:
    config = deployment_config(
        resources={"autoscaling": {"maxReplicas": 3, "metrics": [{"metric": "cpu", "summary": "average", "value": 7}]}}
    )
    return json.dumps({"projectId": project_id, "config": config}).replace('"value": 7', f'"value": {value}')


def test_non_finite_numbers_are_refused_at_the_door(api: httpx.Client) -> None:
    project_id = new_project(api)
    for token in ("NaN", "Infinity", "-Infinity", "1e400", "-1E999"):
        body = error(_raw(api, "POST", "/deployments", _autoscaled(token, project_id)), 400, "PARSE_ERROR")
        assert [i["path"] for i in body["issues"]] == ["config.resources.autoscaling.metrics[0].value"], body
    workflow = json.dumps(
        {"name": "w", "projectId": project_id, "spec": {"timeout": 1, "jobs": {"a": container_job()}}}
    )
    body = error(
        _raw(api, "POST", "/workflows", workflow.replace('"timeout": 1', '"timeout": NaN')), 400, "PARSE_ERROR"
    )
    assert body["issues"] == [{"path": "spec.timeout", "message": "NaN is not a JSON number; numbers must be finite"}]
    assert ok(api.get("/deployments"))["items"] == [] and ok(api.get("/workflows")) == []
    _lists_answer(api)
    ok(_raw(api, "POST", "/deployments", _autoscaled("7.5", project_id)))  # a finite one is taken


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "Infinity", "-inf", "1e400", "1_0", "0x10", "٣", "-1"])
def test_hook_values_that_are_not_plain_finite_seconds_are_refused(api: httpx.Client, value: str) -> None:
    project_id = new_project(api)
    spec = {"jobs": {"a": container_job(env={"EMULATOR_RUN_SECONDS": value})}}
    body = error(api.post("/workflows", json={"name": "w", "projectId": project_id, "spec": spec}), 400, "BAD_REQUEST")
    assert [i["path"] for i in body["issues"]] == ["spec.jobs.a.env.EMULATOR_RUN_SECONDS"]
    spec = {"defaults": {"env": {"EMULATOR_RUN_SECONDS": value}}, "jobs": {"a": container_job()}}
    error(api.post("/workflows", json={"name": "w", "projectId": project_id, "spec": spec}), 400, "BAD_REQUEST")
    config = deployment_config(env=[{"name": "EMULATOR_READY_SECONDS", "value": value}])
    body = error(api.post("/deployments", json={"projectId": project_id, "config": config}), 400, "BAD_REQUEST")
    assert [i["path"] for i in body["issues"]] == ["config.env.EMULATOR_READY_SECONDS"]
    _lists_answer(api)


def test_hook_values_in_plain_decimals_are_taken(api: httpx.Client) -> None:
    project_id = new_project(api)
    for value in ("0", "0.5", "1e-3", "3", " 2 ", "1000000"):
        spec = {"jobs": {"a": container_job(env={"EMULATOR_RUN_SECONDS": value, "EMULATOR_EXIT_CODE": "255"})}}
        ok(api.post("/workflows", json={"name": "w", "projectId": project_id, "spec": spec}))
    for code in ("256", "1e2", "٣", "nan", "-1", "3.0"):
        spec = {"jobs": {"a": container_job(env={"EMULATOR_EXIT_CODE": code})}}
        body = error(
            api.post("/workflows", json={"name": "w", "projectId": project_id, "spec": spec}), 400, "BAD_REQUEST"
        )
        assert [i["path"] for i in body["issues"]] == ["spec.jobs.a.env.EMULATOR_EXIT_CODE"]


def test_numbers_are_bounded_in_length_and_to_what_json_carries_exactly(api: httpx.Client) -> None:
    project_id = new_project(api)
    body = error(_raw(api, "POST", "/projects", '{"name": ' + "9" * 5000 + "}"), 400, "PARSE_ERROR")
    assert body["issues"] == [{"path": "name", "message": "a number of 5000 characters; at most 64 are taken"}]
    error(_raw(api, "POST", "/projects", '{"name": 0.' + "0" * 70 + "1}"), 400, "PARSE_ERROR")
    spec = '{"name": "w", "projectId": "%s", "spec": {"timeout": %s, "jobs": {"a": %s}}}'
    job = json.dumps(container_job())
    for too_big in (str(2**53), str(-(2**53))):
        body = error(_raw(api, "POST", "/workflows", spec % (project_id, too_big, job)), 400, "PARSE_ERROR")
        assert [i["path"] for i in body["issues"]] == ["spec.timeout"]
    workflow = ok(_raw(api, "POST", "/workflows", spec % (project_id, str(2**53 - 1), job)))
    assert workflow["spec"]["timeout"] == 2**53 - 1
    _lists_answer(api)


def test_lone_surrogates_are_refused_with_their_paths(api: httpx.Client) -> None:
    project_id = new_project(api)
    body = error(_raw(api, "POST", "/projects", '{"name": "a\\ud800"}'), 400, "PARSE_ERROR")
    assert body["issues"] == [{"path": "name", "message": "holds a lone surrogate (U+D800), which is not Unicode text"}]
    spec = {"jobs": {"a": container_job(args=["python", "\udfff"])}}
    text = json.dumps({"name": "w", "projectId": project_id, "spec": spec, "meta": {"\udc00": 1}})
    body = error(_raw(api, "POST", "/workflows", text), 400, "PARSE_ERROR")
    assert [i["path"] for i in body["issues"]] == ["meta", "spec.jobs.a.with.args[1]"]
    assert body["issues"][0]["message"].startswith("a key holds a lone surrogate (U+DC00)")
    # The same text as raw UTF-8 bytes is not UTF-8 at all.
    error(_raw(api, "POST", "/projects", b'{"name": "\xed\xa0\x80"}'), 400, "PARSE_ERROR")
    error(api.put(f"/projects/{project_id}", content=b'{"name": "\\udbff"}', headers=JSON), 400, "PARSE_ERROR")
    assert ok(_raw(api, "POST", "/projects", '{"name": "\\ud83d\\ude00"}'))["name"] == "😀"  # a pair is fine
    _lists_answer(api)


def test_errors_stay_small_however_large_the_body(api: httpx.Client) -> None:
    project_id = new_project(api)
    meta = "[" + ",".join(["NaN"] * 300) + "]"
    text = json.dumps({"name": "w", "projectId": project_id, "meta": {"x": "X"}}).replace('"X"', meta)
    body = error(_raw(api, "POST", "/workflows", text), 400, "PARSE_ERROR")
    assert len(body["issues"]) == 101 and body["issues"][-1] == {"path": "(body)", "message": "and 200 more problem(s)"}
    answer = api.post("/models", json={"name": "x" * 100_000, "isPublic": False})
    assert len(answer.text) < 2000 and error(answer, 400, "BAD_REQUEST")["issues"][0]["path"] == "name"
    spec = {"jobs": {"a": container_job(inputs={"in": "y" * 100_000})}}
    answer = api.post("/workflows", json={"name": "w", "projectId": project_id, "spec": spec})
    assert len(answer.text) < 2000 and error(answer, 400, "BAD_REQUEST")["issues"][0]["message"].endswith("…")
    assert len(error(api.get("/projects/" + "p" * 5000), 404, "NOT_FOUND")["message"]) < 200


def test_bodies_nest_at_most_32_levels(api: httpx.Client) -> None:
    project_id = new_project(api)

    def workflow_with_meta(levels: int) -> str:  # the body is level 1, meta level 2, …
        return json.dumps({"name": "w", "projectId": project_id, "meta": "X"}).replace(
            '"X"', '{"a": ' * (levels - 1) + "1" + "}" * (levels - 1)
        )

    ok(_raw(api, "POST", "/workflows", workflow_with_meta(32)))
    body = error(_raw(api, "POST", "/workflows", workflow_with_meta(33)), 400, "PARSE_ERROR")
    assert body["message"] == "request body nests deeper than 32 levels"
    error(_raw(api, "POST", "/projects", "[" * 100_000 + "]" * 100_000), 400, "PARSE_ERROR")
    error(_raw(api, "POST", "/projects", '{"a":' * 100_000), 400, "PARSE_ERROR")
    _lists_answer(api)


ODD_CURSORS = [
    "%ff",
    "é",
    "!!!",
    "a" * 5000,
    "",
    "c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
]  # the last: seq: and 30 nines


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_cursors_that_do_not_decode_are_400(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = ok(api.post("/workflows", json={"name": "w", "projectId": project_id}))["id"]
    oddities = [*ODD_CURSORS, *map(_cursor, ["seq:-1", "seq:²", "seq:" + "9" * 5000, "seq:1:2", "dtModified:1:1"])]
    for cursor in oddities:
        body = error(api.get("/projects", params={"after": cursor}), 400, "BAD_REQUEST")
        assert [i["path"] for i in body["issues"]] == ["after"]
    for text in ("dtModified:nan:1", "dtModified:inf:1", "dtModified:1e999:1", "dtModified:" + "9" * 400 + ":1"):
        query = {"orderBy": "dtModified", "after": _cursor(text)}
        error(api.get(f"/workflows/{workflow_id}/runs", params=query), 400, "BAD_REQUEST")
    for limit in ("٣", "1_0", "9" * 5000, "1e2", "0x10"):
        error(api.get("/projects", params={"limit": limit}), 400, "BAD_REQUEST")


def test_run_numbers_and_ids_out_of_range_are_404(api: httpx.Client) -> None:
    project_id = new_project(api)
    spec = {"jobs": {"a": container_job(seconds=1)}}
    workflow = ok(api.post("/workflows", json={"name": "w", "projectId": project_id, "spec": spec, "run": True}))
    base = f"/workflows/{workflow['id']}/runs"
    for number in ("9" * 30, "9" * 5000, "²", "٣", "-1", "0", "1.0", "1e3", "%20", workflow["run"]["uuid"]):
        error(api.get(f"{base}/{number}"), 404, "NOT_FOUND")
        error(api.post(f"{base}/{number}/cancel"), 404, "NOT_FOUND")
        if number != workflow["run"]["uuid"]:
            error(api.get(f"{base}/{number}/logs"), 404, "NOT_FOUND")
    assert ok(api.get(f"{base}/1"))["uuid"] == ok(api.get(f"{base}/01"))["uuid"] == workflow["run"]["uuid"]
    ok(api.get(f"{base}/{workflow['run']['uuid']}/logs"))  # logs take the uuid too
    for path in ("/projects/" + "p" * 5000, "/deployments/%00", "/models/%F0%9F%98%80", "/datasets/..%2F"):
        error(api.get(path), 404, "NOT_FOUND")
    for path in ("/projects/", f"/projects/{project_id}/", "/workflows/"):  # no redirect: a v1 404
        error(api.get(path), 404, "NOT_FOUND")


def test_request_bodies_over_1_mib_are_413(api: httpx.Client, emulator: EmulatorProcess) -> None:
    project_id = new_project(api)
    at_bound = b'{"name": "' + b"a" * (ONE_MIB - 12) + b'"}'
    assert len(at_bound) == ONE_MIB
    error(api.post("/projects", content=at_bound, headers=JSON), 400, "BAD_REQUEST")  # read, and too long a name
    body = error(api.post("/projects", content=at_bound[:-2] + b'a"}', headers=JSON), 413, "PAYLOAD_TOO_LARGE")
    assert body["message"] == "request body is larger than 1048576 bytes (1 MiB)"

    def chunks(total: int) -> Iterator[bytes]:  # no Content-Length: the bound is counted as the body arrives
        yield b'{"name": "w", "projectId": "' + project_id.encode() + b'", "meta": {"blob": "'
        for _ in range(total // 65536):
            yield b"x" * 65536
        yield b'"}}'

    error(api.post("/workflows", content=chunks(2 * ONE_MIB), headers=JSON), 413, "PAYLOAD_TOO_LARGE")
    error(api.post("/workflows", content=b"x" * (32 * ONE_MIB), headers=JSON), 413, "PAYLOAD_TOO_LARGE")
    with emulator.admin() as admin:
        answer = admin.post("/clock", content=b'{"advanceSeconds": 1, "x": "' + b"y" * ONE_MIB + b'"}')
        assert answer.status_code == 413 and answer.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert ok(api.get("/workflows")) == [] and len(ok(api.get("/projects"))["items"]) == 1
    assert ok(api.post("/projects", json={"name": "after"}))["name"] == "after"  # the client carries on


def test_the_clock_and_the_time_scale_stay_where_timestamps_render(
    api: httpx.Client, emulator: EmulatorProcess
) -> None:
    upsert(api, new_project(api), deployment_config())
    with emulator.admin() as admin:
        answers: list[httpx.Response] = []
        for _ in range(200):  # ten years at a time, until the clock would pass the year 3000
            answers.append(admin.post("/clock", json={"advanceSeconds": 10 * 365 * 86400}))
            if answers[-1].status_code != 200:
                break
        assert answers[-1].status_code == 400, answers[-1].text
        assert admin.get("/clock").json()["now"] < "3000"
    _lists_answer(api)
    for scale in ("nan", "inf", "1e9"):
        result = subprocess.run(
            [sys.executable, "-m", "emulator", "--time-scale", scale],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2 and "--time-scale" in result.stderr, (scale, result.stderr)


def test_the_store_refuses_to_write_what_it_could_not_render() -> None:
    store = Store(":memory:")
    for data in ({"value": float("nan")}, {"value": float("inf")}, {"name": "\ud800"}, {"\udfff": 1}):
        with pytest.raises(ValueError):
            store.insert("project", "team", "p1", data, created=0.0)
    assert store.find("project", None) == []
    record = store.insert("project", "team", "p1", {"ok": 1}, created=0.0)
    record.data["value"] = float("-inf")
    with pytest.raises(ValueError):
        store.save(record)
    assert store.find("project", None)[0].data == {"ok": 1}
    store.close()


def _poison(state: Path, kind: str, old: str, new: str) -> None:
    """Rewrite the newest row of a kind in a state file, as an emulator before issue #12 could have stored it."""
    with sqlite3.connect(state) as db:
        seq, data = db.execute(f"SELECT seq, data FROM objects WHERE kind = '{kind}' ORDER BY seq DESC").fetchone()
        assert old in data, data
        db.execute("UPDATE objects SET data = ? WHERE seq = ?", (data.replace(old, new), seq))


def test_a_state_file_holding_bad_values_cannot_poison_listings(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with running_emulator(state=str(state)) as first, checked_client(first) as api:
        project_id = new_project(api)
        healthy = deployment_config(resources={"replicas": 1})
        deployment_id = upsert(api, project_id, healthy)
        scaled = {"autoscaling": {"maxReplicas": 3, "metrics": [{"metric": "cpu", "summary": "average", "value": 7}]}}
        upsert(api, project_id, deployment_config(resources=scaled))
        spec = {"jobs": {"a": container_job(seconds=5)}}
        workflow = ok(api.post("/workflows", json={"name": "w", "projectId": project_id, "spec": spec, "run": True}))
        ok(api.post("/datasets", json={"name": "d", "isPublic": False, "description": "fine"}))
    _poison(state, "spec", '"value": 7', '"value": NaN')
    _poison(state, "run", '"EMULATOR_RUN_SECONDS": "5"', '"EMULATOR_RUN_SECONDS": "nan"')
    _poison(state, "dataset", '"fine"', '"\\ud800"')

    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--state", str(state), "--time-scale", "0.05"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        second = EmulatorProcess(process, process.stdout.readline().strip().removeprefix("listening on "))
        with checked_client(second) as api:
            _lists_answer(api)
            deployment: dict[str, Any] = ok(api.get(f"/deployments/{deployment_id}"))
            assert deployment["latestSpec"]["data"] == healthy  # the NaN version is gone, the one before it stays
            assert ok(api.get("/datasets"))["items"] == []
            ok(api.get(f"/workflows/{workflow['id']}/runs/1"))  # its "nan" hook reads as the default, 3 s
            second.advance(60)
            assert ok(api.get(f"/workflows/{workflow['id']}/runs/1"))["status"]["phase"] == "Succeeded"
            _lists_answer(api)
    finally:
        stop_process(process)
    assert process.stderr is not None
    notes = process.stderr.read()
    assert "removed spec" in notes and "removed dataset" in notes and "JSON cannot carry" in notes
