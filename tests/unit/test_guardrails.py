"""The `policy:` guardrails, each rule on its own, in process: what breaks it, at which line, at which level,
and how validate, plan and the program report it (exit code 4 for a denied stack, nothing applied)."""

from __future__ import annotations

import pytest

from gradient_provider.guardrails import POLICY_DENIED, Violation, denied, evaluate, peak_hourly
from gradient_provider.prices import price_list
from gradient_provider.stack import StackFile, parse_stack
from gradient_provider.yaml_source import SourceError

BASE = """\
projects:
  research: {name: Research}
datasets:
  reports: {description: Evaluation reports}
experiments:
  train:
    project: research
    image: pytorch/pytorch:2.3.0
    command: python train.py
    machineType: A4000
    timeoutSeconds: 3600
deployments:
  api:
    project: research
    image: paperspace/fastapi-deployment:latest
    machineType: P4000
    ports: [8000]
    replicas: 2
    env: {HF_TOKEN: {secret: hfToken}}
"""


def _line(policy: str, needle: str, body: str = BASE) -> int:
    """The line of the first line holding ``needle`` in the file `_stack` parses."""
    text = f"policy:\n{policy}{body}"
    return text[: text.index(needle)].count("\n") + 1


def _stack(policy: str, body: str = BASE) -> StackFile:
    return parse_stack("stacks/dev.yaml", f"policy:\n{policy}{body}")


def _found(policy: str, body: str = BASE) -> list[tuple[int, str, str, str]]:
    return [(v.line, v.path, v.rule, v.level) for v in evaluate(_stack(policy, body))]


def test_a_stack_within_every_rule_passes() -> None:
    policy = (
        "  maxCostPerHour: {limit: 100}\n  machineTypes: {allow: [P4000, A4000]}\n  maxReplicas: {limit: 4}\n"
        "  retainDatasets: {}\n  experimentTimeout: {}\n  secretsFromConfig: {}\n"
    )
    assert evaluate(_stack(policy)) == []
    assert evaluate(parse_stack("stacks/dev.yaml", BASE)) == []  # no policy: no rule


def test_the_budget_counts_every_deployment_at_its_ceiling_and_every_job_training() -> None:
    prices = price_list().hourly
    body = BASE.replace(
        "replicas: 2",
        "replicas: 2\n    autoscaling: {maxReplicas: 5, metrics: [{metric: cpu, summary: average, value: 70}]}",
    )
    peak = peak_hourly(parse_stack("s", body))
    assert peak == pytest.approx(5 * prices["P4000"] + prices["A4000"])
    [violation] = evaluate(_stack("  maxCostPerHour: {limit: 1}\n", body))
    assert (violation.line, violation.path, violation.rule, violation.level) == (
        2,
        "policy.maxCostPerHour",
        "maxCostPerHour",
        "deny",
    )
    assert f"up to ${peak:.2f}/h at its peak, over the budget of $1.00/h" in violation.message


def test_machine_types_allowed_and_denied_name_the_field_where_they_are_used() -> None:
    allow = "  machineTypes: {allow: [P4000]}\n"
    assert _found(allow) == [(_line(allow, "A4000"), "experiments.train.machineType", "machineTypes", "deny")]
    deny = "  machineTypes: {deny: [P4000], level: warn}\n"
    assert _found(deny) == [(_line(deny, "machineType: P4000"), "deployments.api.machineType", "machineTypes", "warn")]
    jobs = BASE.replace(
        "    image: pytorch/pytorch:2.3.0\n    command: python train.py\n    machineType: A4000\n",
        "    jobs:\n      train: {image: pytorch/pytorch:2.3.0, command: python train.py, machineType: A100-80G}\n",
    )
    deny = "  machineTypes: {deny: [A100-80G]}\n"
    assert _found(deny, jobs) == [(_line(deny, "A100-80G}", jobs), "experiments.train.jobs", "machineTypes", "deny")]


def test_max_replicas_counts_the_autoscaling_ceiling() -> None:
    rule = "  maxReplicas: {limit: 1}\n"
    assert _found(rule) == [(_line(rule, "replicas: 2"), "deployments.api.replicas", "maxReplicas", "deny")]
    scaled = BASE.replace(
        "replicas: 2",
        "replicas: 2\n    autoscaling: {maxReplicas: 9, metrics: [{metric: cpu, summary: average, value: 70}]}",
    )
    [violation] = evaluate(_stack("  maxReplicas: {limit: 4}\n", scaled))
    assert (violation.path, violation.message) == (
        "deployments.api.autoscaling",
        "may run 9 replicas, over the limit of 4",
    )


def test_datasets_must_keep_their_data() -> None:
    body = BASE.replace("{description: Evaluation reports}", "{description: Evaluation reports, retainOnDelete: false}")
    rule = "  retainDatasets: {}\n"
    assert _found(rule, body) == [
        (_line(rule, "reports:", body), "datasets.reports.retainOnDelete", "retainDatasets", "deny")
    ]


def test_experiments_must_have_a_timeout() -> None:
    body = BASE.replace("    timeoutSeconds: 3600\n", "")
    rule = "  experimentTimeout: {level: warn}\n"
    assert _found(rule, body) == [(_line(rule, "train:", body), "experiments.train", "experimentTimeout", "warn")]


def test_secrets_only_from_secret_config() -> None:
    body = BASE.replace("{HF_TOKEN: {secret: hfToken}}", '{HF_TOKEN: {secret: hfToken}, DB: "secret:db-url"}')
    rule = "  secretsFromConfig: {}\n"
    [violation] = evaluate(_stack(rule, body))
    assert (violation.line, violation.path) == (_line(rule, "env:", body), "deployments.api.env")
    assert "env.DB names a project secret made elsewhere" in violation.message


def test_secrets_only_from_secret_config_in_each_jobs_env_too() -> None:
    jobs = BASE.replace(
        "    image: pytorch/pytorch:2.3.0\n    command: python train.py\n    machineType: A4000\n",
        "    jobs:\n      train:\n        image: pytorch/pytorch:2.3.0\n        command: python train.py\n"
        '        machineType: A4000\n        env: {TOKEN: "secret:someone-elses"}\n',
    )
    rule = "  secretsFromConfig: {}\n"
    [violation] = evaluate(_stack(rule, jobs))
    assert (violation.line, violation.path) == (_line(rule, "jobs:", jobs) + 1, "experiments.train.jobs")
    assert violation.message.startswith("jobs.train.env.TOKEN names a project secret made elsewhere")


def test_a_policy_the_schema_refuses_is_a_problem_at_its_line() -> None:
    with pytest.raises(SourceError) as failure:
        _stack("  maxCostPerHour: {limit: 20, level: block}\n  maxReplicas: {}\n")
    messages = [str(p) for p in failure.value.problems]
    assert any(m.startswith("stacks/dev.yaml:2: policy.maxCostPerHour.level:") for m in messages), messages
    assert any(m.startswith("stacks/dev.yaml:3: policy.maxReplicas") and "limit" in m for m in messages), messages


def test_a_budget_that_cannot_be_checked_names_the_machine_types_without_a_price() -> None:
    body = BASE.replace("machineType: P4000", "machineType: C4")
    [violation] = evaluate(_stack("  maxCostPerHour: {limit: 100}\n", body))
    assert violation.message == "no price for machine type C4: the peak cost cannot be checked"


def test_a_violation_reads_as_file_line_path_level_message_rule() -> None:
    violation = Violation("stacks/dev.yaml", 9, "maxReplicas", "deny", "deployments.api.replicas", "may run 9")
    assert str(violation) == "stacks/dev.yaml:9: deployments.api.replicas: deny: may run 9 (policy.maxReplicas)"
    assert denied([violation, Violation("f", 1, "r", "warn", "p", "m")]) == [violation]


def test_plan_shows_the_peak_cost_against_the_budget_and_exits_4_when_denied() -> None:
    import json

    from gradient_provider.review.plan import plan_stack
    from gradient_provider.review.render import to_json, to_markdown

    old = parse_stack("stacks/dev.yaml@HEAD", BASE)
    policy = "  maxCostPerHour: {limit: 2}\n"
    new = _stack(policy, BASE.replace("replicas: 2", "replicas: 4"))
    plan = plan_stack("stacks/dev.yaml", "HEAD", old, new)
    prices = price_list().hourly
    before, after = 2 * prices["P4000"] + prices["A4000"], 4 * prices["P4000"] + prices["A4000"]
    assert plan.exit_code == POLICY_DENIED
    markdown = to_markdown([plan])
    assert (
        f"**Policy: denied.** Peak cost ${before:.2f}/h → ${after:.2f}/h against a budget of **$2.00/h**." in markdown
    )
    assert (
        f"- ⛔ `stacks/dev.yaml:{_line(policy, 'maxCostPerHour')}` `policy.maxCostPerHour`: the stack costs up to"
        in markdown
    )
    document = json.loads(to_json([plan], plan.exit_code))
    assert document["exitCode"] == POLICY_DENIED
    assert document["stacks"][0]["policy"]["denied"] is True
    assert document["stacks"][0]["policy"]["budgetPerHour"] == 2.0
    within = plan_stack("stacks/dev.yaml", "HEAD", old, _stack("  maxCostPerHour: {limit: 50}\n"))
    assert within.exit_code == 0 and "**Policy: passed.**" in to_markdown([within])


def test_plan_reports_a_change_to_the_policy_itself_as_risky() -> None:
    from gradient_provider.review.plan import plan_stack
    from gradient_provider.review.render import to_markdown

    old = _stack("  maxCostPerHour: {limit: 20}\n  maxReplicas: {limit: 4}\n")
    removed = plan_stack("stacks/dev.yaml", "HEAD", old, parse_stack("stacks/dev.yaml", BASE))
    assert removed.exit_code == 3 and removed.guardrails is not None
    assert removed.guardrails.changes == ["maxCostPerHour removed", "maxReplicas removed"]
    weakened = plan_stack(
        "stacks/dev.yaml",
        "HEAD",
        old,
        _stack("  maxCostPerHour: {limit: 40, level: warn}\n  maxReplicas: {limit: 4}\n"),
    )
    assert weakened.guardrails is not None
    assert weakened.guardrails.changes == ["maxCostPerHour: level deny → warn, limit 20 → 40"]
    assert "- `policy.maxCostPerHour: level deny → warn, limit 20 → 40`" in to_markdown([weakened])
    assert plan_stack("stacks/dev.yaml", "HEAD", old, old).exit_code == 0
