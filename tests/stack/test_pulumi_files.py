"""Pulumi's own files, checked by the rules the Pulumi CLI applies when it loads them.

The CLI cannot be installed here. Its schema for `Pulumi.yaml` (pulumi/pulumi `project.json`, kept beside the
repository in ../shared/reference) is the authority: every project file in the corpus is judged by it, and
`gradient_provider.pulumi_files` must agree, adding only the `Project.Validate` rules a schema cannot say and
the attributes Pulumi silently ignores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from gradient_provider.pulumi_files import check_file, check_project, check_stack
from gradient_provider.yaml_source import load
from tests.support.emulator import REPO_ROOT

REFERENCE_SCHEMA = Path(
    os.environ.get("PULUMI_PROJECT_SCHEMA", REPO_ROOT.parent / "shared" / "reference" / "pulumi-project.schema.json")
)

# The Pulumi.yaml this repository had before it was checked: the real CLI refuses it at once.
OLD_PROJECT = """\
name: gradient-stacks
runtime:
  name: python
  options:
    toolchain: uv
    virtualenv: .venv
config:
  gradient:apiUrl:
    type: string
    description: Paperspace API base URL
"""

GOOD_PROJECT = """\
name: gradient-stacks
runtime: {name: python, options: {toolchain: pip, virtualenv: .venv}}
"""


def _reference() -> Draft202012Validator:
    if not REFERENCE_SCHEMA.exists():
        pytest.fail(f"Pulumi's project schema is not at {REFERENCE_SCHEMA} (set PULUMI_PROJECT_SCHEMA to it)")
    return Draft202012Validator(json.loads(REFERENCE_SCHEMA.read_text()))


def _ours(text: str) -> list[str]:
    return [str(problem) for problem in check_project(load("Pulumi.yaml", text))]


def _schema_accepts(text: str) -> bool:
    return not list(_reference().iter_errors(yaml.safe_load(text)))


# name -> (project file, the messages we give, whom the problem comes from)
#   "schema": Pulumi's JSON Schema rejects it (the reference must too)
#   "validate": Project.Validate or the name/runtime checks reject it (the schema accepts it)
#   "ignored": Pulumi accepts it and silently ignores the line; we report it
CORPUS: dict[str, tuple[str, list[str], str]] = {
    "foreign key with a type (the old file)": (
        OLD_PROJECT,
        [
            "Pulumi.yaml:8: config.gradient:apiUrl: Configuration key 'gradient:apiUrl' is not namespaced by the "
            "project and should not define a type"
        ],
        "validate",
    ),
    "foreign key without a value": (
        GOOD_PROJECT + "config:\n  gradient:apiUrl:\n    description: the URL\n",
        [
            "Pulumi.yaml:4: config.gradient:apiUrl: Configuration key 'gradient:apiUrl' is namespaced and must "
            "provide an attribute 'value'"
        ],
        "validate",
    ),
    "foreign key with a default": (
        GOOD_PROJECT + "config:\n  aws:region:\n    default: us-east-1\n",
        [
            "Pulumi.yaml:4: config.aws:region: Configuration key 'aws:region' is not namespaced by the project and "
            "should not define a default value. Did you mean to use the 'value' attribute instead of 'default'?"
        ],
        "validate",
    ),
    "default and value": (
        GOOD_PROJECT + "config:\n  size:\n    default: 1\n    value: 2\n",
        ["Pulumi.yaml:4: config.size: project config 'size' cannot have both a 'default' and 'value' attribute"],
        "validate",
    ),
    "array without items": (
        GOOD_PROJECT + "config:\n  gradient-stacks:zones:\n    type: array\n",
        [
            "Pulumi.yaml:4: config.gradient-stacks:zones: The configuration key 'gradient-stacks:zones' declares an "
            "array but does not specify the underlying type via the 'items' attribute"
        ],
        "validate",
    ),
    "default of the wrong type": (
        GOOD_PROJECT + "config:\n  replicas:\n    type: integer\n    default: many\n",
        [
            "Pulumi.yaml:6: config.replicas.default: The default value specified for configuration key 'replicas' is "
            "not of the expected type 'integer'"
        ],
        "validate",
    ),
    "unknown declaration attribute": (
        GOOD_PROJECT + "config:\n  replicas:\n    Type: integer\n",
        [
            "Pulumi.yaml:5: config.replicas.Type: not allowed; the allowed attributes are type, items, description, "
            "secret, default, value"
        ],
        "schema",
    ),
    "a number type": (
        GOOD_PROJECT + "config:\n  ratio:\n    type: number\n",
        ["Pulumi.yaml:5: config.ratio.type: expected one of string, integer, boolean, array, object"],
        "schema",
    ),
    "a float shorthand": (
        GOOD_PROJECT + "config:\n  ratio: 0.5\n",
        ["Pulumi.yaml:4: config.ratio: expected a string, integer, boolean, list or declaration, got 0.5"],
        "schema",
    ),
    "no name": (
        "Name: x\nruntime: python\n",
        [
            "Pulumi.yaml:1: (file): project is missing a 'name' attribute; found 'Name' instead",
            "Pulumi.yaml:1: Name: not a Pulumi.yaml attribute (Pulumi ignores it); did you mean 'name'?",
        ],
        "schema",
    ),
    "runtime with an unknown attribute": (
        "name: x\nruntime:\n  name: python\n  toolchain: pip\n",
        ["Pulumi.yaml:2: runtime: runtime section must be a string or an object with name and options attributes"],
        "schema",
    ),
    "backend with a typo": (
        GOOD_PROJECT + "backend:\n  uri: file://.\n",
        ["Pulumi.yaml:4: backend.uri: 'uri' not allowed; the only allowed attribute is 'url'"],
        "schema",
    ),
    "main of the wrong type": (
        GOOD_PROJECT + "main: [a]\n",
        ["Pulumi.yaml:3: main: expected string or null, but got array"],
        "schema",
    ),
    "a name Pulumi's backends refuse": (
        "name: gradient stacks\nruntime: python\n",
        [
            "Pulumi.yaml:1: name: project names may only contain alphanumerics, hyphens, underscores, and periods",
        ],
        "validate",
    ),
    "an unknown python toolchain": (
        "name: x\nruntime: {name: python, options: {toolchain: conda}}\n",
        ["Pulumi.yaml:2: runtime.options.toolchain: expected one of pip, poetry, uv"],
        "validate",
    ),
    "a misspelt attribute": (
        GOOD_PROJECT + "confg:\n  a: b\n",
        ["Pulumi.yaml:3: confg: not a Pulumi.yaml attribute (Pulumi ignores it); did you mean 'config'?"],
        "ignored",
    ),
}

VALID_PROJECTS = {
    "the minimum": GOOD_PROJECT,
    "a string runtime": "name: x\nruntime: python\n",
    "project keys with types and defaults": GOOD_PROJECT
    + "config:\n  replicas: {type: integer, default: 2}\n  zones: {type: array, items: {type: string}, default: [a]}\n"
    "  gradient-stacks:flag: {type: boolean, default: true, description: d, secret: false}\n",
    "a foreign key with a value and shorthands": GOOD_PROJECT
    + "config:\n  gradient:apiUrl: {value: 'http://127.0.0.1:8787/v1', description: emulator}\n"
    "  aws:region: us-east-1\n  size: 3\n",
    "options and backend": GOOD_PROJECT + "backend: {url: 'file://.'}\noptions: {refresh: always}\n",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_broken_project_file_gets_pulumis_message_at_its_line(name: str) -> None:
    text, expected, source = CORPUS[name]
    assert _ours(text) == expected
    # Tie the rules to Pulumi's own schema: what it rejects, it rejects; what only Validate rejects, it accepts.
    assert _schema_accepts(text) is (source != "schema"), f"Pulumi's schema disagrees on {name!r}"


@pytest.mark.parametrize("name", sorted(VALID_PROJECTS))
def test_valid_project_files_pass_both_checks(name: str) -> None:
    assert _ours(VALID_PROJECTS[name]) == []
    assert _schema_accepts(VALID_PROJECTS[name])


def test_every_pulumi_file_in_the_repository_is_valid() -> None:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert list(_reference().iter_errors(project)) == []
    stack_files = sorted(REPO_ROOT.glob("Pulumi.*.yaml"))
    assert [p.name for p in stack_files] == ["Pulumi.dev.yaml"]
    for path in [REPO_ROOT / "Pulumi.yaml", *stack_files]:
        assert check_file(path) == [], path
    # The toolchain needs nothing on PATH: the pip toolchain runs the venv's python, which must have pip.
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": ".venv"}


def _stack(text: str, declared: dict[str, Any] | None = None) -> list[str]:
    located = load("Pulumi.dev.yaml", text)
    return [str(p) for p in check_stack(located, "dev", "gradient-stacks", declared or {})]


def test_stack_files_have_only_pulumis_attributes() -> None:
    assert _stack("Config:\n  gradient:apiUrl: http://x\n") == [
        "Pulumi.dev.yaml:1: Config: not a stack file attribute (Pulumi ignores it); did you mean 'config'?"
    ]
    assert _stack("secretsprovider: passphrase\nencryptionsalt: v1:abc\nconfig: {}\n") == []


def test_a_plain_text_api_key_is_refused_without_showing_it() -> None:
    problems = _stack("config:\n  gradient:apiKey: ps_live_0123456789abcdef\n")
    assert problems == [
        "Pulumi.dev.yaml:2: config.gradient:apiKey: must be a secret "
        "(`pulumi config set --secret gradient:apiKey ...`), not plain text"
    ]
    assert _stack("config:\n  gradient:apiKey:\n    secure: v1:AAAABBBB\n") == []


def test_provider_settings_are_checked_by_name_and_value() -> None:
    assert _stack("config:\n  gradient:apiUrl: 127.0.0.1:8787\n  gradient:pollIntervalSeconds: soon\n") == [
        "Pulumi.dev.yaml:2: config.gradient:apiUrl: must be an http:// or https:// URL, got '127.0.0.1:8787'",
        "Pulumi.dev.yaml:3: config.gradient:pollIntervalSeconds: must be a positive number of seconds, got 'soon'",
    ]
    assert _stack("config:\n  gradient:apiURL: http://x\n") == [
        "Pulumi.dev.yaml:2: config.gradient:apiURL: the gradient provider has no setting 'gradient:apiURL'; did you "
        "mean 'gradient:apiUrl'?"
    ]
    assert (
        _stack("config:\n  gradient:pollIntervalSeconds: 0.5\n  gradient:apiUrl: https://api.paperspace.com/v1\n") == []
    )


def test_the_workspace_bucket_settings_are_known_and_its_secret_key_is_secure_only() -> None:
    """The settings docs/experiments.md tells a local workspace to set: accepted; the secret key never in plain
    text (nor shown back)."""
    settings = (
        "config:\n  gradient:workspaceBucket: my-bucket\n  gradient:workspaceEndpoint: http://127.0.0.1:9000\n"
        "  gradient:workspaceRegion: us-east-1\n  gradient:workspaceAccessKeyId: AKIDEXAMPLE\n"
        "  gradient:workspaceSecretAccessKey: {secure: v1:AAAA}\n"
    )
    assert _stack(settings) == []
    problems = _stack("config:\n  gradient:workspaceSecretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    assert problems == [
        "Pulumi.dev.yaml:2: config.gradient:workspaceSecretAccessKey: must be a secret "
        "(`pulumi config set --secret gradient:workspaceSecretAccessKey ...`), not plain text"
    ]
    assert _stack("config:\n  gradient:workspaceEndpoint: minio:9000\n") == [
        "Pulumi.dev.yaml:2: config.gradient:workspaceEndpoint: must be an http:// or https:// URL, got 'minio:9000'"
    ]


def test_stack_values_follow_the_projects_typed_declarations() -> None:
    declared = {"replicas": {"type": "integer"}, "token": {"type": "string", "secret": True}, "zone": "a"}
    assert _stack("config:\n  gradient-stacks:replicas: '3'\n  token: {secure: v1:x}\n", declared) == []
    assert _stack("config:\n  gradient-stacks:replicas: many\n  token: plain\n", declared) == [
        "Pulumi.dev.yaml:2: config.gradient-stacks:replicas: Stack 'dev' with configuration key "
        "'gradient-stacks:replicas' must be of type 'integer'",
        "Pulumi.dev.yaml:3: config.token: Stack 'dev' with configuration key 'gradient-stacks:token' must be "
        "encrypted as it's secret",
    ]
    assert _stack("config: {}\n", {"replicas": {"type": "integer"}}) == [
        "Pulumi.dev.yaml:1: config: Stack 'dev' is missing configuration value 'gradient-stacks:replicas'"
    ]


def test_validate_checks_the_pulumi_files_too(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "dev.yaml").write_text("projects: {}\n")
    (tmp_path / "Pulumi.yaml").write_text(OLD_PROJECT)
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  gradient:apiKey: pasted-key-value\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "gradient_provider", "validate"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "Pulumi.yaml:8: config.gradient:apiUrl: Configuration key 'gradient:apiUrl' is not namespaced by the project "
        "and should not define a type",
        "Pulumi.dev.yaml:2: config.gradient:apiKey: must be a secret (`pulumi config set --secret gradient:apiKey "
        "...`), not plain text",
    ]
    assert "pasted-key-value" not in run.stdout + run.stderr and "Traceback" not in run.stderr
