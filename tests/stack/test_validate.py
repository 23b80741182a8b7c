"""Stack files: valid examples, a corpus of broken files with their exact messages, and the validate CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from gradient_provider.stack import SecretRef, load_stack, parse_stack
from gradient_provider.stack_schema import render
from gradient_provider.yaml_source import PARSER, SourceError
from tests.support.emulator import REPO_ROOT

GOOD = """\
projects:
  research: {name: Research}
experiments:
  train:
    project: research
    image: pytorch/pytorch:2.3.0
    command: python train.py
    machineType: A100-80G
    model: {name: resnet50}
deployments:
  api:
    project: research
    image: paperspace/fastapi-deployment:latest
    machineType: C4
    ports: [8000]
    replicas: 2
    model: train
    env: {HF_TOKEN: {secret: hfToken}, MODE: prod}
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(SourceError) as failure:
        parse_stack("stack.yaml", text)
    return [str(problem) for problem in failure.value.problems]


def test_a_good_file_gives_typed_declarations_with_references() -> None:
    stack = parse_stack("stack.yaml", GOOD)
    assert stack.section("projects")["research"].inputs == {"name": "Research"}
    train = stack.section("experiments")["train"]
    assert train.references == {"project": "research"} and train.inputs["name"] == "train"  # name: the key
    assert train.inputs["model"] == {"name": "resnet50"}, "an experiment's model is its own field, no reference"
    api = stack.section("deployments")["api"]
    assert (api.references, api.line) == ({"model": "train", "project": "research"}, 11)
    assert api.inputs["env"] == {"HF_TOKEN": SecretRef("hfToken"), "MODE": "prod"}
    assert "project" not in api.inputs and "model" not in api.inputs
    assert stack.secret_keys == ["hfToken"]


BROKEN = {
    "syntax": ("projects:\n  a: [1, 2\n", None),
    "unknown top-level key": (
        "project:\n  a: {}\n",
        [
            "stack.yaml:1: project: unknown field; did you mean 'projects'? expected one of: datasets, deployments, "
            "experiments, policy, projects"
        ],
    ),
    "unknown field with a suggestion": (
        GOOD.replace("    replicas: 2\n", "    replica: 2\n"),
        [
            "stack.yaml:16: deployments.api.replica: unknown field; did you mean 'replicas'? expected one of: "
            "adopt, autoscaling, command, containerRegistry, enabled, env, healthChecks, image, machineType, model, "
            "modelId, name, ports, project, region, replicas, rollback, timeoutSeconds, wait"
        ],
    ),
    "wrong type": (
        GOOD.replace("replicas: 2", "replicas: two"),
        ['stack.yaml:16: deployments.api.replicas: expected an integer, got a string "two"'],
    ),
    "wrong enum value": (
        GOOD.replace("    replicas: 2\n", "    replicas: 2\n    wait: forever\n"),
        ['stack.yaml:17: deployments.api.wait: expected one of "ready", "applied", "none", got a string "forever"'],
    ),
    "out of range": (
        GOOD.replace("ports: [8000]", "ports: [8000, 70000]"),
        ["stack.yaml:15: deployments.api.ports[1]: 70000 is greater than the maximum of 65535"],
    ),
    "bad project reference": (
        GOOD.replace("    project: research\n    image: pytorch", "    project: reserch\n    image: pytorch"),
        [
            "stack.yaml:5: experiments.train.project: refers to 'reserch', which is not one of the projects: research; "
            "did you mean 'research'?"
        ],
    ),
    "model reference to an experiment without a model": (
        GOOD.replace("    model: {name: resnet50}\n", ""),
        ["stack.yaml:16: deployments.api.model: experiment 'train' registers no model; give it `model: {name: ...}`"],
    ),
    "duplicate key": (
        GOOD + "  api:\n    project: research\n",
        ["stack.yaml:19: deployments.api: duplicate key 'api' (first defined on line 11)"],
    ),
    "missing required fields": (
        "projects:\n  r: {}\ndeployments:\n  api:\n    project: r\n    ports: [80]\n",
        ["stack.yaml:4: deployments.api.image: is required", "stack.yaml:4: deployments.api.machineType: is required"],
    ),
    "a list instead of a mapping": (
        "- projects\n- deployments\n",
        ["stack.yaml:1: (file): expected a mapping with projects, experiments and deployments, got a list"],
    ),
    "a scalar document": (
        "just words\n",
        ["stack.yaml:1: (file): expected a mapping with projects, experiments and deployments, got a str"],
    ),
    "an empty file": (
        "# nothing\n",
        ["stack.yaml:1: (file): the stack file is empty; an empty stack is written `projects: {}`"],
    ),
    "a bad env value": (
        GOOD.replace("{secret: hfToken}", "{secrt: hfToken}"),
        ["stack.yaml:18: deployments.api.env.HF_TOKEN: expected a string, or {secret: CONFIG_KEY}"],
    ),
    "model and modelId together": (
        GOOD.replace("    model: train\n", "    model: train\n    modelId: mo123\n"),
        ["stack.yaml:11: deployments.api: expected only one of `model` and `modelId`"],
    ),
    "two deployments with one name in a project": (
        GOOD + "  api2:\n    name: api\n    project: research\n    image: x\n    machineType: C4\n",
        [
            "stack.yaml:19: deployments.api2: name 'api' is already used by deployments.api in project 'research'; "
            "names must be unique within a project"
        ],
    ),
    "a key that is not a name": (
        "projects:\n  my project: {}\n",
        [
            "stack.yaml:2: projects.my project: a key must start with a letter and hold only letters, digits, '_' "
            "and '-'"
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_file_names_file_line_path_and_expectation(case: str) -> None:
    text, expected = BROKEN[case]
    problems = _problems(text)
    if expected is None:  # a syntax error: the parser's wording, the line where it gave up, where it began
        wording = {
            yaml.CSafeLoader: "did not find expected ',' or ']'",
            yaml.SafeLoader: "expected ',' or ']', but got '<stream end>'",
        }[PARSER]
        assert problems == [
            f"stack.yaml:3: (syntax): invalid YAML: {wording} (while parsing a flow sequence started on line 2)"
        ]
    else:
        assert problems == expected


def test_all_problems_of_a_file_are_reported_at_once_in_line_order() -> None:
    text = GOOD.replace("replicas: 2", "replicas: -1").replace("machineType: A100-80G", "machineType: 5")
    problems = _problems(text)
    assert [p.split(":")[1] for p in problems] == ["8", "16"]


def test_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as failure:
        load_stack(tmp_path / "stacks" / "nope.yaml")
    assert str(failure.value) == f"{tmp_path}/stacks/nope.yaml:1: (file): no such stack file"


def test_the_example_stacks_and_a_large_generated_one_validate(tmp_path: Path) -> None:
    for name in ("dev", "prod"):
        stack = load_stack(REPO_ROOT / "stacks" / f"{name}.yaml")
        assert all(stack.section(kind) for kind in ("projects", "experiments", "deployments"))
    large = {
        "projects": {f"p{i}": {} for i in range(50)},
        "experiments": {
            f"e{i}": {
                "project": f"p{i % 50}",
                "image": "x",
                "command": "train",
                "machineType": "A4000",
                "model": {"name": f"m{i}"},
            }
            for i in range(300)
        },
        "deployments": {
            f"d{i}": {
                "project": f"p{i % 50}",
                "image": "x",
                "machineType": "C4",
                "model": f"e{i % 300}",
                "env": {"A": "1", "B": {"secret": "b"}},
            }
            for i in range(1000)
        },
    }
    path = tmp_path / "large.yaml"
    path.write_text(yaml.safe_dump(large))
    stack = load_stack(path)
    assert len(stack.section("deployments")) == 1000


def _validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradient_provider", "validate", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_validate_cli_passes_the_repository_stacks() -> None:
    result = _validate()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stacks/dev.yaml: ok" in result.stderr and "stacks/prod.yaml: ok" in result.stderr


def test_validate_cli_prints_one_line_per_problem_and_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(GOOD.replace("replicas: 2", "replicas: two").replace("project: reserch", "project: x"))
    other = tmp_path / "syntax.yaml"
    other.write_text("projects: [\n")
    result = _validate(str(broken), str(other), str(tmp_path / "missing.yaml"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f'{broken}:16: deployments.api.replicas: expected an integer, got a string "two"'
    assert lines[1].startswith(f"{other}:2: (syntax): invalid YAML")
    assert lines[2] == f"{tmp_path}/missing.yaml:1: (file): no such stack file"
    assert "Traceback" not in result.stderr


def test_the_committed_schema_is_the_one_the_tables_give_and_is_complete() -> None:
    committed = (REPO_ROOT / "schemas" / "stack.schema.json").read_text()
    assert committed == render(), "run: python -m gradient_provider schema --write"
    schema = json.loads(committed)
    Draft202012Validator.check_schema(schema)

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False or "propertyNames" in node, path
                for name, child in node["properties"].items():
                    assert child.get("description"), f"{path}.{name} has no description"
            for key, child in node.items():
                walk(child, f"{path}.{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{path}[{index}]")

    walk(schema, "$")


def test_the_readme_field_reference_is_rendered_from_the_tables() -> None:
    from gradient_provider.reference import refresh

    assert refresh(REPO_ROOT / "README.md", write=False), "run: python -m gradient_provider reference --write"
    readme = (REPO_ROOT / "README.md").read_text()
    assert "| `replicas` | integer | `1` | in-place | safe |" in readme
    assert "| `command` | string |  | new-run | re-train | Shell command that trains" in readme  # or `jobs`
    assert "| `jobs` | map of object |  | new-run | re-train |" in readme
    assert "| `retainOnDelete` | boolean | `true` | local-only | safe |" in readme


def test_secrets_cli_lists_the_secret_config_keys_a_stack_reads() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gradient_provider", "secrets", "stacks/prod.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.split() == ["sentryDsn"]
