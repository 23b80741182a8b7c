"""`plan` never prints a credential-looking literal (issue #12): not in a create row (whole objects), a list, a
nested object, a `command` string, a note, a key or the JSON document; on either side of a change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradient_provider.credentials import REDACTED
from gradient_provider.review.plan import StackPlan, plan_stack
from gradient_provider.review.render import to_json, to_markdown
from gradient_provider.stack import StackFile, parse_stack
from tests.review.test_credentials import TOKENS
from tests.review.test_plan import BASE, Repo, _changes, _resource

PASSWORD = "hunter2-canary"
GITHUB, HF, AWS = TOKENS["a GitHub token"], TOKENS["a Hugging Face token"], TOKENS["an AWS access key id"]
SECRETS = [GITHUB, HF, AWS, PASSWORD, "k3y-canary", "s3cr3t-canary", "pw-canary"]
LEAKY = BASE.replace(
    "    env: {MODE: prod, TOKEN: {secret: hfToken}}\n",
    f"    env: {{MODE: prod, TOKEN: {{secret: hfToken}}, DB_PASSWORD: {PASSWORD}, AWS_ID: {AWS}}}\n"
    f"    command: [serve, --api-key, k3y-canary, '--hf-token={HF}']\n"
    "    healthChecks:\n      readiness:\n        path: /healthz\n"
    f"        headers: [{{name: Authorization, value: 'Bearer {GITHUB}'}},\n"
    "                  {name: X-Api-Key, value: s3cr3t-canary}]\n",
).replace(
    "    command: python train.py\n",
    f"    command: 'HF_TOKEN={HF} python train.py --password pw-canary'\n"
    f"    workspace: {{url: 'https://bot:{GITHUB}@github.com/acme/repo.git'}}\n"
    f"    datasets: [{{name: data, ref: {AWS}}}]\n",
)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.commit(BASE)
    return repo


def _rendered(plan: StackPlan) -> str:
    return to_json([plan], plan.exit_code) + to_markdown([plan])


def _assert_hidden(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def _plan(old: str | None, new: str) -> StackPlan:
    before = parse_stack("old.yaml", old, credentials=False) if old is not None else StackFile("old.yaml")
    return plan_stack("stacks/dev.yaml", "HEAD", before, parse_stack("stacks/dev.yaml", new, credentials=False))


def test_create_rows_show_whole_objects_with_each_credential_redacted() -> None:
    plan = _plan(None, LEAKY)
    text = _rendered(plan)
    _assert_hidden(text)
    document = json.loads(to_json([plan], plan.exit_code))
    api = _changes(_resource(document, "deployments", "api"))
    assert api["env"][1] == {"MODE": "prod", "TOKEN": "(secret)", "DB_PASSWORD": REDACTED, "AWS_ID": REDACTED}
    assert api["command"][1] == ["serve", "--api-key", REDACTED, f"--hf-token={REDACTED}"]
    assert api["healthChecks"][1]["readiness"]["headers"] == [
        {"name": "Authorization", "value": REDACTED},  # a header named like a secret: the whole value
        {"name": "X-Api-Key", "value": REDACTED},
    ]
    train = _changes(_resource(document, "experiments", "train"))
    assert train["command"][1] == f"HF_TOKEN={REDACTED} python train.py --password {REDACTED}"
    assert train["workspace"][1] == {"url": f"https://{REDACTED}@github.com/acme/repo.git"}
    assert train["datasets"][1] == [{"name": "data", "ref": REDACTED}]
    assert "MODE" in text and "prod" in text and "serve" in text  # everything else is shown


def test_updates_hide_both_sides_in_values_lists_and_notes() -> None:
    rotated = LEAKY.replace(PASSWORD, "hunter3-canary").replace("k3y-canary", "k4y-canary")
    plan = _plan(LEAKY, rotated.replace("ports: [8000]", "ports: [8000, 9000]"))
    text = _rendered(plan)
    _assert_hidden(text)
    assert "hunter3-canary" not in text and "k4y-canary" not in text
    document = json.loads(to_json([plan], plan.exit_code))
    changes = {c["path"]: c for c in _resource(document, "deployments", "api")["changes"]}
    assert (changes["env.DB_PASSWORD"]["old"], changes["env.DB_PASSWORD"]["new"]) == (REDACTED, REDACTED)
    assert changes["command"]["note"] == "changed (values redacted)"
    assert changes["ports"]["note"] == "added 9000"


def test_a_credential_removed_from_the_stack_is_reviewable_and_hidden_on_the_old_side() -> None:
    plan = _plan(LEAKY, BASE)
    assert plan.exit_code in (2, 3) and plan.warnings == []
    _assert_hidden(_rendered(plan))


def test_warnings_name_every_credential_path_without_the_value() -> None:
    plan = _plan(None, LEAKY)
    assert [w.split(":")[0] for w in plan.warnings] == [
        "deployments.api.command[2]",
        "deployments.api.command[3]",
        "deployments.api.env.AWS_ID",
        "deployments.api.env.DB_PASSWORD",
        "deployments.api.healthChecks.readiness.headers[0].value",
        "deployments.api.healthChecks.readiness.headers[1].value",
        "experiments.train.command",
        "experiments.train.datasets[0].ref",
        "experiments.train.workspace.url",
    ]


def test_keys_and_notes_that_hold_a_token_are_masked() -> None:
    text = BASE.replace("    env: {MODE: prod, TOKEN: {secret: hfToken}}\n", f"    env: {{{GITHUB}: '1'}}\n")
    text = text.replace("machineType: A4000", f"machineType: {HF}")
    plan = _plan(BASE, text)
    rendered = _rendered(plan)
    _assert_hidden(rendered)
    assert f"env.{REDACTED}" in rendered and f"no price for machine type '{REDACTED}'" in rendered


def test_plan_cli_never_prints_them_in_either_format(repo: Repo) -> None:
    repo.write(LEAKY, name="staging")  # a new stack file: every resource is a create row
    repo.edit("replicas: 2", "replicas: 3")
    repo.edit("command: python train.py", f"command: python train.py --token {GITHUB}")
    for output in ("markdown", "json"):
        result = repo.plan("--format", output)
        assert result.returncode in (2, 3), result.stdout + result.stderr
        _assert_hidden(result.stdout + result.stderr)


def test_an_experiment_model_change_is_a_new_run_not_a_crash() -> None:
    plan = _plan(BASE, BASE.replace("model: {name: resnet50}", "model: {name: resnet101}"))
    [train] = [r for r in plan.resources if r.key == "train"]
    assert (train.action, train.risk) == ("new-run", "re-train")
    assert [(c.path, c.old, c.new) for c in train.changes] == [("model.name", "resnet50", "resnet101")]


def test_a_base_that_is_not_utf8_or_too_big_is_a_clean_error(repo: Repo) -> None:
    path = repo.root / "stacks" / "dev.yaml"
    path.write_bytes(b"projects: {}\n# \xff\n")
    repo.git("commit", "-qam", "not UTF-8")
    repo.write(BASE)
    result = repo.plan("--stack", "dev")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout == "stacks/dev.yaml@HEAD:2: (file): not UTF-8: byte 0xff at offset 15 (invalid start byte)\n"
    path.write_bytes(b"projects: {}\n" + b"#" * (2 * 2**20))
    repo.git("commit", "-qam", "too big")
    repo.write(BASE)
    result = repo.plan("--stack", "dev")
    assert result.returncode == 1
    assert result.stdout == (
        "stacks/dev.yaml@HEAD:1: (file): the file is 1,048,577 bytes or more; a stack file may have at most "
        "1,048,576 bytes (1 MiB)\n"
    )
