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


def _modules(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` -> the fully qualified modules it imports (relative imports resolved)."""
    found: dict[str, set[str]] = {}
    for path in (REPO_ROOT / package).rglob("*.py"):
        relative = path.relative_to(REPO_ROOT).with_suffix("")
        parts = list(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
        this_package = parts if relative.name == "__init__" else parts[:-1]
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = this_package[: len(this_package) - node.level + 1] if node.level else []
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
                names |= {module, *(f"{module}.{alias.name}" for alias in node.names)}
        found[str(path.relative_to(REPO_ROOT))] = names
    return found


KIND_FOLDERS = ("project", "dataset", "experiment", "deployment")


def test_nothing_below_review_imports_review() -> None:
    """The loader, the kinds, the lifecycles, the client and credential detection are below the review plan:
    only the plan itself and the command line may import it."""
    above = {"gradient_provider/__main__.py"}
    crossing = {
        file: sorted(n for n in names if n.startswith("gradient_provider.review"))
        for file, names in _modules("gradient_provider").items()
        if not file.startswith("gradient_provider/review/") and file not in above
    }
    assert {file: names for file, names in crossing.items() if names} == {}


def test_no_module_outside_kinds_names_a_kinds_internals() -> None:
    """A kind's folder is its own: outside kinds/ only the registry is used, except by the Pulumi adapters
    (resources.py), whose class names are frozen in every stack's state."""
    internals = tuple(f"gradient_provider.kinds.{kind}" for kind in KIND_FOLDERS)
    allowed = {"gradient_provider/resources.py"}
    crossing = {
        file: sorted(n for n in names if n.startswith(internals))
        for file, names in _modules("gradient_provider").items()
        if not file.startswith("gradient_provider/kinds/") and file not in allowed
    }
    assert {file: names for file, names in crossing.items() if names} == {}


def test_the_rules_see_relative_imports() -> None:
    """The checks above have teeth: the import resolver finds a kind's internals named relatively."""
    modules = _modules("gradient_provider")
    assert "gradient_provider.kinds.dataset.lifecycle" in modules["gradient_provider/resources.py"]
    assert "gradient_provider.review.plan" in modules["gradient_provider/__main__.py"]
    assert "gradient_provider.credentials" in modules["gradient_provider/stack.py"]
