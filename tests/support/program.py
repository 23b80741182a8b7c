"""Run the real Pulumi program (``__main__.py``) under pulumi's runtime mocks and record what it declares.

``Monitor`` is a MockMonitor that keeps every RegisterResource request as the engine would receive it:
type, name, the serialized inputs (with their secret markers) and the dependencies. What a resource's
outputs are is the mocks' business (``Mocks.new_resource``): the plain ``EchoMocks`` echo the inputs and
add an id; the engine harness answers through the real dynamic-provider server instead.
"""

from __future__ import annotations

import asyncio
import os
import runpy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from .dynamic_server import PROJECT
from .emulator import REPO_ROOT


@dataclass
class Registration:
    type: str
    name: str
    inputs: dict[str, Any]  # deserialized (secrets unwrapped), without __provider
    raw: Any  # the serialized struct, secret markers and all
    dependencies: list[str]
    urn: str = ""

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    def is_secret(self, *path: str) -> bool:
        """Whether the serialized input at ``path`` (e.g. "env", "HF_TOKEN") carries Pulumi's secret marker."""
        value: Any = self.raw
        for part in path:
            value = value.fields[part] if hasattr(value, "fields") else value.struct_value.fields[part]
            struct = value.struct_value if value.HasField("struct_value") else None
            if struct is not None and rpc._special_sig_key in struct.fields:
                return bool(struct.fields[rpc._special_sig_key].string_value == rpc._special_secret_sig)
        return False


class Monitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = _unwrap_secrets(dict(rpc.deserialize_properties(request.object)))
            inputs.pop("__provider", None)
            self.registrations.append(
                Registration(
                    request.type, request.name, inputs, request.object, sorted(request.dependencies), response.urn
                )
            )
        return response

    def by_name(self, kind: str, name: str) -> Registration:
        found = [r for r in self.registrations if r.kind == kind and r.name == name]
        assert len(found) == 1, f"{kind} {name!r} registered {len(found)} times"
        return found[0]


def _unwrap_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _unwrap_secrets(value["value"])
        return {key: _unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(item) for item in value]
    return value


class EchoMocks(pulumi_mocks.Mocks):
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        ident = f"{args.name}-id"
        return ident, {**args.inputs, "modelId": f"{args.name}-model" if "model" in args.inputs else None}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_program(
    stack: str,
    monitor: pulumi_mocks.MockMonitor | None = None,
    *,
    config: Mapping[str, str] | None = None,
    secret_config: Mapping[str, str] | None = None,
    preview: bool = False,
    root: Path = REPO_ROOT,
) -> Any:
    """Run ``root/__main__.py`` for ``stack``; raise what the program raised, after recording what it declared.

    Config keys without a namespace are put in the project's namespace, as ``pulumi config set`` does.
    """

    def namespaced(key: str) -> str:
        return key if ":" in key else f"{PROJECT}:{key}"

    all_config = {namespaced(k): v for k, v in {**(config or {}), **(secret_config or {})}.items()}
    pulumi.runtime.set_all_config(all_config, [namespaced(k) for k in secret_config or {}])
    loop = asyncio.new_event_loop()  # a fresh loop per run: outputs are bound to theirs
    # When a resource fails, outputs that depended on it hold the same error; the program's failure is raised
    # below, so asyncio's "exception was never retrieved" reports would only repeat it.
    loop.set_exception_handler(lambda _loop, _context: None)
    asyncio.set_event_loop(loop)
    monitor = monitor or Monitor(EchoMocks())
    pulumi_mocks.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    with _working_directory(root):

        def program() -> None:
            runpy.run_path(str(root / "__main__.py"), run_name="__main__")

        _sync_await(run_pulumi_func(program))
    return monitor
