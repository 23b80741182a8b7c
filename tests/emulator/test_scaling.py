"""What keeps the emulator's cost flat as it fills: a deployment read or upsert touches only its newest spec
versions, and a new id is one index lookup. Checked by what SQLite is asked and how it plans it (a timing would
be a benchmark: `python -m bench` measures those), and through HTTP that a long history changes no answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulator.store import Store
from tests.support.emulator import EmulatorProcess

from .helpers import deployment_config, new_project, ok, upsert


@pytest.fixture
def store() -> Iterator[Store]:
    found = Store(":memory:")
    yield found
    found.close()


def _plans(store: Store, statements: list[str]) -> list[str]:
    """SQLite's query plan of each SELECT, one line per step."""
    connection = store._db  # the one connection the store owns; read-only use here
    plans = []
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            plans.append(" / ".join(str(row["detail"]) for row in rows))
    return plans


def _traced(store: Store) -> list[str]:
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    return statements


def _fill(store: Store, versions: int) -> None:
    store.insert("deployment", "team", "d1", {}, created=0.0, parent="p1", name="api")
    for index in range(versions):
        store.insert("spec", "team", f"s{index}", {"data": {"n": index}}, created=float(index), parent="d1")


def test_the_newest_spec_versions_are_an_index_walk_whatever_the_history(store: Store) -> None:
    _fill(store, 300)
    statements = _traced(store)
    newest = store.find("spec", "team", parent="d1", descending=True, limit=2)
    assert [record.id for record in newest] == ["s299", "s298"]
    (plan,) = _plans(store, statements)
    assert "USING INDEX objects_children" in plan
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan  # no pass over the history, no sort of it


def test_a_new_id_is_checked_by_one_index_lookup(store: Store) -> None:
    _fill(store, 50)
    statements = _traced(store)
    ident = store.new_id("d", 12)
    assert ident.startswith("d") and len(ident) == 13
    plans = _plans(store, statements)
    assert plans and all("SEARCH" in plan and "objects_id" in plan and "SCAN" not in plan for plan in plans)


def test_a_state_file_from_before_the_indexes_gets_them(tmp_path: Path) -> None:
    path = str(tmp_path / "state.sqlite")
    Store(path).close()
    older = Store(path)
    older._db.execute("DROP INDEX objects_children")
    older._db.execute("DROP INDEX objects_id")
    older.close()
    reopened = Store(path)
    names = {row["name"] for row in reopened._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    reopened.close()
    assert {"objects_children", "objects_id"} <= names


def test_a_long_history_changes_no_answer(api: httpx.Client, emulator: EmulatorProcess) -> None:
    project_id = new_project(api)
    deployment_id = ""
    for replicas in range(1, 31):
        deployment_id = upsert(api, project_id, deployment_config(resources={"replicas": replicas}))
    upsert(api, project_id, deployment_config(resources={"replicas": 30}))  # identical: no new version
    deployment = ok(api.get(f"/deployments/{deployment_id}"))
    assert deployment["latestSpec"]["data"]["resources"]["replicas"] == 30
    emulator.advance(3600)
    runs = ok(api.get(f"/deployments/{deployment_id}/runs"))
    assert [(run["id"], run["readyReplicas"]) for run in runs] == [("run" + deployment["latestSpec"]["id"], 30)]
    history = ok(api.get(f"/deployments/{deployment_id}/history", params={"limit": 120}))
    assert [spec["data"]["resources"]["replicas"] for spec in history["items"]] == list(range(1, 31))
    listed = ok(api.get(f"/projects/{project_id}/deployments"))
    assert [item["latestSpec"]["id"] for item in listed["items"]] == [deployment["latestSpec"]["id"]]
