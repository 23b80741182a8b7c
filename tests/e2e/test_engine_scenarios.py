"""The engine scenarios of tests/engine, unchanged, with the real Pulumi CLI as the engine.

The test functions are imported, so pytest collects them here again, and the fixtures of tests/e2e/conftest.py
(a project like this repository, a file backend, `CliEngine`) stand where tests/engine's stand-in stood.
Where the two engines disagree the real CLI is right, and the stand-in is what gets fixed.
"""

from tests.engine.test_drift import *  # noqa: F403
from tests.engine.test_import import *  # noqa: F403
from tests.engine.test_scenarios import *  # noqa: F403
