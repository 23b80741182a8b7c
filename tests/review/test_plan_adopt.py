"""`plan` of entries with `adopt`: a new one is "adopt", not "create" (with a note that what reconciling does is
only known at `up`); a later removal or change of `adopt` is no change."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_plan import Repo, _resource

ADOPTED = """\
projects:
  research: {name: Research, adopt: pr1a2b3c}
datasets:
  corpus: {name: corpus, adopt: ds9z8y}
experiments:
  train:
    project: research
    adopt: wf-0f1e
    image: pytorch/pytorch:2.3.0
    command: python train.py
    machineType: A100-80G
deployments:
  api:
    project: research
    adopt: de7x6w
    image: paperspace/fastapi-deployment:1.0
    machineType: A4000
    replicas: 2
"""


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.commit("projects: {}\n")
    return repo


def test_new_entries_with_adopt_are_adopted_not_created(repo: Repo) -> None:
    repo.write(ADOPTED)
    code, document = repo.plan_json("--stack", "dev")
    [stack] = document["stacks"]
    assert {(r["section"], r["key"]): r["action"] for r in stack["resources"]} == {
        ("projects", "research"): "adopt",
        ("datasets", "corpus"): "adopt",
        ("experiments", "train"): "adopt",
        ("deployments", "api"): "adopt",
    }
    assert stack["summary"]["adopt"] == 4 and stack["summary"]["create"] == 0
    assert code == 2 and stack["risk"] == "safe"
    api = _resource(document, "deployments", "api")
    [note] = api["notes"]
    assert "takes over the existing deployment `de7x6w`" in note and "only known at `up`" in note
    assert api["cost"]["hourlyDelta"] == 0  # it runs already: adopting it adds no cost
    assert _resource(document, "experiments", "train")["cost"]["retrainEstimate"] is None
    markdown = repo.plan("--stack", "dev").stdout
    assert "**4 adopt (take over)**" in markdown and "deployments.api: adopt (take over) (safe)" in markdown


def test_removing_or_changing_adopt_later_is_no_change(repo: Repo) -> None:
    repo.commit(ADOPTED)
    text = ADOPTED.replace(", adopt: pr1a2b3c", "").replace("    adopt: de7x6w\n", "")
    repo.write(text.replace("adopt: wf-0f1e", "adopt: wf-other"))
    code, document = repo.plan_json("--stack", "dev")
    assert code == 0 and {r["action"] for r in document["stacks"][0]["resources"]} == {"unchanged"}


def test_adding_adopt_to_an_entry_already_in_the_stack_is_no_change(repo: Repo) -> None:
    repo.commit(ADOPTED.replace(", adopt: pr1a2b3c", ""))
    repo.write(ADOPTED)
    code, _ = repo.plan_json("--stack", "dev")
    assert code == 0


def test_a_replacing_change_of_an_adopted_entry_says_to_remove_adopt(repo: Repo) -> None:
    """A replacement is a create, and `adopt` would take the old object over again (review finding)."""
    repo.commit(ADOPTED)
    repo.edit("    adopt: wf-0f1e\n", "    adopt: wf-0f1e\n    name: train-v2\n")
    _, document = repo.plan_json("--stack", "dev")
    train = _resource(document, "experiments", "train")
    assert train["action"] == "replace"
    assert any("remove `adopt` in this change" in note for note in train["notes"])
