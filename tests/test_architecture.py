"""The layering the guide sets: one direction of flow, and the boundaries no import may cross."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.emulator import REPO_ROOT


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (REPO_ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO_ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("emulator", {"gradient_provider", "pulumi"}),
        ("gradient_provider", {"emulator"}),
        ("gradient_provider/lifecycles", {"pulumi"}),
        ("gradient_provider/client", {"pulumi"}),
        ("gradient_provider/review", {"pulumi"}),
    ],
)
def test_no_import_crosses_a_boundary(package: str, forbidden: set[str]) -> None:
    crossing = {file: sorted(names & forbidden) for file, names in _imports(package).items() if names & forbidden}
    assert crossing == {}


def test_the_stack_loader_is_pulumi_free() -> None:
    for module in ("stack.py", "yaml_source.py", "stack_schema.py"):
        assert "pulumi" not in _imports("gradient_provider")[str(Path("gradient_provider") / module)]
