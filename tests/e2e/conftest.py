"""Fixtures of the real-CLI suite: a project directory like this repository, a file backend, the emulator.

The fixtures `project`, `engine` and `api` have the names and meaning of tests/engine/conftest.py, so the
engine scenarios run here unchanged with the real CLI as the engine (test_engine_scenarios.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conftest import EngineFactory, Project, api, engine
from tests.support.pulumi_cli import PROJECT_NAME, CliEngine, PulumiCli, make_project, skip_reason

_reason = skip_reason()
pytestmark = pytest.mark.skipif(_reason is not None, reason=_reason or "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _reason is not None:
        for item in items:
            if "tests/e2e/" in str(item.path):
                item.add_marker(pytest.mark.skip(reason=_reason))


@pytest.fixture
def cli(tmp_path: Path) -> PulumiCli:
    root = tmp_path / "project"
    make_project(root)
    backend = tmp_path / "backend"
    backend.mkdir()
    return PulumiCli(root=root, backend_url=f"file://{backend}", home=tmp_path / "pulumi-home")


@pytest.fixture
def project(cli: PulumiCli) -> Project:
    return Project(cli.root)


@pytest.fixture
def engine_factory(project: Project, cli: PulumiCli, tmp_path: Path) -> EngineFactory:
    def make(stack: str, *, config: dict[str, str], secret_config: dict[str, str]) -> CliEngine:
        state_path = tmp_path / "backend" / ".pulumi" / "stacks" / PROJECT_NAME / f"{stack}.json"
        return CliEngine(cli, stack, state_path, config=config, secret_config=secret_config)

    return make  # type: ignore[return-value]  # CliEngine has the stand-in's interface, not its class


__all__ = ["api", "engine"]  # tests/engine's fixtures, here on the factory above: the real CLI's engine
