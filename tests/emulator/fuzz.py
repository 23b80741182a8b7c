"""The emulator's input fuzzer: seeded random and hostile requests against every route of ``/v1``.

It builds a small world over HTTP (projects, a secret, a deployment, a workflow with a run, a model, a dataset
with versions), then sends EMULATOR_FUZZ_REQUESTS requests (default DEFAULT_REQUESTS) drawn by a generator
seeded with EMULATOR_FUZZ_SEED (default 0): every route the emulator serves (read from its router, so a new
route is fuzzed without being listed here), real and hostile path ids, odd query strings (cursors, limits,
filters, unknown parameters) and bodies (valid ones mutated: wrong types, missing and unknown fields, huge
strings, deep nesting, NaN-like tokens, long numbers, lone surrogates; and raw text that is no JSON at all).

For every answer it asserts: no 5xx (the fuzzer never enables injected faults, and checks that none are on);
a non-200 answer is a v1 error body (tests/support/contract.py ERROR_SCHEMA) whose code matches its status; a
200 answer is within the operation's contract. Afterwards, and again once the clock has moved past every run
and rollout, every list endpoint of the team (each parent the world and the fuzz made, every page) answers 200.

``python -m tests.emulator.fuzz`` starts its own emulator and prints the figures (docs/reliability.md).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
from starlette.routing import Route

from emulator.app import build_app
from emulator.settings import Settings
from emulator.store import Store
from tests.support.contract import ERROR_SCHEMA, problems
from tests.support.emulator import DEV_KEY, EmulatorProcess, running_emulator

from .contract import operation_for, validate_response

DEFAULT_REQUESTS = 1500
OTHER_KEY = "other-key"  # a second team's key: the session emulator (tests/conftest.py) and main() accept it
CODES_OF_STATUS = {
    400: {"BAD_REQUEST", "PARSE_ERROR"},
    401: {"UNAUTHORIZED"},
    403: {"FORBIDDEN"},
    404: {"NOT_FOUND"},
    405: {"METHOD_NOT_SUPPORTED"},
    409: {"CONFLICT"},
    413: {"PAYLOAD_TOO_LARGE"},
}
ONE_MIB = 1024 * 1024
MAX_HEAD = 12 * 1024  # request line and headers, well under the 16 KiB uvicorn's h11 parser takes


def settings() -> tuple[int, int]:
    """(requests, seed) from EMULATOR_FUZZ_REQUESTS and EMULATOR_FUZZ_SEED."""
    return int(os.environ.get("EMULATOR_FUZZ_REQUESTS", DEFAULT_REQUESTS)), int(
        os.environ.get("EMULATOR_FUZZ_SEED", "0")
    )


# -- JSON text with what json.dumps will not write -------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text put into a body verbatim: NaN tokens, 5,000-digit numbers, 100,000 levels of nesting."""

    text: str


def encode(value: Any, ascii_only: bool = True) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        members = (f"{json.dumps(k, ensure_ascii=ascii_only)}:{encode(v, ascii_only)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(item, ascii_only) for item in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def nested(depth: int, kind: str = "[") -> Raw:
    if kind == "[":
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


def hostile_values() -> list[Any]:
    return [
        Raw("NaN"),
        Raw("Infinity"),
        Raw("-Infinity"),
        Raw("1e400"),
        Raw("-1e400"),
        Raw("9" * 5000),
        Raw("1" + "0" * 64),
        Raw("0." + "0" * 100 + "1"),
        Raw(str(2**53)),
        Raw(str(-(2**53) - 7)),
        Raw("-0"),
        Raw("1E+2"),
        Raw("4.9e-324"),
        "\ud800",
        "\udfff",
        "a\udc80b",
        "\ud83d\ude00",
        "\ud83d",
        "\x00",
        "\u202e\u200b",
        "é" * 10,
        "",
        " ",
        "x" * 100_000,
        "a" * 257,
        "secret:NOPE",
        "../../etc/passwd",
        "${jndi:ldap://x}",
        "' OR '1'='1",
        0,
        -1,
        1,
        2**53 - 1,
        -(2**53) + 1,
        1.5,
        -0.0,
        1e308,
        True,
        False,
        None,
        [],
        {},
        [None],
        {"": None},
        nested(33),
        nested(40, "{"),
        nested(1000),
        nested(100_000),
        Raw("[" + ",".join(["1"] * 10_000) + "]"),
        ["x"] * 200,
        {f"k{i}": i for i in range(300)},
    ]


LIMITS = ["1", "20", "120", "121", "0", "-1", "-0", "+5", " 5", "1.5", "1e2", "٣", "abc", "", "9" * 30, "9" * 5000]
HOOK_VALUES = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1", "1_0", " 5", "0", "1e6", "1000001", "٣", "0x10"]
HOSTILE_IDS = [
    "",
    "0",
    "-1",
    "1",
    "2",
    "999999999999999999999999999999",
    "9" * 5000,
    "²",
    "٣",
    "1e3",
    "0x10",
    " 1",
    "NaN",
    "Infinity",
    "null",
    "undefined",
    "[]",
    "{}",
    "%",
    "%ff",
    "%00",
    "...",  # (not "." or "..": the client resolves those, and DELETE /x/{id}/.. would delete x)
    "%2e%2e",
    "a/b",
    "\x00",
    "é",
    "😀",
    "\ufffd",
    "\u202e",
    "' OR '1'='1",
    "<script>",
    "a" * 2000,
    "p" + "a" * 10,
    "d000000000000",
    "ds0000000000000",
    "mo000000000000",
    "ds0000000000000:abc1234",
]
RAW_BODIES: list[bytes] = [
    b"",
    b"{",
    b"}",
    b"null",
    b"[]",
    b"1",
    b'"s"',
    b"NaN",
    b"-Infinity",
    b"{'a': 1}",
    b'{"a":1,}',
    b'{"name":"a"} {"name":"b"}',
    b'{"name":"a"}garbage',
    b'{"name":"\\ud800"}',
    b'{"name":"\\x"}',
    b'{"name":"a\x00b"}',
    b"\xef\xbb\xbf{}",
    b"\xff\xfe{\x00}\x00",
    '{"name":"é"}'.encode("utf-16"),
    b'{"name":"\xed\xa0\x80"}',  # a surrogate in (invalid) UTF-8
    b'{"name":"\xc3"}',
    b"\x00" * 16,
    b'{"a":' * 100_000,
    b"[" * 200_000,
    b'{"name":' + b"9" * 5000 + b"}",
    b'{"name":"' + b"a" * (ONE_MIB + 1) + b'"}',  # one byte over the bound
]


# -- the routes and the world ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str  # "/projects/{id}/secrets/{name}", without /v1


def endpoints() -> list[Endpoint]:
    """Every /v1 route the emulator serves, from its router (HEAD is GET's twin and answers no body)."""
    store = Store(":memory:")
    try:
        app = build_app(Settings(), store)
    finally:
        store.close()
    found = []
    for route in app.router.routes:
        if isinstance(route, Route) and route.path.startswith("/v1/"):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                found.append(Endpoint(method, route.path.removeprefix("/v1")))
    return found


# The kind of object a path parameter names, by the segment before it.
_KIND_BEFORE = {
    "projects": "project",
    "deployments": "deployment",
    "workflows": "workflow",
    "models": "model",
    "datasets": "dataset",
    "versions": "version",
    "secrets": "secret",
    "runs": "run",
}


@dataclass
class World:
    """What exists: ids by kind, the world's own (never deleted, so every route keeps real targets) first."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    base: set[str] = field(default_factory=set)
    runs: dict[str, list[str]] = field(default_factory=dict)  # workflow -> run numbers and uuids
    versions: dict[str, list[str]] = field(default_factory=dict)  # dataset -> versions
    secrets: dict[str, list[str]] = field(default_factory=dict)  # project -> secret names
    cursors: list[str] = field(default_factory=list)

    def add(self, kind: str, ident: str, base: bool = False) -> None:
        pool = self.ids.setdefault(kind, [])
        if ident not in pool:
            pool.append(ident)
        if base:
            self.base.add(ident)


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"world setup: {response.request.url}: {response.text[:300]}"
    return response.json()


def deployment_config(name: str = "api") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "name": name,
        "image": "paperspace/fastapi-deployment:latest",
        "env": [{"name": "EMULATOR_READY_SECONDS", "value": "1"}, {"name": "MODE", "value": "prod"}],
        "resources": {
            "machineType": "C4",
            "ports": [8000],
            "replicas": 2,
            "autoscaling": {
                "enabled": True,
                "maxReplicas": 4,
                "metrics": [{"metric": "cpu", "summary": "average", "value": 75}],
            },
        },
    }


def workflow_spec(seconds: str = "2") -> dict[str, Any]:
    return {
        "defaults": {"resources": {"instance-type": "C4"}, "env": {"EMULATOR_RUN_SECONDS": seconds}},
        "timeout": 3600,
        "jobs": {
            "train": {
                "uses": "container@v1",
                "with": {"image": "pytorch/pytorch:2.3.0", "args": ["python", "train.py"]},
                "outputs": {"weights": {"type": "volume"}},
                "env": {"EMULATOR_EXIT_CODE": "0"},
            },
            "register": {
                "uses": "create-model@v1",
                "needs": ["train"],
                "with": {"name": "fuzzed", "type": "Custom"},
                "inputs": {"model": "train.outputs.weights"},
                "outputs": {"model-id": {"type": "string"}},
            },
        },
    }


def build_world(client: httpx.Client) -> World:
    world = World()
    project = _ok(client.post("/projects", json={"name": "fuzz"}))["id"]
    world.add("project", project, base=True)
    world.add("project", _ok(client.post("/projects", json={"name": "empty"}))["id"], base=True)
    _ok(client.post(f"/projects/{project}/secrets", json={"name": "TOKEN", "value": "s3cr3t"}))
    world.secrets[project] = ["TOKEN"]
    deployment = _ok(client.post("/deployments", json={"projectId": project, "config": deployment_config()}))
    world.add("deployment", deployment["deploymentId"], base=True)
    dataset = _ok(client.post("/datasets", json={"name": "images", "isPublic": False}))["id"]
    world.add("dataset", dataset, base=True)
    version = _ok(client.post(f"/datasets/{dataset}/versions", json={"message": "first", "tags": "a,b"}))
    _ok(client.put(f"/datasets/{dataset}/versions/{version['version']}", json={"isCommitted": True}))
    draft = _ok(client.post(f"/datasets/{dataset}/versions", json={}))
    world.versions[dataset] = [version["version"], draft["version"]]
    model = _ok(client.post("/models", json={"name": "base", "isPublic": False, "projectId": project}))
    world.add("model", model["id"], base=True)
    body = {"name": "train", "projectId": project, "spec": workflow_spec(), "run": True}
    workflow = _ok(client.post("/workflows", json=body))
    world.add("workflow", workflow["id"], base=True)
    world.runs[workflow["id"]] = [str(workflow["run"]["id"]), workflow["run"]["uuid"]]
    for _ in range(3):  # enough projects for a second page at limit=1, so real cursors exist
        _ok(client.post("/projects", json={"name": "filler"}))
    page = _ok(client.get("/projects", params={"limit": 1}))
    world.cursors.append(page["nextPage"])
    return world


# -- one request -------------------------------------------------------------------------------------------


@dataclass
class Request:
    endpoint: Endpoint
    method: str
    path: str  # encoded, without /v1
    query: str
    body: bytes | None
    headers: dict[str, str]


class Generator:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.hostile = hostile_values()

    # paths

    def path(self, endpoint: Endpoint, method: str) -> str:
        """The path with its parameters filled: mostly real ids, else hostile ones. A DELETE never names one
        of the world's own objects as its target, so every route keeps a real object to work on."""
        parts = endpoint.template.strip("/").split("/")
        filled: list[str] = []
        context: dict[str, str] = {}
        for index, part in enumerate(parts):
            if not part.startswith("{"):
                filled.append(part)
                continue
            kind = _KIND_BEFORE.get(parts[index - 1], "project")
            value = self._real_id(kind, context) if self.rng.random() < 0.75 else self.rng.choice(HOSTILE_IDS)
            if method == "DELETE" and index == len(parts) - 1 and value in self.world.base:
                value = self.rng.choice(HOSTILE_IDS)
            context[kind] = value
            filled.append(quote(value, safe=""))
        path = "/" + "/".join(filled)
        if self.rng.random() < 0.02:
            path += "/"
        return path

    def _real_id(self, kind: str, context: dict[str, str]) -> str:
        if kind == "run":
            return self.rng.choice(self.world.runs.get(context.get("workflow", ""), ["1"]))
        if kind == "version":
            return self.rng.choice(self.world.versions.get(context.get("dataset", ""), ["abc1234"]))
        if kind == "secret":
            return self.rng.choice(self.world.secrets.get(context.get("project", ""), ["TOKEN"]))
        pool = self.world.ids.get(kind) or ["none"]
        if self.rng.random() < 0.5:  # half the time one of the world's own, which have children to reach
            pool = [ident for ident in pool if ident in self.world.base] or pool
        return self.rng.choice(pool)

    # queries

    def cursor(self) -> str:
        rng = self.rng
        real = rng.choice(self.world.cursors)

        def b64(text: str) -> str:
            return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")

        return rng.choice(
            [
                real,
                real[:-1],
                real + "A",
                real + "==",
                real.upper(),
                "",
                "!!!",
                "é",
                "%ff",
                "a" * 5000,
                b64("seq:-1"),
                b64("seq:" + "9" * 30),
                b64("seq:" + "9" * 5000),
                b64("seq:²"),
                b64("seq:1:2"),
                b64("dtModified:nan:1"),
                b64("dtModified:inf:1"),
                b64("dtModified:1e999:1"),
                b64("dtModified:" + "9" * 400 + ":1"),
                b64("dtModified:1.5:" + "9" * 40),
                b64("dtCreated:1:1"),
                b64("\ud800"),
                b64("\x00\x00"),
                base64.b64encode(bytes(rng.randrange(256) for _ in range(12))).decode(),
            ]
        )

    def query(self) -> str:
        rng = self.rng
        if rng.random() < 0.3:
            return ""
        pairs: list[tuple[str, str]] = []
        for _ in range(rng.randint(1, 4)):
            key = rng.choice(
                ["limit", "after", "orderBy", "order", "name", "projectId", "privacy", "tags", "teamId", "junk"]
            )
            pairs.append((key, self._query_value(key)))
        if rng.random() < 0.05:
            return "&".join(f"{k}={rng.choice(['%zz', '%ff%fe', '%00', '%', '&&', '=='])}" for k, _ in pairs)
        return urlencode(pairs)

    def _query_value(self, key: str) -> str:
        rng = self.rng
        if key == "after":
            return self.cursor()
        if key == "limit":
            return rng.choice(
                [
                    "1",
                    "20",
                    "120",
                    "121",
                    "0",
                    "-1",
                    "-0",
                    "+5",
                    " 5",
                    "1.5",
                    "1e2",
                    "٣",
                    "abc",
                    "",
                    "9" * 30,
                    "9" * 5000,
                ]
            )
        if key == "orderBy":
            return rng.choice(["dtCreated", "dtModified", "name", "", "dtcreated", "\x00"])
        if key == "order":
            return rng.choice(["asc", "desc", "ASC", "", "sideways"])
        if key == "projectId":
            return rng.choice([*self.world.ids["project"], *HOSTILE_IDS[:12]])
        if key == "privacy":
            return rng.choice(["PUBLIC", "PRIVATE", "public", "", "ALL"])
        if key == "tags":
            return rng.choice(["a", "a,b", ",,,", "a" * 3000, "é,😀", ""])
        return rng.choice(["x", "", "a" * 3000, "é", "😀", "\x00", "null", "[]"])

    # bodies

    def template(self, endpoint: Endpoint) -> Any:
        world, rng = self.world, self.rng
        project = rng.choice(world.ids["project"])
        method, template = endpoint.method, endpoint.template
        if method == "POST" and template == "/deployments":
            body: dict[str, Any] = {"projectId": project, "config": self._config()}
            if rng.random() < 0.15:
                body["deploymentId"] = rng.choice(world.ids["deployment"])
            if rng.random() < 0.15:
                body["config"]["env"][0]["value"] = rng.choice(HOOK_VALUES)
            return body
        if method == "POST" and template == "/workflows":
            body = {"name": "w", "projectId": project, "spec": self._spec(), "run": rng.random() < 0.5}
            return body | self._run_inputs()
        if method == "POST" and template == "/workflows/{id}/runs":
            body = {"spec": self._spec(), "markDefault": rng.random() < 0.3, "meta": {"by": "fuzz"}}
            return body | self._run_inputs()
        if method == "PUT" and template == "/workflows/{id}":
            return {"name": "renamed"}
        if method == "POST" and template == "/models":
            return {"name": "m", "isPublic": False, "projectId": project, "description": "d"}
        if method == "POST" and template == "/datasets":
            return {"name": "d", "isPublic": rng.random() < 0.5, "description": None}
        if template.endswith("/versions"):
            return {"message": "m", "tags": "a,b", "metadata": {"k": "v"}}
        if template.endswith("/versions/{version}"):
            return {"isCommitted": rng.random() < 0.7, "message": "m", "tags": "c"}
        if template.endswith("/secrets"):
            return {"name": rng.choice(["NEW", "TOKEN", "B_2"]), "value": "v"}
        if template.endswith("/secrets/{name}"):
            return {"value": "v2"}
        return {"name": rng.choice(["n", "Research", "tag-1"])}

    def _config(self) -> dict[str, Any]:
        """A deployment config in one of its shapes: v1 with autoscaling, v1 with a model integration and
        health checks, or the legacy v0alpha0."""
        rng, world = self.rng, self.world
        config = deployment_config(rng.choice(["api", "web"]))
        shape = rng.random()
        if shape < 0.3:
            model = rng.choice(world.ids["model"])
            config["integrations"] = [{"type": "model", "name": "weights", "id": model, "path": "/opt/model"}]
            config["healthChecks"] = {"readiness": {"path": "/ready", "port": 8000, "periodSeconds": 5}}
            config["enabled"] = rng.random() < 0.8
        elif shape < 0.5:
            config = {
                "apiVersion": "v0alpha0",
                "name": config["name"],
                "image": "nginx:1",
                "port": 8080,
                "env": config["env"],
                "resources": {"instanceType": "C4", "replicas": rng.choice([0, 1, 3])},
                "models": [{"id": rng.choice(world.ids["model"]), "path": "/opt/m"}],
            }
        if rng.random() < 0.15:
            config["env"][0]["value"] = rng.choice(HOOK_VALUES)
        return config

    def _spec(self) -> dict[str, Any]:
        """A workflow spec: train then register a model, sometimes reading and writing the world's dataset."""
        rng = self.rng
        spec = workflow_spec(rng.choice(["1", "2", "0.5"]))
        if rng.random() < 0.4:
            dataset = rng.choice(self.world.ids["dataset"])
            spec["inputs"] = {"data": {"type": "dataset", "with": {"ref": dataset}}, "lr": {"type": "string"}}
            train = spec["jobs"]["train"]
            train["inputs"] = {"data": "workflow.inputs.data"}
            train["outputs"]["cleaned"] = {"type": "dataset", "with": {"ref": dataset}}
        if rng.random() < 0.15:
            hook = rng.choice(["EMULATOR_RUN_SECONDS", "EMULATOR_EXIT_CODE"])
            spec["jobs"]["train"]["env"][hook] = rng.choice(HOOK_VALUES)
        if rng.random() < 0.1:
            spec["jobs"]["train"]["env"]["EMULATOR_EXIT_CODE"] = "3"
        return spec

    def _run_inputs(self) -> dict[str, Any]:
        if self.rng.random() < 0.7:
            return {}
        dataset = self.rng.choice(self.world.ids["dataset"])
        versions = self.world.versions.get(dataset, [])
        ref = f"{dataset}:{self.rng.choice(versions)}" if versions and self.rng.random() < 0.5 else dataset
        return {"inputs": {"data": {"type": "dataset", "with": {"ref": ref}}, "lr": {"type": "string", "with": {}}}}

    def body(self, endpoint: Endpoint) -> tuple[bytes | None, dict[str, str]]:
        rng = self.rng
        headers = {"content-type": "application/json"}
        if endpoint.method in ("GET", "DELETE") and rng.random() < 0.9:
            return None, {}
        if rng.random() < 0.12:
            raw = rng.choice(RAW_BODIES)
            if len(raw) > ONE_MIB and rng.random() < 0.8:
                raw = b"{}"  # keep the 1 MiB bodies to a few per thousand requests
            return raw, headers
        document = copy.deepcopy(self.template(endpoint))
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            document = self.mutate(document)
        ascii_only = rng.random() < 0.7
        text = encode(document, ascii_only)
        if rng.random() < 0.05:
            headers["content-type"] = rng.choice(["text/plain", "application/x-www-form-urlencoded", ""])
        return text.encode("utf-8", "surrogatepass"), headers

    def _hostile(self) -> Any:
        # A copy: the same list or object inserted twice and then mutated could come to hold itself.
        return copy.deepcopy(self.rng.choice(self.hostile))

    def mutate(self, document: Any) -> Any:
        rng = self.rng
        slots = list(_slots(document))
        if not slots:
            return self._hostile()
        parent, key = rng.choice(slots)
        action = rng.random()
        if action < 0.45:
            parent[key] = self._hostile()
        elif action < 0.6 and isinstance(parent, dict):
            del parent[key]
        elif action < 0.75:
            target = parent if isinstance(parent, dict) else document
            if isinstance(target, dict):
                target[rng.choice(["unknown", "\ud800", "", "x" * 300, "config", "spec"])] = self._hostile()
        else:
            value = parent[key]
            parent[key] = rng.choice([[value], {"value": value}, str(value)[:1000], 1, None])
        return document

    def request(self, endpoints_: list[Endpoint]) -> Request:
        rng = self.rng
        endpoint = rng.choice(endpoints_)
        method = endpoint.method
        if rng.random() < 0.02:
            method = rng.choice(["PATCH", "PUT", "DELETE", "POST", "GET"])  # mostly the wrong method
        path = self.path(endpoint, method)
        query = self.query() if method == "GET" or rng.random() < 0.1 else ""
        body, headers = self.body(Endpoint(method, endpoint.template))
        roll = rng.random()
        if roll < 0.02:
            headers["authorization"] = ""
        elif roll < 0.04:
            headers["authorization"] = f"Bearer {OTHER_KEY}"
        elif roll < 0.05:
            headers["authorization"] = "Bearer " + rng.choice(
                ["x" * 3000, " emulator-dev-key", "emulator-dev-key x", "null"]
            )
        if endpoint.template == "/deployments" and rng.random() < 0.2:
            for name in ("x-git-actor", "x-git-host", "x-git-owner", "x-git-ref", "x-git-repo", "x-git-sha"):
                headers[name] = rng.choice(["github", "gitlab", "x" * 500, "", "main", "a b"])
        # The request line and headers stay under uvicorn's (h11's) 16 KiB: past that uvicorn answers a plain
        # 400 itself and the request never reaches the API (docs/emulator.md, Request bodies).
        headers_size = sum(len(k) + len(v) for k, v in headers.items())
        for _ in range(20):
            if len(path) + len(query) + headers_size <= MAX_HEAD:
                break
            if query:
                query = ""
            else:
                path = self.path(endpoint, method)
        return Request(endpoint, method, path, query, body, headers)


def _slots(document: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every value inside a document (not inside Raw text)."""
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                yield node, key
                pending.append(value)
        elif isinstance(node, list):
            for index, value in enumerate(node[:50]):
                yield node, index
                pending.append(value)


# -- running it --------------------------------------------------------------------------------------------


@dataclass
class Figures:
    requests: int = 0
    seed: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    list_checks: int = 0
    seconds: float = 0.0
    bytes_sent: int = 0

    @property
    def by_class(self) -> dict[str, int]:
        classes: Counter[str] = Counter()
        for status, count in self.by_status.items():
            classes[f"{status // 100}xx" if status else "no answer"] += count
        return dict(sorted(classes.items()))

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.by_status.items() if status >= 500)

    def summary(self) -> str:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.by_status.items()))
        classes = ", ".join(f"{name}: {count}" for name, count in self.by_class.items())
        return (
            f"emulator fuzz (seed {self.seed}): {self.requests} requests to {len(self.by_endpoint)} routes in "
            f"{self.seconds:.1f} s ({self.bytes_sent / ONE_MIB:.1f} MiB sent); by class {classes}; by status "
            f"{statuses}; 5xx: {self.server_errors}; failures: {len(self.failures)}; list endpoints answering 200 "
            f"afterwards: {self.list_checks}"
        )


def check_answer(response: httpx.Response) -> list[str]:
    """What is wrong with one answer of the fuzzed emulator (nothing, usually)."""
    status = response.status_code
    if status >= 500:
        return [f"{status}: {response.text[:300]}"]
    if 300 <= status < 400:
        return [f"redirect {status} to {response.headers.get('location')}: not a v1 answer"]
    try:
        body = response.json()
    except ValueError:
        return [f"{status}: the body is not JSON: {response.text[:200]!r}"]
    if status != 200:
        found = problems(ERROR_SCHEMA, body)
        if not found and body["code"] not in CODES_OF_STATUS.get(status, set()):
            found.append(f"code {body['code']} with status {status}")
        return [f"{status} error body: {problem}" for problem in found]
    path = response.request.url.path.removeprefix("/v1")
    name = operation_for(response.request.method, path)
    if name is None:
        return [] if path == "/health" else ["200 for no v1 operation"]
    try:
        validate_response(name, body)
    except AssertionError as error:
        return [str(error)[:500]]
    return []


def _learn(world: World, request: Request, response: httpx.Response) -> None:
    """Keep what a successful request made, so later requests reach it."""
    if response.status_code != 200 or request.method != "POST":
        return
    body = response.json()
    template = request.endpoint.template
    if isinstance(body, dict):
        if template in ("/projects", "/models", "/datasets", "/workflows") and "id" in body:
            world.add(template.strip("/").removesuffix("s"), body["id"])
        if template == "/deployments":
            world.add("deployment", body["deploymentId"])
        if template == "/workflows/{id}/runs" or "run" in body:
            run = body.get("run", body)
            workflow = request.path.split("/")[2] if template != "/workflows" else body["id"]
            world.runs.setdefault(workflow, []).extend([str(run["id"]), run["uuid"]])
        if template == "/projects/{id}/secrets":
            world.secrets.setdefault(request.path.split("/")[2], []).append(body["name"])
        if template == "/datasets/{datasetId}/versions":
            world.versions.setdefault(body["datasetId"], []).append(body["version"])
        if "nextPage" in body:
            world.cursors.append(body["nextPage"])


def send(client: httpx.Client, request: Request) -> httpx.Response:
    url = "/v1" + request.path + (f"?{request.query}" if request.query else "")
    headers = dict(request.headers)
    if "authorization" not in headers:
        headers["authorization"] = f"Bearer {DEV_KEY}"
    elif not headers["authorization"]:
        del headers["authorization"]
    return client.request(request.method, url, content=request.body, headers=headers)


def fuzz(emulator: EmulatorProcess, requests: int, seed: int) -> Figures:
    figures = Figures(seed=seed)
    rng = random.Random(seed)
    with emulator.admin() as admin:
        assert admin.get("/faults").json()["faults"] is None, "faults are injected: the fuzzer needs them off"
    emulator.reset()
    routes = endpoints()
    started = time.monotonic()
    with emulator.client(DEV_KEY) as setup:
        world = build_world(setup)
    generator = Generator(world, rng)
    client = httpx.Client(base_url=emulator.root_url, timeout=30)
    try:
        for _ in range(requests):
            request = generator.request(routes)
            figures.requests += 1
            figures.bytes_sent += len(request.body or b"")
            figures.by_endpoint[f"{request.endpoint.method} {request.endpoint.template}"] += 1
            try:
                response = send(client, request)
            except (httpx.HTTPError, httpx.InvalidURL) as error:
                figures.by_status[0] += 1
                figures.failures.append(f"{_describe(request)}: no answer ({type(error).__name__}: {error})")
                client.close()
                client = httpx.Client(base_url=emulator.root_url, timeout=30)
                continue
            figures.by_status[response.status_code] += 1
            figures.failures += [f"{_describe(request)}: {problem}" for problem in check_answer(response)]
            if response.status_code >= 500:  # the server may have closed the connection after it
                client.close()
                client = httpx.Client(base_url=emulator.root_url, timeout=30)
                continue
            _learn(world, request, response)
    finally:
        client.close()
    with emulator.admin() as admin:
        assert admin.get("/faults").json()["faults"] is None, "faults were turned on while fuzzing"
    figures.list_checks, failures = check_lists(emulator, world, routes)
    figures.failures += failures
    figures.seconds = time.monotonic() - started
    return figures


def _describe(request: Request) -> str:
    body = (request.body or b"")[:120]
    more = f"… ({len(request.body or b'')} bytes)" if request.body and len(request.body) > 120 else ""
    return f"{request.method} /v1{request.path[:150]}?{request.query[:150]} body {body!r}{more}"


def list_urls(world: World, routes: list[Endpoint]) -> Iterator[str]:
    """Every list the team has: each GET route ending in a collection (run logs too), for every parent the world
    and the fuzz made, plus the documented filters and orders."""
    for endpoint in routes:
        parts = endpoint.template.strip("/").split("/")
        if endpoint.method != "GET" or parts[-1].startswith("{") or parts[0] in ("health", "auth"):
            continue
        for filled in _fill(world, parts, 0, {}):
            yield "/" + "/".join(filled)
    yield "/datasets?privacy=PUBLIC"
    yield "/datasets?privacy=PRIVATE"
    for project in world.ids.get("project", []):
        yield from (f"/workflows?projectId={project}", f"/models?projectId={project}")
    for workflow in world.ids.get("workflow", []):
        yield f"/workflows/{workflow}/runs?orderBy=dtModified&order=desc"
    for dataset in world.ids.get("dataset", []):
        yield f"/datasets/{dataset}/versions?tags=a"


def _fill(world: World, parts: list[str], index: int, context: dict[str, str]) -> Iterator[list[str]]:
    if index == len(parts):
        yield []
        return
    part = parts[index]
    if not part.startswith("{"):
        values = [part]
    else:
        kind = _KIND_BEFORE.get(parts[index - 1], "project")
        if kind == "run":
            values = world.runs.get(context.get("workflow", ""), [])
        elif kind == "version":
            values = world.versions.get(context.get("dataset", ""), [])
        else:
            values = world.ids.get(kind, [])
    for value in values:
        for rest in _fill(world, parts, index + 1, {**context, _KIND_BEFORE.get(parts[index - 1], ""): value}):
            yield [quote(value, safe=""), *rest]


def check_lists(emulator: EmulatorProcess, world: World, routes: list[Endpoint]) -> tuple[int, list[str]]:
    """Every list endpoint of the team answers 200 within the contract, page after page, before and after every
    run and rollout has finished. An object the fuzz deleted answers 404, as it should."""
    checked, failures = 0, []
    # A fresh connection per request: an answer that failed must not take the next one down with it.
    with emulator.client(DEV_KEY, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for moment in ("now", "after every run and rollout"):
            if moment != "now":
                emulator.advance(2_000_000)  # past the longest hook (1,000,000 s) at any time scale up to 2
            for url in list_urls(world, routes):
                try:
                    for response in _pages(client, url):
                        if response.status_code == 404 and not any(b in url for b in world.base):
                            continue  # the fuzz deleted it
                        checked += 1
                        problems_ = check_answer(response) if response.status_code == 200 else [response.text[:300]]
                        failures += [f"GET {url} ({moment}): {response.status_code} {p}" for p in problems_]
                except httpx.HTTPError as error:
                    failures.append(f"GET {url} ({moment}): no answer ({type(error).__name__}: {error})")
    return checked, failures


def _pages(client: httpx.Client, url: str) -> Iterator[httpx.Response]:
    """Each page of a list (a plain array is one page), 120 items at a time."""
    path, _, query = url.partition("?")
    params = dict(parse_qsl(query))
    if not path.endswith("/workflows") and not (path.startswith("/deployments/") and path.endswith("/runs")):
        params["limit"] = "120"
    for _ in range(1000):
        response = client.get(path, params=params)
        yield response
        body = response.json() if response.status_code == 200 else None
        after = body.get("nextPage") if isinstance(body, dict) else None
        if not after:
            return
        params["after"] = after


def main() -> int:
    requests, seed = settings()
    keys = ("--api-key", f"{DEV_KEY}:team-dev", "--api-key", f"{OTHER_KEY}:team-other")
    with running_emulator(*keys) as emulator:
        figures = fuzz(emulator, requests, seed)
    print(figures.summary())
    for failure in figures.failures[:50]:
        print("  " + failure)
    return 1 if figures.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
