"""Drive the real dynamic-provider server (``python -u -m pulumi.dynamic``) over gRPC, as the engine does.

The engine's ``pulumi-resource-pulumi-python`` plugin runs that module with the project directory as cwd and
``PULUMI_PROJECT`` set, reads the port from the first stdout line, then calls ``Configure`` with the full
stack config (namespaced keys; secret values wrapped as secrets) before any other call.
"""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from gradient_provider.dynamic import LifecycleProvider

from .emulator import REPO_ROOT, stop_process

PROJECT = "gradient-stacks"


class ProviderCallError(Exception):
    """The server aborted a call; ``details`` is what the engine would show the user."""

    def __init__(self, method: str, details: str) -> None:
        super().__init__(f"{method}: {details}")
        self.details = details


@dataclass(frozen=True)
class DiffAnswer:
    changes: str  # "DIFF_NONE", "DIFF_SOME" or "DIFF_UNKNOWN"
    replaces: list[str]
    delete_before_replace: bool


def _struct(props: Mapping[str, Any]) -> Any:
    return asyncio.run(rpc.serialize_properties(dict(props), {}))


def _plain(struct: Any, keep_unknowns: bool = False) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns))


def provider_blob(provider_class: type[LifecycleProvider]) -> str:
    blob: str = serialize_provider(provider_class())
    return blob


class DynamicProviderServer:
    def __init__(self, process: subprocess.Popen[bytes], port: int, stderr_path: Path) -> None:
        self.process = process
        self.stderr_path = stderr_path
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=300)
        except grpc.RpcError as error:
            raise ProviderCallError(method, error.details() or str(error)) from None

    def configure(self, config: Mapping[str, str], secret_keys: frozenset[str] = frozenset()) -> None:
        # Secret config travels as the engine marshals it: a map tagged with the secret signature.
        wrapped = {
            key: {rpc._special_sig_key: rpc._special_secret_sig, "value": value} if key in secret_keys else value
            for key, value in config.items()
        }
        request = provider_pb2.ConfigureRequest(variables=dict(config), args=_struct(wrapped), acceptSecrets=True)
        self._call("Configure", request)

    def check(
        self, blob: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        request = provider_pb2.CheckRequest(
            olds=_struct({**olds, "__provider": blob} if olds else {}), news=_struct({**news, "__provider": blob})
        )
        response = self._call("Check", request)
        failures = [(failure.property, failure.reason) for failure in response.failures]
        return _plain(response.inputs, keep_unknowns=True), failures

    def diff(self, blob: str, ident: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffAnswer:
        request = provider_pb2.DiffRequest(
            id=ident, olds=_struct({**olds, "__provider": blob}), news=_struct({**news, "__provider": blob})
        )
        response = self._call("Diff", request)
        changes = provider_pb2.DiffResponse.DiffChanges.Name(response.changes)
        return DiffAnswer(changes, list(response.replaces), response.deleteBeforeReplace)

    def create(self, blob: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self._call("Create", provider_pb2.CreateRequest(properties=_struct({**inputs, "__provider": blob})))
        return response.id, _plain(response.properties)

    def read(self, blob: str, ident: str, state: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        response = self._call(
            "Read", provider_pb2.ReadRequest(id=ident, properties=_struct({**state, "__provider": blob}))
        )
        inputs = _plain(response.inputs) if response.HasField("inputs") else {}
        return response.id, _plain(response.properties), inputs

    def update(self, blob: str, ident: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=ident, olds=_struct({**olds, "__provider": blob}), news=_struct({**news, "__provider": blob})
        )
        return _plain(self._call("Update", request).properties)

    def delete(self, blob: str, ident: str, state: Mapping[str, Any]) -> None:
        self._call("Delete", provider_pb2.DeleteRequest(id=ident, properties=_struct({**state, "__provider": blob})))

    def stop(self) -> None:
        self._channel.close()
        stop_process(self.process)


@contextmanager
def dynamic_provider_server(
    extra_env: Mapping[str, str] | None = None, cwd: Path = REPO_ROOT
) -> Iterator[DynamicProviderServer]:
    """``cwd``: the project directory (the repository root a local workspace's path is relative to)."""
    # The engine passes its own environment on; keep any Paperspace or AWS credentials of the test run out of it
    # so that only what Configure sends (or extra_env) reaches the provider.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERSPACE_", "GRADIENT_", "AWS_"))}
    env.update({"PULUMI_PROJECT": PROJECT, **(extra_env or {})})
    with tempfile.NamedTemporaryFile(prefix="dynamic-server-", suffix=".stderr", delete=False) as stderr_file:
        stderr_path = Path(stderr_file.name)
        process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
        )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 60)
    line = process.stdout.readline().decode().strip() if ready else ""
    if not line.isdigit():
        process.kill()
        raise RuntimeError(f"pulumi.dynamic did not print its port; got {line!r}; stderr: {stderr_path.read_text()}")
    server = DynamicProviderServer(process, int(line), stderr_path)
    try:
        yield server
    finally:
        server.stop()
        stderr_path.unlink(missing_ok=True)
