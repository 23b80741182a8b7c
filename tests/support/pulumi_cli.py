"""The real Pulumi CLI, driven as a user drives it: a project directory, a backend, and `pulumi` commands.

The CLI is the build of tools/pulumi/go.mod (scripts/pulumi-cli puts it in .tools/pulumi/bin), or else a
`pulumi` on PATH. ``CliEngine`` has the interface of the engine stand-in (tests/engine/harness.py), so the same
scenarios run through both, and the real CLI judges the stand-in: steps come from the CLI's own event log
(``--event-log``), state from ``pulumi stack export``.

Every command's output is kept in ``transcript`` so a test can assert that a secret never appears in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.engine.harness import EngineError, ResourceState, Step
from tests.support.emulator import REPO_ROOT

PINNED_BIN = REPO_ROOT / ".tools" / "pulumi" / "bin"
PROJECT_NAME = "gradient-stacks"
# The CI sets this: there the real CLI is built first (.ci/run), so a missing CLI is a failure, not a skip.
REQUIRE_ENV = "GRADIENT_REQUIRE_PULUMI_CLI"
# The stand-in's names for the CLI's step ops (pkg/resource/deploy/step.go): a create-before-delete
# replacement is one "replace" now and one "delete" of the old object at the end.
_OPS = {"create-replacement": None, "delete-replaced": "delete", "discard": "delete"}
_SECRET_SIG = "4dabf18193072939515e22adb298388d"


def cli_bin_dir() -> Path | None:
    """Where `pulumi` and its plugins are: the pinned build first, else (not in CI, which builds it) the directory
    of a `pulumi` on PATH."""
    if (PINNED_BIN / "pulumi").exists() and (PINNED_BIN / "pulumi-language-python").exists():
        return PINNED_BIN
    if os.environ.get(REQUIRE_ENV):
        return None
    found = shutil.which("pulumi")
    return Path(found).resolve().parent if found else None


def skip_reason() -> str | None:
    if cli_bin_dir() is not None:
        return None
    reason = "the Pulumi CLI is not built (run scripts/pulumi-cli; it needs Go), and no `pulumi` is on PATH"
    if os.environ.get(REQUIRE_ENV):
        raise RuntimeError(f"{REQUIRE_ENV} is set but {reason}")
    return reason


class CliError(Exception):
    """A command failed; the message is what the CLI printed (stdout and stderr)."""


def make_project(root: Path) -> None:
    """A Pulumi project as this repository is one: its __main__.py, its Pulumi.yaml byte for byte, its .venv."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "__main__.py", root / "__main__.py")
    shutil.copy(REPO_ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    if not (root / ".venv").exists():
        (root / ".venv").symlink_to(REPO_ROOT / ".venv")


@dataclass
class PulumiCli:
    """`pulumi` in one project directory, with one backend and passphrase; every output kept in transcript."""

    root: Path
    backend_url: str
    home: Path
    passphrase: str = "e2e-passphrase"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        bin_dir = cli_bin_dir()
        assert bin_dir is not None
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PAPERSPACE_", "AWS_", "VIRTUAL_ENV"))
        }
        return {
            **inherited,
            "PATH": f"{bin_dir}{os.pathsep}{inherited.get('PATH', '')}",
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": self.backend_url,
            "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # Enables the --event-log flag (the Automation API sets it for the same reason).
            "PULUMI_DEBUG_COMMANDS": "true",
            **self.extra_env,
        }

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 300, record: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["pulumi", *args, "--non-interactive", "--color", "never"],
            cwd=self.root,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if record:
            self.transcript += [result.stdout, result.stderr]
        if check and result.returncode != 0:
            raise CliError(f"pulumi {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """A command left running (e.g. an `up` that holds the stack's lock); its output is the caller's."""
        return subprocess.Popen(
            ["pulumi", *args, "--non-interactive", "--color", "never"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def set_config(self, key: str, value: str, *, secret: bool = False) -> None:
        if secret:  # from stdin, never from the command line
            self.run("config", "set", "--secret", key, stdin=value)
        else:
            self.run("config", "set", key, value)

    def export(self, *, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "export", *(["--show-secrets"] if show_secrets else [])]
        # What --show-secrets prints is asked for on purpose: it stays out of the transcript.
        exported: dict[str, Any] = json.loads(self.run(*args, record=not show_secrets).stdout)
        return exported


class CliEngine:
    """The engine stand-in's interface (up, preview, refresh, destroy, state, resource) on the real CLI."""

    def __init__(
        self,
        cli: PulumiCli,
        stack: str,
        state_path: Path,
        *,
        config: Mapping[str, str] | None = None,
        secret_config: Mapping[str, str] | None = None,
    ) -> None:
        self.cli = cli
        self.stack = stack
        self.state_path = state_path  # the file backend's checkpoint of the stack
        self.root = cli.root
        self._events = cli.home / "events.jsonl"
        cli.run("stack", "init", stack)
        for key, value in (config or {}).items():
            cli.set_config(key, value)
        for key, value in (secret_config or {}).items():
            cli.set_config(key, value, secret=True)

    # state ---------------------------------------------------------------------------------------------

    def state(self) -> list[ResourceState]:
        shown = self.cli.export(show_secrets=True)["deployment"].get("resources") or []
        sealed = self.cli.export()["deployment"].get("resources") or []
        resources = []
        for plain, hidden in zip(shown, sealed, strict=True):
            if not plain["type"].startswith("pulumi-python:dynamic/"):
                continue  # the stack and the default provider: the stand-in keeps neither
            outputs, inputs = _revealed(plain.get("outputs", {})), _revealed(plain.get("inputs", {}))
            # The engine keeps a secret where the program made it, e.g. one value inside `secretEnv`: the
            # stand-in's secret_keys name the top-level keys that hold a secret anywhere.
            secret = sorted(
                {k for part in ("inputs", "outputs") for k, v in hidden.get(part, {}).items() if _holds_secret(v)}
            )
            resources.append(
                ResourceState(
                    urn=plain["urn"],
                    type=plain["type"],
                    id=plain.get("id", ""),
                    inputs=inputs,
                    outputs=outputs,
                    # in the order the program's outputs resolved, which varies from run to run: a set, sorted
                    dependencies=sorted(plain.get("dependencies", [])),
                    secret_keys=secret,
                    delete=bool(plain.get("delete")),
                )
            )
        return resources

    def resource(self, kind: str, name: str) -> ResourceState:
        found = [r for r in self.state() if r.kind == kind and r.name == name and not r.delete]
        assert len(found) == 1, f"{kind} {name!r} is in state {len(found)} times"
        return found[0]

    # operations ----------------------------------------------------------------------------------------

    def up(self) -> list[Step]:
        return self._operation("up", "--yes", "--skip-preview")

    def preview(self) -> list[Step]:
        return self._operation("preview")

    def refresh(self) -> list[Step]:
        return self._operation("refresh", "--yes", "--skip-preview")

    def destroy(self) -> list[Step]:
        return self._operation("destroy", "--yes", "--skip-preview")

    def _operation(self, command: str, *flags: str) -> list[Step]:
        self._events.unlink(missing_ok=True)
        result = self.cli.run(command, *flags, "--stack", self.stack, "--event-log", str(self._events), check=False)
        if result.returncode != 0:
            raise EngineError(f"{result.stdout}\n{result.stderr}")
        return steps_from_events(self._events, refresh=command == "refresh")


def steps_from_events(path: Path, *, refresh: bool = False) -> list[Step]:
    """The steps of the CLI's event log, in the order the engine finished them, named as the stand-in names them
    (a refresh's steps are all "refresh", or "refresh-delete" for a resource the provider found gone)."""
    steps: list[Step] = []
    for line in path.read_text().splitlines():
        done = json.loads(line).get("resOutputsEvent")
        if done is None or not done["metadata"]["type"].startswith("pulumi-python:dynamic/"):
            continue
        metadata = done["metadata"]
        op = _OPS.get(metadata["op"], metadata["op"])
        if refresh:
            op = "refresh-delete" if op == "delete" or metadata.get("new") is None else "refresh"
        if op is not None:
            steps.append(Step(op, metadata["urn"]))
    return steps


def _holds_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return _SECRET_SIG in value or any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def _revealed(value: Any) -> Any:
    """`stack export --show-secrets` keeps each secret's envelope, with its value as JSON in `plaintext`."""
    if isinstance(value, dict):
        if _SECRET_SIG in value and "plaintext" in value:
            return _revealed(json.loads(value["plaintext"]))
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def contains_any(texts: Sequence[str], needle: str) -> bool:
    return any(needle in text for text in texts)
