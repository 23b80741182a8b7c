"""`validate` applies a stack file's guardrails as a user runs it: one line per broken rule, exit code 4 when a
`deny` rule is broken (warnings alone exit 0), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gradient_provider.guardrails import POLICY_DENIED
from tests.unit.test_guardrails import BASE


def test_validate_exits_4_for_a_denied_stack_and_0_for_warnings(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "dev.yaml").write_text("policy:\n  maxReplicas: {limit: 1}\n" + BASE)
    (stacks / "warned.yaml").write_text("policy:\n  maxReplicas: {limit: 1, level: warn}\n" + BASE)
    for name, code in (("dev", POLICY_DENIED), ("warned", 0)):
        result = subprocess.run(
            [sys.executable, "-m", "gradient_provider", "validate", f"stacks/{name}.yaml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == code, result.stdout + result.stderr
        line = ("policy:\n  maxReplicas: {limit: 1}\n" + BASE).split("\n").index("    replicas: 2") + 1
        assert f"stacks/{name}.yaml:{line}: deployments.api.replicas: " in result.stdout
        level = "deny" if code else "warn"
        assert f"{level}: may run 2 replicas, over the limit of 1 (policy.maxReplicas)" in result.stdout
        assert "Traceback" not in result.stderr


def test_a_usage_error_exits_1_not_a_code_that_means_drift_or_a_plan(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gradient_provider", "drift"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "the following arguments are required: --stack" in result.stderr
