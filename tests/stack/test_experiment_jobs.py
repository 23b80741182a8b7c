"""Experiments with several jobs and the datasets they use, as `validate` checks them: every problem of the
run's DAG at its file and line, before any API call."""

from __future__ import annotations

import textwrap

import pytest

from gradient_provider.stack import SecretRef, parse_stack
from gradient_provider.yaml_source import SourceError

HEAD = """\
projects:
  p: {name: P}
datasets:
  corpus: {}
  reports: {retainOnDelete: false}
experiments:
  e:
    project: p
    machineType: C5
"""


def problems(body: str) -> list[str]:
    with pytest.raises(SourceError) as raised:
        parse_stack("stack.yaml", HEAD + textwrap.indent(textwrap.dedent(body), "    "))
    return str(raised.value).splitlines()


def test_a_three_job_experiment_declares_its_jobs_and_the_datasets_they_name() -> None:
    stack = parse_stack(
        "stack.yaml",
        HEAD
        + textwrap.indent(
            textwrap.dedent("""\
            env: {MODE: prod, TOKEN: {secret: token}}
            jobs:
              prepare:
                image: i
                command: prep
                inputs: {raw: {dataset: corpus, version: abc1234}}
                outputs: {prepared: volume}
              train:
                image: i
                command: train
                machineType: A100-80G
                needs: [prepare]
                inputs: {prepared: {job: prepare}}
              evaluate:
                image: i
                command: eval
                needs: [train]
                inputs: {model: {job: train}}
                artifacts: {dataset: reports}
            model: {name: m, job: train}
            """),
            "    ",
        ),
    )
    experiment = stack.section("experiments")["e"]
    assert list(experiment.inputs["jobs"]) == ["prepare", "train", "evaluate"]
    assert experiment.nested_references == {"datasetIds": ("corpus", "reports")}
    assert experiment.inputs["env"] == {"MODE": "prod", "TOKEN": SecretRef("token")}
    assert set(stack.section("datasets")) == {"corpus", "reports"}


def test_each_problem_of_the_dag_is_named_at_its_line() -> None:
    found = problems("""\
        jobs:
          a:
            image: i
            command: c
            needs: [c]
            outputs: {tmp: volume, lost: volume}
          b:
            image: i
            command: c
            needs: [a, nope]
            inputs:
              x: {job: a}
              y: {dataset: corpu}
              z: {job: a, output: tmp}
          c:
            image: i
            command: c
            needs: [b]
            inputs: {w: {job: a}}
        model: {name: m}
        """)
    assert found == [
        "stack.yaml:14: experiments.e.jobs.a.needs: the jobs' needs form a cycle: a needs c, which needs b, "
        "which needs a",
        "stack.yaml:15: experiments.e.jobs.a.outputs.lost: a volume that no later job uses: volumes do not outlive "
        "their run; use {dataset: KEY} to keep it",
        "stack.yaml:19: experiments.e.jobs.b.needs[1]: refers to job 'nope', which is not one of this experiment's "
        "jobs: a, b, c",
        "stack.yaml:21: experiments.e.jobs.b.inputs.x.job: job 'a' has no output 'x' (its outputs: lost, tmp)",
        "stack.yaml:22: experiments.e.jobs.b.inputs.y.dataset: refers to 'corpu', which is not one of the datasets: "
        "corpus, reports; did you mean 'corpus'?",
        "stack.yaml:28: experiments.e.jobs.c.inputs.w.job: uses an output of job 'a': add 'a' to this job's `needs`",
        "stack.yaml:29: experiments.e.model: name the job that writes the model: `job`, one of a, b, c",
    ]


def test_the_single_job_form_and_jobs_do_not_mix_and_each_job_has_a_machine() -> None:
    found = problems("""\
        image: i
        jobs:
          a: {image: i, command: c, machineType: C5}
        """)
    assert found == [
        "stack.yaml:10: experiments.e.image: `image` is for a single-job experiment; with `jobs`, set it on each job"
    ]
    without_machine = HEAD.replace("    machineType: C5\n", "")
    with pytest.raises(SourceError) as raised:
        parse_stack("stack.yaml", without_machine + "    jobs:\n      a: {image: i, command: c}\n")
    assert str(raised.value) == (
        "stack.yaml:10: experiments.e.jobs.a: no machine type: set `machineType` here or on the experiment"
    )
    with pytest.raises(SourceError) as raised:
        parse_stack("stack.yaml", HEAD + "    image: i\n")
    assert str(raised.value) == (
        "stack.yaml:7: experiments.e: a single-job experiment needs `command`; or declare several jobs under `jobs`"
    )


def test_a_job_name_the_provider_uses_itself_is_refused() -> None:
    found = problems("""\
        jobs:
          clone: {image: i, command: c}
        """)
    assert len(found) == 1 and found[0].startswith("stack.yaml:11: experiments.e.jobs.clone:")


def test_the_worked_example_in_the_docs_is_a_valid_stack_and_its_quoted_errors_are_real() -> None:
    """docs/experiments.md quotes a stack file and what `validate` says of three broken copies of it."""
    import re

    from tests.support.emulator import REPO_ROOT

    text = (REPO_ROOT / "docs" / "experiments.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert example is not None
    stack = example.group(1)
    parse_stack("stacks/dev.yaml", stack)
    broken = [
        stack.replace("        needs: [prepare]                 # a job may use only outputs of jobs it needs\n", ""),
        stack.replace(
            "          batch: {job: prepare}          # prepare's output `batch` (`output:` names another one)\n",
            "          other: {dataset: shards}\n",
        ),
        stack.replace("        machineType: C5\n", "        machineType: C5\n        needs: [evaluate]\n"),
    ]
    for copy in broken:
        assert copy != stack
        with pytest.raises(SourceError) as raised:
            parse_stack("stacks/dev.yaml", copy)
        [line] = str(raised.value).splitlines()
        assert line in text, line
