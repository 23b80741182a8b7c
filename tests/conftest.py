from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.emulator import EmulatorProcess, injected_faults, running_emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    """One emulator process for the session, at 1/20 of real time; each test starts from empty state."""
    with running_emulator("--api-key", "emulator-dev-key:team-dev", "--api-key", "other-key:team-other") as process:
        yield process


@pytest.fixture
def api(emulator: EmulatorProcess) -> Iterator[httpx.Client]:
    emulator.reset()
    with emulator.client() as client:
        yield client


@pytest.fixture(scope="session")
def realtime_emulator() -> Iterator[EmulatorProcess]:
    """An emulator at real speed, for the few tests that observe each step of a lifecycle in order."""
    with running_emulator(time_scale=1.0) as process:
        yield process


@pytest.fixture
def emulator_url(emulator: EmulatorProcess) -> str:
    """The API URL of the shared emulator, reset to empty state."""
    emulator.reset()
    return emulator.api_url


@pytest.fixture
def faults(emulator: EmulatorProcess) -> Iterator[httpx.Client]:
    """Inject faults with tests.support.emulator.inject(faults, ...); they are cleared after the test."""
    with injected_faults(emulator) as admin:
        yield admin


_SUMMARIES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect what tests hand over as a `summary` property (from any xdist worker) to print at the end."""
    if report.when == "call":
        _SUMMARIES.extend(str(value) for name, value in report.user_properties if name == "summary")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for summary in _SUMMARIES:
        terminalreporter.write_sep("-", "summary")
        terminalreporter.write_line(summary)
