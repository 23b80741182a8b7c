"""An engine stand-in: `pulumi up / preview / refresh / destroy` without the Pulumi CLI.

It runs the real program (``__main__.py`` and a stack file) under pulumi's runtime mocks, and its monitor
forwards every resource registration to the real dynamic-provider server (``python -u -m pulumi.dynamic``,
launched per operation as the engine's plugin host does), following the step rules of pulumi/pulumi
``pkg/resource/deploy/step_generator.go``:

- new resource: Check(olds={}, news) then Create;
- existing: Check(old inputs, news), Diff(id, old outputs, checked) -> Same (DIFF_NONE), Update, or Replace
  when Diff names replaces (create the new one first, delete the old one after the program finishes);
- in state but not in the program: Delete, dependents before what they depend on;
- preview: Check and Diff only; provisional outputs are the checked inputs, anything else unknown;
- refresh: Read(id, outputs); an empty id drops the resource from state;
- secrets: the provider sees plaintext (acceptSecrets=False); an output whose top-level key held a secret input
  is secret in state (the engine's annotateSecrets). The real CLI keeps the secret where the program put it
  (e.g. `secretEnv.HF_TOKEN`, not all of `secretEnv`): the stand-in seals the whole key, more, never less;
  tests/e2e run these scenarios through the real CLI. State is a JSON checkpoint between runs; secret values
  in it are marked and encoded, standing in for the passphrase encryption of a real backend.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tests.support.dynamic_server import PROJECT, DynamicProviderServer, ProviderCallError, dynamic_provider_server
from tests.support.program import EchoMocks, run_program

PROVIDER_KEY = "__provider"
SECRET_SIG = {rpc._special_sig_key: rpc._special_secret_sig}


_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception): ", re.M)


def _provider_message(details: str) -> str:
    """The message of the exception a traceback ends with (all its lines), without the class name."""
    text = details.strip()
    found = list(_EXCEPTION_LINE.finditer(text))
    return text[found[-1].end() :] if found else text


class EngineError(Exception):
    """An operation failed, as `pulumi up` would report it; the checkpoint keeps every step that succeeded."""


@dataclass
class Step:
    op: str  # create, update, replace, same, delete, refresh, refresh-delete
    urn: str


@dataclass
class ResourceState:
    urn: str
    type: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    secret_keys: list[str]
    delete: bool = False  # replaced, and its old object not deleted yet: the next run deletes it first

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]


# -- values ------------------------------------------------------------------------------------------------


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def _contains_secret(value: Any) -> bool:
    if _is_secret(value):
        return True
    if isinstance(value, dict):
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secret(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    """Secrets unwrapped (the provider never sees markers) and Unknowns as the engine's unknown string."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if _is_secret(value):
        return _plain(value["value"])
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _struct(props: Mapping[str, Any]) -> Any:
    _ensure_event_loop()  # type: ignore[no-untyped-call]
    return _sync_await(rpc.serialize_properties(dict(props), {}))


def _from_struct(struct: Any, keep_unknowns: bool = False) -> dict[str, Any]:
    return {k: _plain(v) for k, v in rpc.deserialize_properties(struct, keep_unknowns).items()}


def _seal(value: Any) -> dict[str, Any]:
    return {**SECRET_SIG, "ciphertext": base64.b64encode(json.dumps(value).encode()).decode()}


def _unseal(value: Any) -> Any:
    if _is_secret(value) and "ciphertext" in value:
        return json.loads(base64.b64decode(value["ciphertext"]))
    return value


# -- the engine --------------------------------------------------------------------------------------------


class Engine:
    def __init__(
        self,
        root: Path,
        stack: str,
        state_path: Path,
        *,
        config: Mapping[str, str] | None = None,
        secret_config: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.stack = stack
        self.state_path = state_path
        self.config = dict(config or {})
        self.secret_config = dict(secret_config or {})

    # state ---------------------------------------------------------------------------------------------

    def state(self) -> list[ResourceState]:
        if not self.state_path.exists():
            return []
        raw = json.loads(self.state_path.read_text())
        resources = []
        for item in raw["resources"]:
            for part in ("inputs", "outputs"):
                item[part] = {k: _unseal(v) for k, v in item[part].items()}
            resources.append(ResourceState(**item))
        return resources

    def resource(self, kind: str, name: str) -> ResourceState:
        found = [r for r in self.state() if r.kind == kind and r.name == name and not r.delete]
        assert len(found) == 1, f"{kind} {name!r} is in state {len(found)} times"
        return found[0]

    def _save(self, resources: list[ResourceState]) -> None:
        items = []
        for resource in resources:
            item = asdict(resource)
            for part in ("inputs", "outputs"):
                item[part] = {k: _seal(v) if k in resource.secret_keys else v for k, v in item[part].items()}
            items.append(item)
        self.state_path.write_text(json.dumps({"version": 3, "resources": items}, indent=2, sort_keys=True))

    # operations ----------------------------------------------------------------------------------------

    @contextmanager
    def _provider(self) -> Iterator[DynamicProviderServer]:
        """A fresh provider process per operation, configured with the full stack config, as the engine does."""
        namespaced = {self._key(k): v for k, v in {**self.config, **self.secret_config}.items()}
        secret = frozenset(self._key(k) for k in self.secret_config)
        with dynamic_provider_server() as server:
            server.configure(namespaced, secret_keys=secret)
            yield server

    @staticmethod
    def _key(key: str) -> str:
        return key if ":" in key else f"{PROJECT}:{key}"

    def up(self) -> list[Step]:
        return self._deploy(preview=False)

    def preview(self) -> list[Step]:
        return self._deploy(preview=True)

    def _deploy(self, preview: bool) -> list[Step]:
        state = self.state()
        pending = [r for r in state if r.delete]
        old = {r.urn: r for r in state if not r.delete}
        with self._provider() as server:
            run = _Run(server, old, preview)
            failure: BaseException | None = None
            try:
                run_program(
                    self.stack,
                    monitor=_EngineMonitor(run),
                    config=self.config,
                    secret_config=self.secret_config,
                    preview=preview,
                    root=self.root,
                )
            except BaseException as error:
                failure = run.failure or error
            if failure is None and not preview:
                leftovers = pending + [r for urn, r in old.items() if urn not in run.registered] + run.replaced
                try:
                    for resource in _dependents_first(leftovers):
                        run.delete(resource)
                except EngineError as error:
                    failure = error
            if not preview:
                self._save(run.checkpoint(pending))
        if failure is not None:
            raise EngineError(str(failure)) from None
        return run.steps

    def refresh(self) -> list[Step]:
        steps: list[Step] = []
        kept: list[ResourceState] = []
        with self._provider() as server:
            for resource in self.state():
                request = provider_pb2.ReadRequest(
                    id=resource.id, urn=resource.urn, properties=_struct(resource.outputs)
                )
                response = server._call("Read", request)
                if not response.id:
                    steps.append(Step("refresh-delete", resource.urn))
                    continue
                resource.id = response.id
                resource.outputs = _from_struct(response.properties)
                if response.HasField("inputs"):
                    resource.inputs = _from_struct(response.inputs)
                kept.append(resource)
                steps.append(Step("refresh", resource.urn))
        self._save(kept)
        return steps

    def destroy(self) -> list[Step]:
        resources = self.state()
        steps: list[Step] = []
        with self._provider() as server:
            run = _Run(server, {r.urn: r for r in resources}, preview=False)
            try:
                for resource in _dependents_first(resources):
                    run.delete(resource)
            finally:
                gone = {id(r) for r in run.deleted}
                self._save([r for r in resources if id(r) not in gone])
                steps = run.steps
        return steps


def _dependents_first(resources: list[ResourceState]) -> list[ResourceState]:
    """Deletion order: a resource goes only after every resource (in the list) that depends on it."""
    remaining = list(resources)
    ordered: list[ResourceState] = []
    while remaining:
        urns = {r.urn for r in remaining}
        needed = {dep for r in remaining for dep in r.dependencies if dep in urns}
        ready = [r for r in remaining if r.urn not in needed] or remaining[:1]
        ordered += ready
        remaining = [r for r in remaining if r not in ready]
    return ordered


@dataclass
class _Run:
    """One deployment: the steps taken and the new checkpoint entries, filled in as the program registers."""

    server: DynamicProviderServer
    old: dict[str, ResourceState]
    preview: bool
    steps: list[Step] = field(default_factory=list)
    new: dict[str, ResourceState] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    registered: set[str] = field(default_factory=set)
    replaced: list[ResourceState] = field(default_factory=list)
    deleted: list[ResourceState] = field(default_factory=list)
    failure: EngineError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _call(self, method: str, request: Any) -> Any:
        try:
            return self.server._call(method, request)
        except ProviderCallError as error:
            # The server sends the whole traceback; it ends with the provider's own message (which may span
            # lines, e.g. a failed run's log tail), after the exception's class name.
            message = _provider_message(error.details)
            failure = EngineError(f"{method} failed: {message}")
            with self.lock:
                self.failure = self.failure or failure
            raise failure from None

    def _check(self, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        response = self._call("Check", provider_pb2.CheckRequest(urn=urn, olds=_struct(olds), news=_struct(news)))
        if response.failures:
            reasons = "; ".join(f"{f.property}: {f.reason}" for f in response.failures)
            failure = EngineError(f"{urn}: invalid inputs: {reasons}")
            with self.lock:
                self.failure = self.failure or failure
            raise failure
        return _from_struct(response.inputs, keep_unknowns=True)

    def _create(self, urn: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self._call("Create", provider_pb2.CreateRequest(urn=urn, properties=_struct(inputs)))
        return response.id, _from_struct(response.properties)

    def register(
        self, urn: str, type_: str, inputs: dict[str, Any], secret_keys: list[str], dependencies: list[str]
    ) -> tuple[str, dict[str, Any]]:
        with self.lock:
            self.registered.add(urn)
            old = self.old.get(urn)
        if old is None:
            checked = self._check(urn, {}, inputs)
            if self.preview:
                self._step("create", urn)
                return "", checked
            ident, outputs = self._create(urn, checked)
            op = "create"
        else:
            checked = self._check(urn, old.inputs, inputs)
            diff = self._call(
                "Diff", provider_pb2.DiffRequest(id=old.id, urn=urn, olds=_struct(old.outputs), news=_struct(checked))
            )
            if diff.changes == provider_pb2.DiffResponse.DIFF_NONE:
                ident, outputs, op = old.id, old.outputs, "same"
            elif diff.replaces:
                if self.preview:
                    self._step("replace", urn)
                    return "", checked
                ident, outputs = self._create(urn, self._check(urn, {}, inputs))
                op = "replace"
                with self.lock:
                    self.replaced.append(old)
            else:
                if self.preview:
                    self._step("update", urn)
                    return old.id, checked
                response = self._call(
                    "Update",
                    provider_pb2.UpdateRequest(id=old.id, urn=urn, olds=_struct(old.outputs), news=_struct(checked)),
                )
                ident, outputs, op = old.id, _from_struct(response.properties), "update"
        self._step(op, urn)
        if not self.preview:
            with self.lock:
                self.new[urn] = ResourceState(urn, type_, ident, checked, outputs, dependencies, secret_keys)
                self.order.append(urn)
        return ident, outputs

    def delete(self, resource: ResourceState) -> None:
        self._call(
            "Delete", provider_pb2.DeleteRequest(id=resource.id, urn=resource.urn, properties=_struct(resource.outputs))
        )
        self._step("delete", resource.urn)
        with self.lock:
            self.deleted.append(resource)

    def _step(self, op: str, urn: str) -> None:
        with self.lock:
            self.steps.append(Step(op, urn))

    def checkpoint(self, pending: list[ResourceState]) -> list[ResourceState]:
        """The new state: untouched old resources, then those this run registered, then pending deletes."""
        gone = {id(r) for r in self.deleted}
        kept = [r for urn, r in self.old.items() if urn not in self.new and id(r) not in gone]
        waiting = [replace(r, delete=True) for r in pending + self.replaced if id(r) not in gone]
        return kept + [self.new[urn] for urn in self.order] + waiting


class _EngineMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, run: _Run) -> None:
        super().__init__(EchoMocks())
        self.run = run

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()  # type: ignore[no-untyped-call]
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        secret_keys = sorted(key for key, value in raw.items() if _contains_secret(value))
        inputs = {key: _plain(value) for key, value in raw.items()}
        ident, outputs = self.run.register(urn, request.type, inputs, secret_keys, sorted(request.dependencies))
        shown = {k: {**SECRET_SIG, "value": v} if k in secret_keys else v for k, v in outputs.items()}
        return resource_pb2.RegisterResourceResponse(urn=urn, id=ident, object=_struct(shown))
