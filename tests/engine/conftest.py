from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from tests.support.emulator import DEV_KEY, REPO_ROOT, EmulatorProcess
from tests.support.stacks import SCENARIO_STACK as BASE_STACK

from .harness import Engine

HF_TOKEN = "hf_engine_secret_value_42"


class Project:
    """A Pulumi project directory: the real __main__.py and a stack file the test edits between runs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "stacks").mkdir(parents=True)
        shutil.copy(REPO_ROOT / "__main__.py", root / "__main__.py")
        self.write(BASE_STACK)

    def write(self, text: str) -> None:
        (self.root / "stacks" / "dev.yaml").write_text(text)

    def edit(self, old: str, new: str) -> None:
        path = self.root / "stacks" / "dev.yaml"
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


class EngineFactory(Protocol):
    def __call__(self, stack: str, *, config: dict[str, str], secret_config: dict[str, str]) -> Engine: ...


@pytest.fixture
def engine_factory(project: Project, tmp_path: Path) -> EngineFactory:
    """Makes the engine of a stack of `project` (tests/e2e's factory makes the real CLI's instead)."""

    def make(stack: str, *, config: dict[str, str], secret_config: dict[str, str]) -> Engine:
        return Engine(
            project.root, stack, tmp_path / f"{stack}.checkpoint.json", config=config, secret_config=secret_config
        )

    return make


@pytest.fixture
def engine(engine_factory: EngineFactory, emulator: EmulatorProcess) -> Engine:
    emulator.reset()
    return engine_factory(
        "dev",
        config={"gradient:apiUrl": emulator.api_url, "gradient:pollIntervalSeconds": "0.02"},
        secret_config={"gradient:apiKey": DEV_KEY, "hfToken": HF_TOKEN},
    )


@pytest.fixture
def api(emulator: EmulatorProcess) -> httpx.Client:
    return emulator.client()
