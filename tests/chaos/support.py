"""What the chaos, crash and canary suites share.

- ``StackDir``: a Pulumi project directory (the real ``__main__.py``) with a stack file a test rewrites.
- ``logged_emulator``: an emulator process whose stdout and stderr go to a file and whose state is a SQLite
  file, so both can be searched afterwards.
- ``ChaosEngine``: the engine harness (tests/engine/harness.py), keeping what each provider process printed on
  stderr and exposing the running provider process, so a test can kill it.
- ``audit``: what the emulator holds, against the checkpoint and the stack file: orphans, duplicates, lost
  updates.
- ``FaultMix`` and ``Ledger``: a seeded fault plan, and the faults it injected, counted by kind.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import yaml

from tests.engine.harness import Engine, EngineError, ResourceState
from tests.support.dynamic_server import DynamicProviderServer, dynamic_provider_server
from tests.support.emulator import REPO_ROOT, EmulatorProcess, start_emulator, stop_process

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MIX = ("http500", "http503", "http429", "reset", "lost_response")
STATUS_OF_FAULT = {"http500": 500, "http503": 503, "http429": 429}
TEAM = "team-dev"


# -- the project directory -----------------------------------------------------------------------------------


class StackDir:
    """A Pulumi project: the real __main__.py and stacks/dev.yaml, rewritten between runs."""

    def __init__(self, root: Path, text: str) -> None:
        self.root = root
        (root / "stacks").mkdir(parents=True)
        shutil.copy(REPO_ROOT / "__main__.py", root / "__main__.py")
        self.write(text)

    @property
    def path(self) -> Path:
        return self.root / "stacks" / "dev.yaml"

    def write(self, text: str) -> None:
        self.path.write_text(text)

    def text(self) -> str:
        return self.path.read_text()

    def declared(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The stack file as plain data: section -> key -> entry."""
        data: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(self.text()) or {}
        return data


# -- the emulator, with its output and state on disk ---------------------------------------------------------


@dataclass
class LoggedEmulator:
    process: EmulatorProcess
    log_path: Path  # stdout and stderr
    state_path: Path  # the SQLite file (with -wal and -shm beside it)
    key: str

    @property
    def api_url(self) -> str:
        return self.process.api_url

    def client(self) -> httpx.Client:
        return self.process.client(self.key)

    def stats(self) -> dict[str, Any]:
        return self.process.stats()

    def reset(self) -> None:
        self.process.reset()

    def admin(self) -> httpx.Client:
        return self.process.admin()

    def objects(self) -> dict[str, int]:
        found: dict[str, int] = self.stats()["objects"].get(TEAM, {})
        return found

    def state_files(self) -> list[Path]:
        return [p for p in (self.state_path, *self._siblings()) if p.exists()]

    def _siblings(self) -> list[Path]:
        return [self.state_path.with_name(self.state_path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]

    def secret_value(self, project_id: str, name: str) -> str | None:
        """The digest (sha256, hex) the emulator keeps of a project secret's value (the API never returns it,
        and the emulator stores no value). A secret that does not exist is an AssertionError."""
        with sqlite3.connect(f"file:{self.state_path}?mode=ro", uri=True) as db:
            row = db.execute(
                "SELECT data FROM objects WHERE kind = 'secret' AND id = ?", (f"{project_id}/{name}",)
            ).fetchone()
        assert row is not None, f"no secret {name} in project {project_id}"
        value = json.loads(row[0]).get("sha256")
        return None if value is None else str(value)


@contextmanager
def logged_emulator(
    directory: Path, *, key: str, time_scale: float = 0.05, log_level: str = "warning"
) -> Iterator[LoggedEmulator]:
    directory.mkdir(parents=True, exist_ok=True)
    log_path, state_path = directory / "emulator.log", directory / "state.sqlite"
    with log_path.open("w") as log:
        started = start_emulator(
            "--log-level",
            log_level,
            "--api-key",
            f"{key}:{TEAM}",
            state=str(state_path),
            time_scale=time_scale,
            stderr=log,
        )
    emulator = LoggedEmulator(started, log_path, state_path, key)
    process = started.process
    try:
        yield emulator
    finally:
        stop_process(process)
        assert process.stdout is not None
        rest = process.stdout.read()
        with log_path.open("a") as log:
            log.write(f"listening on {started.api_url}\n" + rest)
        process.stdout.close()


# -- the engine ----------------------------------------------------------------------------------------------


class ChaosEngine(Engine):
    """The engine harness, keeping each provider process's stderr and letting a test reach the running one."""

    def __init__(
        self,
        root: Path,
        state_path: Path,
        *,
        config: Mapping[str, str],
        secret_config: Mapping[str, str],
        on_server: Callable[[DynamicProviderServer], None] | None = None,
    ) -> None:
        super().__init__(root, "dev", state_path, config=config, secret_config=secret_config)
        self.on_server = on_server
        self.stderr_texts: list[str] = []
        self.errors: list[str] = []

    @contextmanager
    def _provider(self) -> Iterator[DynamicProviderServer]:
        namespaced = {self._key(k): v for k, v in {**self.config, **self.secret_config}.items()}
        secret = frozenset(self._key(k) for k in self.secret_config)
        with dynamic_provider_server() as server:
            try:
                server.configure(namespaced, secret_keys=secret)
                if self.on_server is not None:
                    self.on_server(server)
                yield server
            finally:
                self.stderr_texts.append(server.stderr())

    def stderr(self) -> str:
        return "\n".join(self.stderr_texts)

    def until_done(self, operation: Callable[[], Any], attempts: int) -> int:
        """Run ``operation`` (up or destroy) again after each failure, as a user would; the failures it took."""
        for failures in range(attempts):
            try:
                operation()
                return failures
            except EngineError as error:
                self.errors.append(str(error))
        raise AssertionError(f"still failing after {attempts} attempts; last: {self.errors[-1]}")


def retries_in(stderr: str) -> tuple[int, int]:
    """(retried attempts, creates recovered after a lost answer) as the provider logged them."""
    return stderr.count("retrying after attempt"), stderr.count("the earlier attempt was applied")


# -- what the emulator holds -----------------------------------------------------------------------------------


def _pages(api: httpx.Client, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {**(params or {}), "limit": 120}
    items: list[dict[str, Any]] = []
    while True:
        page = api.get(path, params=query).raise_for_status().json()
        items += page["items"]
        if not page.get("hasMore"):
            return items
        query["after"] = page["nextPage"]


@dataclass
class Live:
    """Everything of the team, read through the API (GETs only: never faulted)."""

    projects: list[dict[str, Any]]
    deployments: list[dict[str, Any]]
    workflows: dict[str, list[dict[str, Any]]]  # project id -> workflows
    runs: dict[str, list[dict[str, Any]]]  # workflow id -> runs, oldest first
    secrets: dict[str, list[str]]  # project id -> names
    models: dict[str, list[dict[str, Any]]]  # project id -> models

    @classmethod
    def read(cls, api: httpx.Client) -> Live:
        projects = _pages(api, "/projects")
        workflows = {
            p["id"]: api.get("/workflows", params={"projectId": p["id"]}).raise_for_status().json() for p in projects
        }
        runs = {
            w["id"]: sorted(_pages(api, f"/workflows/{w['id']}/runs"), key=lambda run: int(run["id"]))
            for items in workflows.values()
            for w in items
        }
        return cls(
            projects=projects,
            deployments=_pages(api, "/deployments"),
            workflows=workflows,
            runs=runs,
            secrets={p["id"]: [s["name"] for s in _pages(api, f"/projects/{p['id']}/secrets")] for p in projects},
            models={p["id"]: _pages(api, "/models", {"projectId": p["id"]}) for p in projects},
        )

    def counts(self) -> dict[str, int]:
        found = {
            "project": len(self.projects),
            "deployment": len(self.deployments),
            "workflow": sum(len(items) for items in self.workflows.values()),
            "run": sum(len(items) for items in self.runs.values()),
            "secret": sum(len(items) for items in self.secrets.values()),
            "model": sum(len(items) for items in self.models.values()),
        }
        return {kind: count for kind, count in found.items() if count}

    def workflow(self, ident: str) -> tuple[str, dict[str, Any]] | None:
        for project_id, items in self.workflows.items():
            for item in items:
                if item["id"] == ident:
                    return project_id, item
        return None


@dataclass
class Audit:
    orphans: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    lost_updates: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.orphans or self.duplicates or self.lost_updates)

    def __str__(self) -> str:
        parts = [f"{name}: {items}" for name, items in vars(self).items() if items]
        return "; ".join(parts) or "clean"


def _secret_refs(env: Mapping[str, Any]) -> set[str]:
    return {str(v).removeprefix("secret:") for v in env.values() if str(v).startswith("secret:")}


def _spec_env(spec: Mapping[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in spec.get("env") or []}


def _train_job(run: Mapping[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = ((run.get("spec") or {}).get("jobs") or {}).get("train") or {}
    return job


def _registered_model(run: Mapping[str, Any]) -> str | None:
    jobs = ((run.get("status") or {}).get("jobs")) or {}
    for job in jobs.values():
        value = (job.get("outputs") or {}).get("model-id")
        if value:
            return str(value)
    return None


def audit(
    api: httpx.Client,
    engine: Engine,
    stack: StackDir,
    *,
    runs: Mapping[str, int],
    secret_config: Mapping[str, str],
    emulator: LoggedEmulator | None = None,
) -> tuple[Audit, Live]:
    """Compare what the emulator holds with the checkpoint (orphans), with the declared resources (duplicates)
    and with what the stack file says (lost updates). ``runs``: how many runs each experiment must have. With
    ``emulator``, each secret's stored value is compared with the secret config too."""
    live = Live.read(api)
    checker = _Auditor(live, engine.state(), stack.declared(), runs, secret_config, emulator)
    checker.orphans()
    checker.projects()
    checker.experiments()
    checker.deployments()
    return checker.found, live


@dataclass
class _Auditor:
    live: Live
    state: list[ResourceState]
    declared: dict[str, dict[str, dict[str, Any]]]
    runs: Mapping[str, int]
    secret_config: Mapping[str, str]
    emulator: LoggedEmulator | None
    found: Audit = field(default_factory=Audit)
    project_ids: dict[str, str | None] = field(default_factory=dict)  # stack key -> tracked id
    models: dict[str, str | None] = field(default_factory=dict)  # experiment key -> model of its latest run

    def orphans(self) -> None:
        live, orphans = self.live, self.found.orphans
        tracked = {(r.kind, r.id) for r in self.state}
        orphans += [f"project {p['id']} {p['name']!r}" for p in live.projects if ("Project", p["id"]) not in tracked]
        orphans += [
            f"deployment {d['id']} {d['name']!r}" for d in live.deployments if ("Deployment", d["id"]) not in tracked
        ]
        orphans += [
            f"workflow {w['id']} {w['name']!r}"
            for items in live.workflows.values()
            for w in items
            if ("Experiment", w["id"]) not in tracked
        ]
        orphans += [f"pending delete of {r.kind} {r.name} ({r.id})" for r in self.state if r.delete]
        # A secret is accounted for when the live spec of a tracked deployment, or the latest run of a tracked
        # workflow, refers to it, or when the state lists it as retired (deleted once nothing can use it).
        used: set[tuple[str, str]] = set()
        for resource in self.state:
            project_id = str(resource.outputs.get("projectId"))
            used |= {(project_id, name) for name in resource.outputs.get("retiredSecrets") or []}
        for deployment in live.deployments:
            if ("Deployment", deployment["id"]) in tracked:
                env = _spec_env((deployment.get("latestSpec") or {}).get("data") or {})
                used |= {(deployment["projectId"], name) for name in _secret_refs(env)}
        for project_id, workflows in live.workflows.items():
            for workflow in workflows:
                history = live.runs.get(workflow["id"]) or []
                if ("Experiment", workflow["id"]) in tracked and history:
                    used |= {(project_id, name) for name in _secret_refs(_train_job(history[-1]).get("env") or {})}
        orphans += [
            f"secret {name} of project {project_id}"
            for project_id, names in live.secrets.items()
            for name in names
            if (project_id, name) not in used
        ]
        # Each run registers one model: more models than registering runs would be a run started twice.
        for project_id, models in live.models.items():
            made = sum(
                1
                for workflow in live.workflows.get(project_id, [])
                for run in live.runs.get(workflow["id"], [])
                if _registered_model(run)
            )
            if len(models) != made:
                self.found.duplicates.append(f"project {project_id}: {len(models)} models, its runs registered {made}")

    def _tracked(self, kind: str, key: str) -> str | None:
        found = [r for r in self.state if r.kind == kind and r.name == key and not r.delete]
        if len(found) != 1:
            self.found.lost_updates.append(f"{kind} {key} is declared but in the checkpoint {len(found)} times")
            return None
        return found[0].id

    def _outputs(self, kind: str, key: str) -> dict[str, Any]:
        return next((r.outputs for r in self.state if r.kind == kind and r.name == key and not r.delete), {})

    def projects(self) -> None:
        for key, entry in (self.declared.get("projects") or {}).items():
            name = entry.get("name", key)
            same = [p for p in self.live.projects if p["name"] == name]
            if len(same) != 1:
                self.found.duplicates.append(f"{len(same)} projects named {name!r}")
            ident = self.project_ids[key] = self._tracked("Project", key)
            project = next((p for p in self.live.projects if p["id"] == ident), None)
            if ident is not None and project is None:
                self.found.lost_updates.append(f"project {key} ({ident}) is gone")
            elif project is not None and project["name"] != name:
                self.found.lost_updates.append(f"project {key} is named {project['name']!r}, not {name!r}")

    def _env(self, what: str, project_id: str, live_env: Mapping[str, Any], declared: Mapping[str, Any]) -> None:
        for var, value in declared.items():
            seen = live_env.get(var)
            if not isinstance(value, dict):
                if seen != str(value):
                    self.found.lost_updates.append(f"{what}: env {var} is {seen!r}, not {value!r}")
                continue
            name = str(seen).removeprefix("secret:")
            if not str(seen).startswith("secret:"):
                self.found.lost_updates.append(f"{what}: env {var} is {seen!r}, not a secret reference")
            elif name not in self.live.secrets.get(project_id, []):
                self.found.lost_updates.append(f"{what}: secret {name} is missing")
            elif self.emulator is not None:
                stored = self.emulator.secret_value(project_id, name)
                expected = hashlib.sha256(self.secret_config[value["secret"]].encode()).hexdigest()
                if stored != expected:
                    self.found.lost_updates.append(f"{what}: secret {name} is not the value of {value['secret']!r}")

    def _differences(self, what: str, wanted: Mapping[str, Any], seen: Mapping[str, Any]) -> None:
        self.found.lost_updates += [f"{what}: {k} is {seen[k]!r}, not {v!r}" for k, v in wanted.items() if seen[k] != v]

    def experiments(self) -> None:
        for key, entry in (self.declared.get("experiments") or {}).items():
            what = f"experiment {key}"
            project_id, name = self.project_ids.get(entry["project"]), entry.get("name", key)
            same = [w for w in self.live.workflows.get(project_id or "", []) if w["name"] == name]
            if len(same) != 1:
                self.found.duplicates.append(f"{len(same)} workflows named {name!r} in project {project_id}")
            ident = self._tracked("Experiment", key)
            where = self.live.workflow(ident) if ident else None
            if ident is None or where is None:
                self.found.lost_updates.append(f"{what}: workflow {ident} is not live")
                continue
            history = self.live.runs.get(ident, [])
            if len(history) != self.runs[key]:
                self.found.duplicates.append(f"{what}: {len(history)} runs, {self.runs[key]} expected")
            if not history:
                self.found.lost_updates.append(f"{what}: no run")
                continue
            latest, train = history[-1], _train_job(history[-1])
            wanted = {
                "project": project_id,
                "image": entry["image"],
                "args": ["sh", "-c", entry["command"]],
                "instance-type": entry["machineType"],
                "phase": "Succeeded",
            }
            seen = {
                "project": where[0],
                "image": (train.get("with") or {}).get("image"),
                "args": (train.get("with") or {}).get("args"),
                "instance-type": (train.get("resources") or {}).get("instance-type"),
                "phase": (latest.get("status") or {}).get("phase"),
            }
            self._differences(what, wanted, seen)
            self._env(what, where[0], train.get("env") or {}, entry.get("env") or {})
            model = self.models[key] = _registered_model(latest)
            # the model the stack reports: the Readiness resource's, for an experiment it waited for
            waited = self._outputs("Readiness", "readiness").get("statuses", {}).get(f"experiments.{key}")
            output = (waited or self._outputs("Experiment", key)).get("modelId")
            if entry.get("model") and (model is None or output != model):
                self.found.lost_updates.append(f"{what}: modelId output {output}, its latest run registered {model}")

    def deployments(self) -> None:
        for key, entry in (self.declared.get("deployments") or {}).items():
            what = f"deployment {key}"
            project_id, name = self.project_ids.get(entry["project"]), entry.get("name", key)
            same = [d for d in self.live.deployments if d["projectId"] == project_id and d["name"] == name]
            if len(same) != 1:
                self.found.duplicates.append(f"{len(same)} deployments named {name!r} in project {project_id}")
            ident = self._tracked("Deployment", key)
            deployment = next((d for d in self.live.deployments if d["id"] == ident), None)
            if deployment is None:
                self.found.lost_updates.append(f"{what}: deployment {ident} is not live")
                continue
            spec = deployment.get("latestSpec") or {}
            config = spec.get("data") or {}
            resources = config.get("resources") or {}
            wanted = {
                "projectId": project_id,
                "name": name,
                "image": entry["image"],
                "machineType": entry["machineType"],
                "ports": entry.get("ports", [80]),
                "replicas": entry.get("replicas", 1),
                "model": [self.models.get(entry["model"])] if entry.get("model") else [],
                "healthy": True,
            }
            seen = {
                "projectId": deployment["projectId"],
                "name": config.get("name"),
                "image": config.get("image"),
                "machineType": resources.get("machineType"),
                "ports": resources.get("ports"),
                "replicas": resources.get("replicas"),
                "model": [i.get("id") for i in config.get("integrations") or [] if i.get("type") == "model"],
                "healthy": bool(spec.get("dtHealthy")),
            }
            self._differences(what, wanted, seen)
            self._env(what, deployment["projectId"], _spec_env(config), entry.get("env") or {})


# -- faults ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultMix:
    """A seeded plan of faults on writes; the emulator draws from ``random.Random(seed)`` as ``replay`` does."""

    rate: float
    seed: int
    kinds: tuple[str, ...] = MIX
    methods: tuple[str, ...] = WRITE_METHODS

    def body(self) -> dict[str, Any]:
        # Retry-After 0: a 429 costs no wall time; every other wait is the provider's own backoff.
        return {
            "rate": self.rate,
            "kinds": list(self.kinds),
            "seed": self.seed,
            "methods": list(self.methods),
            "retryAfterSeconds": 0,
        }

    def replay(self, eligible: int) -> Counter[str]:
        """The faults the emulator injected into ``eligible`` requests: its FaultPlan.draw, step for step."""
        rng = random.Random(self.seed)
        drawn: Counter[str] = Counter()
        for _ in range(eligible):
            if rng.random() < self.rate:
                drawn[rng.choice(list(self.kinds))] += 1
        return drawn


@dataclass
class Ledger:
    """Calls and faults of one run, from the emulator's statistics and the fault plan."""

    calls: int
    writes: int
    faults: Counter[str]
    statuses: Counter[int]  # of the eligible (write) requests

    @classmethod
    def of(cls, mix: FaultMix, stats: Mapping[str, Any]) -> Ledger:
        rows = [row for row in stats["byRoute"] if row["method"] in mix.methods]
        statuses: Counter[int] = Counter()
        for row in rows:
            statuses[int(row["status"])] += int(row["count"])
        eligible = sum(statuses.values())
        return cls(int(stats["total"]), eligible, mix.replay(eligible), statuses)

    def mismatches(self) -> list[str]:
        """Where the statistics disagree with the replayed plan: a 5xx or 429 nobody injected, say."""
        problems = [
            f"{status}: {self.statuses[status]} answered, {self.faults[kind]} injected"
            for kind, status in STATUS_OF_FAULT.items()
            if self.statuses[status] != self.faults[kind]
        ]
        dropped = self.faults["reset"] + self.faults["lost_response"]
        if self.statuses[0] != dropped:
            problems.append(f"dropped connections: {self.statuses[0]} seen, {dropped} injected")
        return problems

    @property
    def injected(self) -> int:
        return sum(self.faults.values())

    def describe(self) -> str:
        kinds = ", ".join(f"{kind} {self.faults[kind]}" for kind in MIX)
        return f"{self.calls} calls ({self.writes} writes), {self.injected} faults: {kinds}"


K = TypeVar("K", bound=Hashable)


class Background(Generic[K]):
    """Commands run as subprocesses from the repository root, two at a time; each one's result is the JSON
    document it prints. The suites run their scenarios this way: the harness runs the Pulumi program in process
    (pulumi's runtime state is global), so independent scenarios can only overlap as processes."""

    def __init__(self, commands: Mapping[K, list[str]], workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._lock = threading.Lock()
        self._processes: list[subprocess.Popen[str]] = []
        self._closed = False
        self._futures = {key: self._pool.submit(self._run, command) for key, command in commands.items()}

    def __enter__(self) -> Background[K]:
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._closed = True
            for process in self._processes:
                if process.poll() is None:
                    process.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, command: list[str]) -> dict[str, Any]:
        with self._lock:
            if self._closed:
                raise RuntimeError("canceled")
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            self._processes.append(process)
        stdout, stderr = process.communicate()
        try:
            result: dict[str, Any] = json.loads(stdout)
        except ValueError:
            what = " ".join(command[1:])
            raise AssertionError(f"{what} printed no result (exit {process.returncode}): {stderr}") from None
        return result

    def result(self, key: K, timeout: float = 900) -> dict[str, Any]:
        return self._futures[key].result(timeout=timeout)


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.005) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
