"""`python -m gradient_provider plan` on temporary git repositories: actions, risks, diffs, cost, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gradient_provider.prices import price_list

BASE = """\
projects:
  research: {name: Research}
  serving: {name: Serving}
experiments:
  train:
    project: research
    image: pytorch/pytorch:2.3.0
    command: python train.py
    machineType: A100-80G
    timeoutSeconds: 7200
    model: {name: resnet50}
deployments:
  api:
    project: serving
    image: paperspace/fastapi-deployment:1.0
    machineType: A4000
    ports: [8000]
    replicas: 2
    model: train
    env: {MODE: prod, TOKEN: {secret: hfToken}}
    autoscaling:
      maxReplicas: 4
      metrics: [{metric: cpu, summary: average, value: 70}]
"""


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "stacks").mkdir(parents=True)
        self.git("init", "-q")

    def git(self, *args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args],
            cwd=self.root,
            check=True,
            capture_output=True,
        )

    def write(self, text: str, name: str = "dev") -> None:
        (self.root / "stacks" / f"{name}.yaml").write_text(text)

    def commit(self, text: str, name: str = "dev") -> None:
        self.write(text, name)
        self.git("add", "-A")
        self.git("commit", "-qm", "stack")

    def edit(self, old: str, new: str, name: str = "dev") -> None:
        path = self.root / "stacks" / f"{name}.yaml"
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))

    def plan(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gradient_provider", "plan", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def plan_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.plan("--format", "json", *args)
        assert result.returncode in (0, 2, 3), result.stdout + result.stderr
        return result.returncode, json.loads(result.stdout)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.commit(BASE)
    return repo


def _resource(document: dict[str, Any], section: str, key: str) -> dict[str, Any]:
    [stack] = document["stacks"]
    found: dict[str, Any] = next(r for r in stack["resources"] if r["section"] == section and r["key"] == key)
    return found


def _changes(resource: dict[str, Any]) -> dict[str, tuple[Any, Any, str, str]]:
    return {c["path"]: (c["old"], c["new"], c["policy"], c["risk"]) for c in resource["changes"]}


def test_no_change_exits_0(repo: Repo) -> None:
    code, document = repo.plan_json("--stack", "dev")
    assert code == 0 and document["exitCode"] == 0
    assert {r["action"] for r in document["stacks"][0]["resources"]} == {"unchanged"}
    assert repo.plan("--stack", "dev").stdout.startswith("### Gradient plan: `stacks/dev.yaml` (against `HEAD`)")
    assert "**No changes.**" in repo.plan("--stack", "dev").stdout


def test_only_safe_changes_exit_2_with_old_and_new_values(repo: Repo) -> None:
    repo.edit("replicas: 2", "replicas: 3")
    repo.edit("MODE: prod", "MODE: canary")
    code, document = repo.plan_json("--stack", "dev")
    assert code == 2
    api = _resource(document, "deployments", "api")
    assert (api["action"], api["risk"]) == ("update", "safe")
    assert _changes(api) == {"replicas": (2, 3, "in-place", "safe"), "env.MODE": ("prod", "canary", "in-place", "safe")}


def test_each_risk_class_and_action(repo: Repo) -> None:
    repo.edit("fastapi-deployment:1.0", "fastapi-deployment:1.1")  # restart
    code, document = repo.plan_json("--stack", "dev")
    assert code == 3 and _resource(document, "deployments", "api")["risk"] == "restart"

    repo.edit("command: python train.py", "command: python train.py --epochs 9")  # re-train
    repo.edit("    project: serving\n    image", "    project: research\n    image")  # downtime (replace)
    repo.edit("research: {name: Research}", "research: {name: Research Lab}")  # safe, in place
    text = (repo.root / "stacks" / "dev.yaml").read_text()
    repo.write(text.replace("  serving: {name: Serving}\n", ""))  # destroy
    code, document = repo.plan_json("--stack", "dev")
    assert code == 3
    actions = {(r["section"], r["key"]): (r["action"], r["risk"]) for r in document["stacks"][0]["resources"]}
    assert actions == {
        ("projects", "research"): ("update", "safe"),
        ("projects", "serving"): ("delete", "destroy"),
        ("experiments", "train"): ("new-run", "re-train"),
        ("deployments", "api"): ("replace", "downtime"),
    }
    assert document["stacks"][0]["risk"] == "destroy"
    assert _changes(_resource(document, "deployments", "api"))["project"] == (
        "serving",
        "research",
        "replace",
        "downtime",
    )


def test_created_resources_and_a_new_stack_file(repo: Repo) -> None:
    repo.write(BASE, name="staging")
    code, document = repo.plan_json("--stack", "staging")
    assert code == 3  # creating an experiment trains: re-train
    [stack] = document["stacks"]
    assert {(r["key"], r["action"], r["risk"]) for r in stack["resources"]} == {
        ("research", "create", "safe"),
        ("serving", "create", "safe"),
        ("train", "create", "re-train"),
        ("api", "create", "safe"),
    }
    api = _resource(document, "deployments", "api")
    assert _changes(api)["replicas"][:2] == (None, 2)


def test_nested_and_list_changes_are_shown_by_path(repo: Repo) -> None:
    repo.edit("maxReplicas: 4", "maxReplicas: 6")
    repo.edit("value: 70}", "value: 80}, {metric: memory, summary: average, value: 60}")
    repo.edit("ports: [8000]", "ports: [8000, 9000]")
    _, document = repo.plan_json("--stack", "dev")
    changes = _changes(_resource(document, "deployments", "api"))
    assert changes["autoscaling.maxReplicas"][:2] == (4, 6)
    assert changes["autoscaling.metrics[0].value"][:2] == (70, 80)
    assert changes["autoscaling.metrics[1]"][:2] == (None, {"metric": "memory", "summary": "average", "value": 60})
    assert changes["ports"][:2] == ([8000], [8000, 9000])
    ports = next(c for c in _resource(document, "deployments", "api")["changes"] if c["path"] == "ports")
    assert ports["note"] == "added 9000"
    assert list(changes) == sorted(
        changes,
        key=["ports", "autoscaling.maxReplicas", "autoscaling.metrics[0].value", "autoscaling.metrics[1]"].index,
    )  # table order, then path


def test_reordering_entries_is_no_change_and_an_explicit_default_is_none_either(repo: Repo) -> None:
    text = BASE.replace(
        "  research: {name: Research}\n  serving: {name: Serving}\n",
        "  serving: {name: Serving}\n  research: {name: Research}\n",
    )
    repo.write(text.replace("    replicas: 2\n", "    replicas: 2\n    enabled: true\n    wait: ready\n"))
    code, _ = repo.plan_json("--stack", "dev")
    assert code == 0


def test_a_renamed_key_is_flagged_as_destroying_the_object(repo: Repo) -> None:
    repo.edit("  api:\n", "  web:\n    name: api\n")
    code, document = repo.plan_json("--stack", "dev")
    assert code == 3
    web = _resource(document, "deployments", "web")
    assert web["action"] == "create" and web["risk"] == "destroy"
    assert "re-keyed from `api`" in web["notes"][0]
    assert "re-keyed to `web`" in _resource(document, "deployments", "api")["notes"][0]


def test_cost_arithmetic(repo: Repo) -> None:
    a4000, a100 = price_list().price("A4000"), price_list().price("A100-80G")
    assert a4000 is not None and a100 is not None
    repo.edit("replicas: 2", "replicas: 5")
    repo.edit("command: python train.py", "command: python train.py --lr 1")
    _, document = repo.plan_json("--stack", "dev")
    cost = document["stacks"][0]["cost"]
    assert cost["hourlyBefore"] == pytest.approx(2 * a4000) and cost["hourlyAfter"] == pytest.approx(5 * a4000)
    assert cost["hourlyDelta"] == pytest.approx(3 * a4000)
    assert cost["monthlyDelta"] == pytest.approx(3 * a4000 * 730)
    assert cost["retrainEstimate"] == pytest.approx(a100 * 2)  # timeoutSeconds 7200 = 2 h
    train = _resource(document, "experiments", "train")
    assert "assumes the run uses its whole timeoutSeconds (2 h)" in train["cost"]["notes"][0]
    markdown = repo.plan("--stack", "dev").stdout
    assert f"+${3 * a4000 * 730:,.2f}/month" in markdown and f"up to ${a100 * 2:,.2f}" in markdown
    repo.edit("    replicas: 5\n", "    replicas: 5\n    enabled: false\n")  # scaled to zero costs nothing
    _, document = repo.plan_json("--stack", "dev")
    assert document["stacks"][0]["cost"]["hourlyAfter"] == 0


def test_an_unpriced_machine_type_makes_the_cost_unknown_not_zero(repo: Repo) -> None:
    repo.edit("machineType: A4000", "machineType: C5")
    _, document = repo.plan_json("--stack", "dev")
    assert document["stacks"][0]["cost"]["hourlyAfter"] is None
    notes = _resource(document, "deployments", "api")["cost"]["notes"]
    assert "no price for machine type 'C5' in the price list" in notes
    assert "cost $1.52/h → unknown/h" in repo.plan("--stack", "dev").stdout


def test_secrets_are_shown_as_secret_and_credential_literals_are_flagged_never_printed(repo: Repo) -> None:
    leaked = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    repo.edit("TOKEN: {secret: hfToken}", f"TOKEN: {{secret: hfToken2}}, HF_TOKEN: {leaked}")
    for output in ("markdown", "json"):
        result = repo.plan("--stack", "dev", "--format", output)
        assert leaked not in result.stdout and leaked not in result.stderr
    _, document = repo.plan_json("--stack", "dev")
    changes = {c["path"]: c for c in _resource(document, "deployments", "api")["changes"]}
    assert changes["env.TOKEN"]["old"] == "(secret)" and changes["env.TOKEN"]["new"] == "(secret)"
    assert changes["env.TOKEN"]["note"] == "now read from secret config `hfToken2` instead of `hfToken`"
    assert changes["env.HF_TOKEN"]["new"] == "(redacted: looks like a credential)"
    assert document["stacks"][0]["warnings"] == [
        "deployments.api.env.HF_TOKEN: a literal that looks like a credential is in the stack file; use "
        "{secret: KEY} (Pulumi secret config) or secret:NAME (a Paperspace project secret) instead"
    ]
    assert "⚠️ deployments.api.env.HF_TOKEN" in repo.plan("--stack", "dev").stdout


def test_markdown_has_a_summary_line_a_table_and_collapsible_details(repo: Repo) -> None:
    repo.edit("replicas: 2", "replicas: 3")
    lines = repo.plan("--stack", "dev").stdout.splitlines()
    assert lines[2].startswith("**1 update in place** · risk: **safe** · cost $1.52/h → $2.28/h")
    assert "| deployment `api` | update in place | safe | $1.52 → $2.28 | +$554.80 | — |" in lines
    assert "<summary>deployments.api: update in place (safe)</summary>" in lines
    assert "| `replicas` | `2` | `3` | in-place | safe |" in lines
    assert lines[-1].startswith("<sub>Prices: https://www.paperspace.com/pricing, retrieved 2026-09-20")


def test_the_json_document_is_stable(repo: Repo) -> None:
    repo.edit("replicas: 2", "replicas: 3")
    first, second = repo.plan("--format", "json", "--stack", "dev"), repo.plan("--format", "json", "--stack", "dev")
    assert first.stdout == second.stdout
    document = json.loads(first.stdout)
    assert list(document) == ["version", "exitCode", "prices", "stacks"] and document["version"] == 1
    assert list(document["stacks"][0]["resources"][0]) == [
        "section",
        "key",
        "kind",
        "action",
        "risk",
        "changes",
        "cost",
        "notes",
    ]


def test_without_arguments_every_stack_is_planned_and_the_worst_exit_code_wins(repo: Repo) -> None:
    repo.commit("projects: {}\n", name="empty")
    repo.edit("replicas: 2", "replicas: 3")
    repo.write("projects:\n  p: {}\n", name="new")
    (repo.root / "stacks" / "empty.yaml").unlink()
    code, document = repo.plan_json()
    assert code == 2
    assert [s["file"] for s in document["stacks"]] == ["stacks/dev.yaml", "stacks/empty.yaml", "stacks/new.yaml"]
    assert [s["exitCode"] for s in document["stacks"]] == [2, 0, 2]


def test_a_base_revision_can_be_named(repo: Repo) -> None:
    repo.edit("replicas: 2", "replicas: 3")
    repo.git("commit", "-qam", "three replicas")
    assert repo.plan_json("--stack", "dev")[0] == 0
    code, document = repo.plan_json("--stack", "dev", "--base", "HEAD~1")
    assert code == 2 and document["stacks"][0]["base"] == "HEAD~1"


@pytest.mark.parametrize("side", ["working tree", "base"])
def test_a_broken_file_at_either_side_is_an_error_with_clean_messages(repo: Repo, side: str) -> None:
    broken = BASE.replace("replicas: 2", "replicas: two")
    if side == "base":
        repo.commit(broken)
        repo.write(BASE)
        expected = 'stacks/dev.yaml@HEAD:18: deployments.api.replicas: expected an integer, got a string "two"'
    else:
        repo.write(broken)
        expected = 'stacks/dev.yaml:18: deployments.api.replicas: expected an integer, got a string "two"'
    result = repo.plan("--stack", "dev")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [expected]
    assert "Traceback" not in result.stderr


def test_bad_revisions_and_non_repositories_are_clean_errors(repo: Repo, tmp_path: Path) -> None:
    result = repo.plan("--stack", "dev", "--base", "no-such-branch")
    assert result.returncode == 1 and "'no-such-branch' is not a commit" in result.stderr
    outside = tmp_path / "plain"
    (outside / "stacks").mkdir(parents=True)
    (outside / "stacks" / "dev.yaml").write_text(BASE)
    result = subprocess.run(
        [sys.executable, "-m", "gradient_provider", "plan", "--stack", "dev"],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "not inside a git repository" in result.stderr


def test_a_risk_that_depends_on_the_values_follows_them(repo: Repo) -> None:
    """`enabled: true -> false` stops serving (downtime); `false -> true` starts replicas, nothing stops."""
    repo.edit("    replicas: 2\n", "    replicas: 2\n    enabled: false\n")
    _, document = repo.plan_json("--stack", "dev")
    assert _changes(_resource(document, "deployments", "api"))["enabled"][2:] == ("in-place", "downtime")
    repo.commit((repo.root / "stacks" / "dev.yaml").read_text())
    repo.edit("    enabled: false\n", "    enabled: true\n")
    _, document = repo.plan_json("--stack", "dev")
    assert _changes(_resource(document, "deployments", "api"))["enabled"][2:] == ("in-place", "restart")


DATASETS = """\
datasets:
  shards: {}
  reports: {retainOnDelete: false}
"""
PIPELINE = """\
  pipeline:
    project: research
    machineType: A100-80G
    timeoutSeconds: 3600
    jobs:
      prepare:
        image: python:3.11
        command: python prepare.py
        machineType: A4000
        outputs: {shards: {dataset: shards}}
      train:
        image: pytorch/pytorch:2.3.0
        command: python train.py
        needs: [prepare]
        artifacts: {dataset: reports}
"""
WITH_JOBS = BASE.replace("experiments:\n", DATASETS + "experiments:\n" + PIPELINE, 1)


def test_a_job_change_is_shown_by_job_and_a_run_is_priced_by_its_jobs_machines(repo: Repo) -> None:
    repo.commit(WITH_JOBS)
    repo.edit("command: python train.py\n        needs", "command: python train.py --lr 1\n        needs")
    code, document = repo.plan_json("--stack", "dev")
    pipeline = _resource(document, "experiments", "pipeline")
    assert code == 3 and pipeline["action"] == "new-run" and pipeline["risk"] == "re-train"
    assert _changes(pipeline) == {
        "jobs.train.command": ("python train.py", "python train.py --lr 1", "new-run", "re-train")
    }
    a4000, a100 = price_list().price("A4000"), price_list().price("A100-80G")
    assert a4000 is not None and a100 is not None
    assert pipeline["cost"]["retrainEstimate"] == pytest.approx(a4000 + a100)  # one hour on each job's machine
    assert "each of its 2 job(s)" in pipeline["cost"]["notes"][0]


def test_deleting_a_dataset_that_may_hold_data_is_data_loss_only_when_it_is_not_retained(repo: Repo) -> None:
    repo.commit(WITH_JOBS)
    repo.edit(DATASETS, "")  # and no job uses either any more
    repo.edit("        artifacts: {dataset: reports}\n", "")
    repo.edit("        outputs: {shards: {dataset: shards}}\n", "")
    code, document = repo.plan_json("--stack", "dev")
    reports, shards = _resource(document, "datasets", "reports"), _resource(document, "datasets", "shards")
    assert (reports["action"], reports["risk"]) == ("delete", "data-loss")
    assert reports["notes"] == ["deletes the dataset and every version it holds (retainOnDelete: false)"]
    assert (shards["action"], shards["risk"]) == ("delete", "safe")
    assert "kept on Paperspace" in shards["notes"][0]
    assert code == 3 and document["stacks"][0]["risk"] == "data-loss"
