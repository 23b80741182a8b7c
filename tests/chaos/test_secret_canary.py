"""Secret canary: a known API key and known secret values go through a stack's whole life, then every place
they could surface is searched for them.

The life, through the engine harness and the real dynamic-provider server: create; an update that rotates a
secret; an update whose instances crash (and rotates again: the rotation is undone); an update whose upsert is
refused by the API until the retries run out (429s, logged retry by retry); an experiment whose run fails
(with a rotated secret); refresh; a good `up`; refresh; destroy. Then `up` with the key followed by a line
break, and by a space: refused before any request. Then `python -m gradient_provider plan` on a change.

Searched: every provider process's stderr, every error the engine reported, the resources' outputs outside
the secret-marked ones and the stack's exports, each `__provider` blob (decoded), the checkpoint file after each
operation, the emulator's stdout and stderr at debug level, every answer of the API about the stack's objects,
the emulator's stored rows, and the plan's Markdown and JSON. The key must occur nowhere; the secret values nowhere
but where they belong: the secret-marked inputs and outputs (encrypted in a real backend) and the emulator's own
secret store (Paperspace must hold them). The emulator's SQLite files, byte for byte while the stack lived and after
destroy, hold no key and no secret value (the emulator keeps digests of secret values, never the values).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pulumi
import pytest

from gradient_provider.lifecycles.secret_env import secret_name
from tests.engine.harness import EngineError

from .support import ChaosEngine, LoggedEmulator, StackDir, logged_emulator

KEY = "canary-key-0c4f7a91d3b25e68"
HF = ["canary-hf-1-5b0e93c7a2d4", "canary-hf-2-e1a8f3064c9b", "canary-hf-3-7d2c5e9a0b18", "canary-hf-4-93f0b6d1e7a2"]
WANDB = ["canary-wandb-1-2f7e0c4a9d61", "canary-wandb-2-b84d1e6f3a05"]
SECRETS = [*HF, *WANDB]
HF_SECRET = secret_name("DEPLOYMENT", "api", "HF_TOKEN")  # the project secret that holds hfToken's value

STACK = """\
projects:
  research: {name: Research}
experiments:
  train:
    project: research
    image: pytorch/pytorch:2.3.0
    command: python train.py
    machineType: A4000
    env: {EMULATOR_RUN_SECONDS: "1", WANDB_KEY: {secret: wandbKey}}
    model: {name: resnet50}
deployments:
  api:
    project: research
    image: paperspace/fastapi-deployment:latest
    machineType: C4
    ports: [8000]
    replicas: 2
    model: train
    env: {MODE: prod, HF_TOKEN: {secret: hfToken}}
"""


class Exports:
    """``pulumi.export``, also keeping what each export resolves to (the harness keeps no stack outputs)."""

    seen: ClassVar[list[str]] = []
    original: ClassVar[Callable[[str, Any], None]] = staticmethod(pulumi.export)

    @staticmethod
    def export(name: str, value: Any) -> None:
        pulumi.Output.from_input(value).apply(lambda resolved: Exports.seen.append(json.dumps({name: resolved})))
        Exports.original(name, value)


class Places:
    """Text gathered from every place a secret could surface, by place."""

    def __init__(self) -> None:
        self.texts: dict[str, list[str]] = {}

    def add(self, place: str, text: str | bytes) -> None:
        value = text.decode("latin-1") if isinstance(text, bytes) else text
        self.texts.setdefault(place, []).append(value)

    def occurrences(self, needles: list[str]) -> dict[str, dict[str, int]]:
        return {
            place: {needle: n for needle in needles if (n := sum(t.count(needle) for t in texts))}
            for place, texts in self.texts.items()
        }

    @property
    def size(self) -> int:
        return sum(len(t) for texts in self.texts.values() for t in texts)


def _api_answers(api: httpx.Client) -> str:
    """Every answer the API gives about the team's objects."""
    answers: list[Any] = []

    def get(path: str, **params: Any) -> Any:
        body = api.get(path, params=params).raise_for_status().json()
        answers.append(body)
        return body

    for project in get("/projects")["items"]:
        get(f"/projects/{project['id']}")
        get(f"/projects/{project['id']}/secrets")
        get("/models", projectId=project["id"])
        for workflow in get("/workflows", projectId=project["id"]):
            get(f"/workflows/{workflow['id']}")
            for run in get(f"/workflows/{workflow['id']}/runs")["items"]:
                get(f"/workflows/{workflow['id']}/runs/{run['uuid']}/logs")
    for deployment in get("/deployments")["items"]:
        get(f"/deployments/{deployment['id']}")
        get(f"/deployments/{deployment['id']}/history")
        get(f"/deployments/{deployment['id']}/runs")
    return json.dumps(answers)


def _rows_but_secret_values(state_path: Path) -> str:
    """The emulator's stored rows, each secret's own value left out (the one place Paperspace keeps it)."""
    with sqlite3.connect(f"file:{state_path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT kind, id, name, data FROM objects").fetchall()
    kept = []
    for kind, ident, name, data in rows:
        document = json.loads(data)
        if kind == "secret":
            document.pop("value", None)
        kept.append(json.dumps([kind, ident, name, document]))
    return "\n".join(kept)


STATE_FILES = "the emulator's SQLite files while the stack lives"
STATE_FILES_AFTER = "the emulator's SQLite files after destroy"
EMULATOR_FILES = (STATE_FILES, STATE_FILES_AFTER)


@dataclass
class CanaryRun:
    places: Places
    seconds: float
    error: str | None  # the life did not run to its end: every test fails (the xfail too: not an AssertionError)


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CanaryRun]:
    """The stack's whole life with the canaries (see the module's docstring); what every place held."""
    tmp_path = tmp_path_factory.mktemp("canary")
    with (
        pytest.MonkeyPatch.context() as patch,
        logged_emulator(tmp_path / "emulator", key=KEY, time_scale=0.02, log_level="debug") as emulator,
    ):
        patch.setattr(pulumi, "export", Exports.export)
        started, places, error = time.monotonic(), Places(), None
        try:
            _live_through(emulator, tmp_path, places)
        except Exception:
            error = traceback.format_exc()
        yield CanaryRun(places, time.monotonic() - started, error)


def _live_through(emulator: LoggedEmulator, tmp_path: Path, places: Places) -> None:
    Exports.seen = []
    stack = StackDir(tmp_path / "project", STACK)
    config = {"gradient:apiUrl": emulator.api_url, "gradient:pollIntervalSeconds": "0.02"}
    engine = ChaosEngine(
        stack.root,
        tmp_path / "checkpoint.json",
        config=config,
        secret_config={"gradient:apiKey": KEY, "hfToken": HF[0], "wandbKey": WANDB[0]},
    )
    api = emulator.client()

    def after(operation: str) -> None:
        """What the operation left: checkpoint, outputs, blobs, API answers and stored rows."""
        places.add("checkpoint file", engine.state_path.read_text())
        for resource in engine.state():
            # the Readiness resource carries the values to mask in what a failure quotes: in `targets`, encrypted
            allowed = {"secretEnv", "__provider"} | ({"targets"} if resource.kind == "Readiness" else set())
            assert set(resource.secret_keys) <= allowed, (operation, resource.secret_keys)
            shown = {k: v for k, v in resource.outputs.items() if k not in resource.secret_keys}
            places.add("outputs", json.dumps(shown))
            blob = str(resource.inputs["__provider"])
            places.add("__provider blob", blob)
            places.add("__provider blob", base64.b64decode(blob))
        places.add("API answers", _api_answers(api))
        places.add("the emulator's rows (secret values aside)", _rows_but_secret_values(emulator.state_path))
        for path in emulator.state_files():
            places.add(STATE_FILES, path.read_bytes())

    def fails(operation: Callable[[], Any], expected: str) -> None:
        with pytest.raises(EngineError, match=expected) as failure:
            operation()
        places.add("errors", str(failure.value))

    def stored_hf() -> str | None:
        return emulator.secret_value(engine.resource("Project", "research").id, HF_SECRET)

    engine.up()
    after("create")

    stack.write(STACK.replace("replicas: 2", "replicas: 3"))
    engine.secret_config["hfToken"] = HF[1]
    engine.up()
    after("update")
    assert stored_hf() == _digest(HF[1])

    # An update whose instances crash: it fails, and the rotated value is put back.
    stack.write(stack.text().replace("MODE: prod,", 'MODE: prod, EMULATOR_CRASH: "1",'))
    engine.secret_config["hfToken"] = HF[2]
    fails(engine.up, "container exited with code 1")
    after("failed update (instances crash)")
    assert stored_hf() == _digest(HF[1])

    # An update the API refuses until the retries run out; every retry is logged.
    stack.write(stack.text().replace(' EMULATOR_CRASH: "1",', ""))
    engine.secret_config["hfToken"] = HF[3]
    with emulator.admin() as admin:
        plan = {"rate": 1.0, "kinds": ["http429"], "retryAfterSeconds": 0, "paths": ["/v1/deployments"]}
        admin.post("/faults", json={**plan, "methods": ["POST"]}).raise_for_status()
        fails(engine.up, "429")
        admin.delete("/faults").raise_for_status()
    after("failed update (429 until the retries ran out)")
    assert "retrying after attempt" in engine.stderr()

    # An experiment whose new run fails, with a rotated secret.
    stack.write(stack.text().replace('"1",', '"1", EMULATOR_EXIT_CODE: "3",'))
    engine.secret_config["wandbKey"] = WANDB[1]
    fails(engine.up, "exited with code 3")
    after("failed run")

    stack.write(stack.text().replace(' EMULATOR_EXIT_CODE: "3",', ""))
    engine.refresh()
    after("refresh")
    engine.up()
    after("up")
    engine.refresh()
    after("refresh")
    engine.destroy()
    after("destroy")
    assert emulator.objects() == {}

    # A key with a trailing line break or space is refused before any request, and not shown.
    for n, bad in enumerate((KEY + "\n", KEY + " ")):
        before = emulator.stats()["total"]
        broken = ChaosEngine(
            stack.root,
            tmp_path / f"checkpoint-malformed-{n}.json",
            config=config,
            secret_config={"gradient:apiKey": bad, "hfToken": HF[0], "wandbKey": WANDB[0]},
        )
        with pytest.raises(EngineError, match="leading or trailing whitespace") as failure:
            broken.up()
        places.add("errors", str(failure.value))
        places.add("provider stderr", broken.stderr())
        assert emulator.stats()["total"] == before, "a malformed key reached the API"

    places.add("provider stderr", engine.stderr())
    places.add("errors", "\n".join(engine.errors))
    assert any('"deployments"' in text for text in Exports.seen), "the stack's exports were not seen"
    places.add("stack exports", "\n".join(Exports.seen))
    places.add("plan output", _plan(tmp_path / "repo", STACK))
    api.close()

    emulator.process.stop()  # flushes its output and its write-ahead log
    places.add("emulator stdout and stderr", emulator.log_path.read_text())
    for path in emulator.state_files():
        places.add(STATE_FILES_AFTER, path.read_bytes())


def test_the_key_and_secret_values_surface_nowhere(
    canary: CanaryRun, record_property: Callable[[str, object], None]
) -> None:
    assert canary.error is None, canary.error
    hits = canary.places.occurrences([KEY, *SECRETS])
    found = {place: found for place, found in hits.items() if found and place not in EMULATOR_FILES}
    found |= {place: {KEY: hits[place][KEY]} for place in EMULATOR_FILES if hits.get(place, {}).get(KEY)}
    kept = [sum(hits.get(place, {}).get(value, 0) for value in SECRETS) for place in EMULATOR_FILES]
    record_property(
        "summary",
        f"secret canary: the key and {len(SECRETS)} secret values through create, update, 3 failed operations, "
        f"refresh, up, refresh, destroy, 2 malformed keys and plan; {len(canary.places.texts)} places, "
        f"{canary.places.size:,} characters searched: {sum(sum(h.values()) for h in found.values())} occurrences "
        f"(the emulator's SQLite files: {kept[0]} of secret values while the stack lived, {kept[1]} after destroy); "
        f"{canary.seconds:.1f} s",
    )
    assert found == {}


def test_the_emulators_state_files_hold_no_secret_value(canary: CanaryRun) -> None:
    """Paperspace must keep a secret's value to inject it; the emulator never reads one back, so its state
    files need not hold any, and after a secret is deleted none may survive there."""
    if canary.error is not None:
        raise RuntimeError(f"the canary's run failed:\n{canary.error}")
    hits = canary.places.occurrences(SECRETS)
    assert {place: hits.get(place) for place in EMULATOR_FILES} == {place: {} for place in EMULATOR_FILES}


def _digest(value: str) -> str:
    """What the emulator keeps of a secret value."""
    return hashlib.sha256(value.encode()).hexdigest()


def _plan(root: Path, text: str) -> str:
    """`python -m gradient_provider plan` on a change, Markdown and JSON, with the key in the environment."""
    (root / "stacks").mkdir(parents=True)
    (root / "stacks" / "dev.yaml").write_text(text)

    def git(*args: str) -> None:
        command = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args]
        subprocess.run(command, cwd=root, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "stack")
    changed = text.replace("replicas: 2", "replicas: 4").replace("MODE: prod,", "MODE: staging,")
    (root / "stacks" / "dev.yaml").write_text(changed)
    env = {**os.environ, "PAPERSPACE_API_KEY": KEY}
    outputs = []
    for extra in ([], ["--format", "json"]):
        result = subprocess.run(
            [sys.executable, "-m", "gradient_provider", "plan", *extra],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr  # only safe changes (replicas, env)
        outputs += [result.stdout, result.stderr]
    return "\n".join(outputs)
