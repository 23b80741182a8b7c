"""`validate` refuses credential-looking literals (issue #12) with the `{secret: KEY}` fix, wherever they are in
the file, and never prints them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gradient_provider.credentials import REDACTED, scan
from gradient_provider.stack import load_stack, parse_stack
from gradient_provider.yaml_source import SourceError
from tests.review.test_credentials import TOKENS
from tests.support.emulator import REPO_ROOT

HEAD = "projects:\n  research: {}\ndeployments:\n  api:\n    project: research\n    image: x\n    machineType: C4\n"
EXPERIMENT = "experiments:\n  train:\n    project: research\n    image: x\n    machineType: A4000\n"


def _problems(text: str) -> list[str]:
    with pytest.raises(SourceError) as failure:
        parse_stack("stack.yaml", text)
    return [str(problem) for problem in failure.value.problems]


PLACES = {  # where a token goes (at @), and where the problem is reported
    "an env value": (HEAD + "    env: {MODE: '@'}\n", "stack.yaml:8: deployments.api.env.MODE: "),
    "a deployment command": (HEAD + "    command: [serve, '@']\n", "stack.yaml:8: deployments.api.command[1]: "),
    "an experiment command": (
        "projects: {research: {}}\n" + EXPERIMENT + "    command: 'python train.py --model @'\n",
        "stack.yaml:7: experiments.train.command: ",
    ),
    "a workspace URL": (
        "projects: {research: {}}\n" + EXPERIMENT + "    command: c\n    workspace: {url: 'https://x/@'}\n",
        "stack.yaml:8: experiments.train.workspace.url: ",
    ),
    "a header": (
        HEAD + "    healthChecks:\n      readiness:\n        path: /\n        headers: [{name: X, value: '@'}]\n",
        "stack.yaml:11: deployments.api.healthChecks.readiness.headers[0].value: ",
    ),
    "a comment": (HEAD + "    replicas: 2  # was @\n", "stack.yaml:8: (comment): "),
    "a comment line": (HEAD + "# @\n    replicas: 2\n", "stack.yaml:8: (comment): "),
}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_a_token_anywhere_is_refused_at_its_line_without_its_value(kind: str, place: str) -> None:
    template, where = PLACES[place]
    token = TOKENS[kind]
    problems = _problems(template.replace("@", token))
    assert len(problems) == 1 and problems[0].startswith(where), problems
    assert token not in problems[0] and "{secret: " in problems[0]
    if place.startswith("a comment"):
        assert problems[0].endswith(
            f"a comment holds what looks like a credential ({scan(token)[0].kind}); a stack file is committed: "
            "remove it and keep the value in secret config (`{secret: KEY}`)"
        )


def test_the_message_for_an_env_value_says_how_to_fix_it() -> None:
    assert _problems(HEAD + f"    env: {{HF_TOKEN: {TOKENS['a Hugging Face token']}}}\n") == [
        "stack.yaml:8: deployments.api.env.HF_TOKEN: a literal that looks like a credential (its name says secret); "
        "a stack file is committed: write `HF_TOKEN: {secret: hfToken}` and set it with `pulumi config set --secret "
        "hfToken <value>` (or use `secret:NAME`, a Paperspace project secret)"
    ]
    assert _problems(HEAD + f"    command: [serve, --token, {TOKENS['a GitHub token']}]\n") == [
        "stack.yaml:8: deployments.api.command[2]: holds what looks like a credential (a GitHub token); a stack file "
        "is committed: keep it in secret config (`pulumi config set --secret KEY <value>`), pass it as an env variable "
        "`{secret: KEY}` and refer to that variable instead"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PASSWORD", "a"),
        ("API_KEY", "k"),
        ("DB_PASSWORD", "'1'"),
        ("MY_SECRET", "s3-canary"),
        ("HF_TOKEN", "t0-canary"),
        ("WANDB_API_KEY", "'0123'"),
        ("SSH_KEY", "/root/.ssh/id-canary"),
    ],
)
def test_a_name_that_says_secret_refuses_a_literal_of_any_length(name: str, value: str) -> None:
    [problem] = _problems(HEAD + f"    env: {{{name}: {value}}}\n")
    assert problem.startswith(f"stack.yaml:8: deployments.api.env.{name}: a literal that looks like a credential")
    assert "canary" not in problem


def test_references_empty_values_and_ordinary_settings_pass() -> None:
    env = (
        "    env:\n      HF_TOKEN: secret:HF_TOKEN\n      API_KEY: {secret: apiKey}\n      PASSWORD: ''\n"
        "      TOKENIZERS_PARALLELISM: 'false'\n      MAX_TOKENS: '512'\n"
        "      GIT_SHA: 3f2a9c1e5b7d8f0a1c2e3f4a5b6c7d8e9f0a1b2c\n"
        "    command: [serve, --token, $HF_TOKEN, --model, TheBloke/Llama-2-13B-chat-GPTQ-4bit-128g]\n"
        "    # the key is read with: pulumi config set --secret apiKey ...\n"
    )
    stack = parse_stack("stack.yaml", HEAD + env)
    assert stack.secret_keys == ["apiKey"]


def test_the_repository_stacks_have_no_credential_literal() -> None:
    for path in sorted((REPO_ROOT / "stacks").glob("*.yaml")):
        load_stack(path)


def test_the_plan_can_read_a_file_with_one() -> None:
    text = HEAD + "    env: {PASSWORD: hunter2}\n"
    stack = parse_stack("stack.yaml", text, credentials=False)
    assert stack.section("deployments")["api"].inputs["env"] == {"PASSWORD": "hunter2"}


def test_schema_messages_never_quote_a_credential_either() -> None:
    token = TOKENS["a GitHub token"]
    long_name = f"{token} {'x' * 100}"  # over the 128 characters a name may have
    problems = _problems(
        f"projects:\n  research: {{name: '{long_name}'}}\n" + HEAD.split("\n", 2)[2] + f"    replicas: {{a: {token}}}\n"
    )
    assert problems == [
        "stack.yaml:2: projects.research.name: a string (redacted: looks like a credential) is too long",
        "stack.yaml:2: projects.research.name: holds what looks like a credential (a GitHub token); a stack file is "
        "committed: keep it in secret config (`pulumi config set --secret KEY <value>`), pass it as an env variable "
        "`{secret: KEY}` and refer to that variable instead",
        "stack.yaml:8: deployments.api.replicas: expected an integer, got a mapping",
        "stack.yaml:8: deployments.api.replicas.a: holds what looks like a credential (a GitHub token); a stack file "
        "is committed: keep it in secret config (`pulumi config set --secret KEY <value>`), pass it as an env "
        "variable `{secret: KEY}` and refer to that variable instead",
    ]
    problems = _problems(HEAD + "    env: {PASSWORD: 12345}\n")
    assert problems[0] == (
        "stack.yaml:8: deployments.api.env.PASSWORD: expected a string, or {secret: CONFIG_KEY}, got an integer"
    )


def test_a_key_that_starts_with_a_token_is_masked_in_every_problem_path() -> None:
    token = TOKENS["a Hugging Face token"]
    problems = _problems(f"projects:\n  research: {{}}\n  {token}train: {{nam: x}}\n")
    assert problems == [
        f"stack.yaml:3: projects.{REDACTED}: a key here looks like a credential (a Hugging Face token); a stack file "
        "is committed: rename it",
        f"stack.yaml:3: projects.{REDACTED}.nam: unknown field; did you mean 'name'? expected one of: adopt, name",
    ]


def test_validate_cli_refuses_a_pasted_token_and_never_prints_it(tmp_path: Path) -> None:
    token = TOKENS["a Hugging Face token"]
    path = tmp_path / "stack.yaml"
    path.write_text(HEAD + f"    env: {{HF_TOKEN: {token}}}\n")
    result = subprocess.run(
        [sys.executable, "-m", "gradient_provider", "validate", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout.startswith(f"{path}:8: deployments.api.env.HF_TOKEN: a literal that looks like a credential")
    assert token not in result.stdout + result.stderr
