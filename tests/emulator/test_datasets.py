"""Datasets and dataset versions: create, read, list, commit, delete, validation."""

from __future__ import annotations

import httpx

from tests.support.emulator import EmulatorProcess

from .contract import checked_client
from .helpers import error, ok


def test_dataset_crud(api: httpx.Client) -> None:
    created = ok(api.post("/datasets", json={"name": "images", "isPublic": False, "description": "cats"}))
    assert created["id"].startswith("ds") and len(created["id"]) == 15
    assert created | {"id": "", "dtCreated": "", "dtModified": ""} == {
        "id": "",
        "name": "images",
        "description": "cats",
        "isPublic": False,
        "storageProviderId": None,
        "teamId": "team-dev",
        "dtCreated": "",
        "dtModified": "",
    }
    assert ok(api.get(f"/datasets/{created['id']}")) == created
    empty = ok(api.post("/datasets", json={"name": "x", "isPublic": True, "description": {}, "storageProviderId": "s"}))
    assert empty["description"] is None and empty["storageProviderId"] == "s"
    assert [d["id"] for d in ok(api.get("/datasets"))["items"]] == [created["id"], empty["id"]]
    assert ok(api.delete(f"/datasets/{empty['id']}")) == {"id": empty["id"]}
    error(api.get(f"/datasets/{empty['id']}"), 404, "NOT_FOUND")
    error(api.delete(f"/datasets/{empty['id']}"), 404, "NOT_FOUND")


def test_a_dataset_update_takes_name_and_description_only(api: httpx.Client) -> None:
    created = ok(api.post("/datasets", json={"name": "images", "isPublic": False, "description": "cats"}))
    updated = ok(api.put(f"/datasets/{created['id']}", json={"name": "pictures", "description": None}))
    assert updated["name"] == "pictures" and updated["description"] is None and updated["isPublic"] is False
    assert ok(api.get(f"/datasets/{created['id']}")) == updated
    refused = error(api.put(f"/datasets/{created['id']}", json={"isPublic": True}), 400, "BAD_REQUEST")
    assert "isPublic" in str(refused)
    error(api.put("/datasets/dsnosuchdataset", json={"name": "x"}), 404, "NOT_FOUND")


def test_dataset_lists_filter_by_privacy_and_team_and_page(api: httpx.Client) -> None:
    ids = [ok(api.post("/datasets", json={"name": f"d{i}", "isPublic": i % 2 == 0}))["id"] for i in range(5)]
    public = ok(api.get("/datasets", params={"privacy": "PUBLIC"}))["items"]
    assert [d["id"] for d in public] == ids[0::2]
    private = ok(api.get("/datasets", params={"privacy": "PRIVATE", "order": "desc"}))["items"]
    assert [d["id"] for d in private] == ids[1::2][::-1]
    first = ok(api.get("/datasets", params={"privacy": "PUBLIC", "limit": 2}))
    rest = ok(api.get("/datasets", params={"privacy": "PUBLIC", "limit": 2, "after": first["nextPage"]}))
    assert [d["id"] for d in first["items"] + rest["items"]] == ids[0::2] and not rest["hasMore"]
    assert len(ok(api.get("/datasets", params={"teamId": "team-dev"}))["items"]) == 5
    assert ok(api.get("/datasets", params={"teamId": "team-other"}))["items"] == []
    error(api.get("/datasets", params={"privacy": "SECRET"}), 400, "BAD_REQUEST")


def test_versions_start_uncommitted_and_commit_for_good(api: httpx.Client) -> None:
    dataset_id = ok(api.post("/datasets", json={"name": "images", "isPublic": False}))["id"]
    body = {"message": "first upload", "tags": "raw, v1", "metadata": {"rows": 10}}
    version = ok(api.post(f"/datasets/{dataset_id}/versions", json=body))
    assert version["isCommitted"] is False and version["datasetId"] == dataset_id
    assert version["tags"] == ["raw", "v1"] and version["metadata"] == {"rows": 10}
    assert version["message"] == "first upload" and len(version["version"]) == 7
    url = f"/datasets/{dataset_id}/versions/{version['version']}"
    assert ok(api.get(url)) == version
    committed = ok(api.put(url, json={"isCommitted": True, "tags": "raw,final"}))
    assert committed["isCommitted"] is True and committed["tags"] == ["raw", "final"]
    assert ok(api.put(url, json={"isCommitted": True}))["isCommitted"] is True  # committing again is a no-op
    body_error = error(api.put(url, json={"isCommitted": False}), 400, "BAD_REQUEST")
    assert body_error["issues"] == [{"path": "isCommitted", "message": "a committed version cannot be uncommitted"}]
    assert ok(api.put(url, json={"message": "renamed"}))["message"] == "renamed"
    draft = ok(api.post(f"/datasets/{dataset_id}/versions", json={}))
    assert draft["message"] is None and draft["tags"] == [] and draft["metadata"] is None
    assert ok(api.put(f"/datasets/{dataset_id}/versions/{draft['version']}", json={"isCommitted": False}))
    listed = ok(api.get(f"/datasets/{dataset_id}/versions"))["items"]
    assert [v["version"] for v in listed] == [version["version"], draft["version"]]
    tagged = ok(api.get(f"/datasets/{dataset_id}/versions", params={"tags": "final"}))["items"]
    assert [v["version"] for v in tagged] == [version["version"]]
    error(api.get(f"/datasets/{dataset_id}/versions/nothere"), 404, "NOT_FOUND")
    error(api.put(f"/datasets/{dataset_id}/versions/nothere", json={}), 404, "NOT_FOUND")
    error(api.post("/datasets/dsnothere/versions", json={}), 404, "NOT_FOUND")
    ok(api.delete(f"/datasets/{dataset_id}"))
    error(api.get(url), 404, "NOT_FOUND")


def test_dataset_bodies_are_checked(api: httpx.Client) -> None:
    body = error(api.post("/datasets", json={"name": "", "isPublic": "no", "projectId": "p"}), 400, "BAD_REQUEST")
    assert {i["path"] for i in body["issues"]} == {"name", "isPublic", "(body)"}
    error(api.post("/datasets", json={"name": "x", "isPublic": True, "description": {"a": 1}}), 400, "BAD_REQUEST")
    dataset_id = ok(api.post("/datasets", json={"name": "images", "isPublic": False}))["id"]
    body = error(api.post(f"/datasets/{dataset_id}/versions", json={"tags": ["a"]}), 400, "BAD_REQUEST")
    assert [i["path"] for i in body["issues"]] == ["tags"]
    version = ok(api.post(f"/datasets/{dataset_id}/versions", json={}))["version"]
    url = f"/datasets/{dataset_id}/versions/{version}"
    body = error(api.put(url, json={"isCommitted": "yes", "colour": 1}), 400, "BAD_REQUEST")
    assert {i["path"] for i in body["issues"]} == {"isCommitted", "(body)"}
    error(api.put(url, content=b"nope", headers={"content-type": "application/json"}), 400, "PARSE_ERROR")


def test_another_team_never_sees_a_dataset(api: httpx.Client, emulator: EmulatorProcess) -> None:
    dataset_id = ok(api.post("/datasets", json={"name": "images", "isPublic": True}))["id"]
    with checked_client(emulator, key="other-key") as other:
        error(other.get(f"/datasets/{dataset_id}"), 404, "NOT_FOUND")
        assert ok(other.get("/datasets"))["items"] == []
        error(other.post(f"/datasets/{dataset_id}/versions", json={}), 404, "NOT_FOUND")
