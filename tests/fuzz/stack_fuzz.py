"""A stack-file fuzzer: hostile shapes and seeded mutations of the repository's stack files, through `validate`.

Every case is written to a file and checked the way `python -m gradient_provider validate FILE` checks it,
in this process (``gradient_provider.__main__.validate``), and a handful also through the real CLI in a
subprocess. For each it asserts:

- the exit code is 0 or 1, and nothing escapes as an exception (no traceback) or an "internal error" line;
- every line on stdout is ``FILE:LINE: path: message`` with LINE within the file (1 to its lines + 1), and a
  failed file has at least one; a valid file prints nothing there, and its review plan renders;
- no line repeats a credential the case planted;
- it takes under ``MAX_SECONDS`` and its peak memory is under ``MAX_MEGABYTES`` (in process: the rise of the
  process's peak resident memory during the check, see ``MemoryMeter``; for the CLI: the whole interpreter's
  peak resident memory).

The cases are the hostile shapes below (always all of them), then mutants of the seeds up to the number of
files asked for: byte flips, inserted hostile snippets, replaced values, duplicated, deleted and re-indented
lines, splices, and changes to the parsed data dumped back as YAML. The same seed gives the same files.

    python -m tests.fuzz.stack_fuzz                      # the default run: 1,000 files, seed 0
    FUZZ_FILES=5000 FUZZ_SEED=7 python -m tests.fuzz.stack_fuzz
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gradient_provider.__main__ import validate
from gradient_provider.review.plan import plan_stack
from gradient_provider.review.render import to_json, to_markdown
from gradient_provider.stack import StackFile, load_stack, parse_stack
from gradient_provider.yaml_source import MAX_BYTES

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_SECONDS = 2.0
MAX_MEGABYTES = 200.0
DEFAULT_FILES = 1000
CLI_CASES = 2  # mutants also run through the real CLI, after four of the worst hostile shapes
_BREAK = re.compile(rb"\r\n|[\r\n]|\xc2\x85|\xe2\x80[\xa8\xa9]")
_LINE = re.compile(r"^(?P<file>.+?):(?P<line>[0-9]+): (?P<path>.+?): (?P<message>.+)$")

# Credentials a case may plant; no output may hold one. A token counts where the rules see one: starting a
# word (a mutation can glue one into the middle of a key, `machinexoxb-…Type`, which is no token shape).
CANARIES = [
    "ghp_" + "Zq8xW2vN4mK7pL9sR3tY6uB1cD5eF0gH2jA4",
    "hf_" + "QwErTyUiOpAsDfGhJkLzXcVbNm123456",
    "AKIA" + "Q3EXAMPLE7Z2R4T6",
    "xoxb-" + "123456789012-abcdefGHIJKL",
    "sk-" + "proj-aB3dE5fG7hJ9kL1mN3pQ5rS7",
    "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
]
PASSWORD = "hunter2-canary"  # planted only under names that say secret: there a literal of any length is one
_LOADER: type[Any] = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
_DUMPER: type[Any] = yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper


@dataclass
class Case:
    name: str
    data: bytes
    base: str | None = None  # the seed a mutant came from: its plan is reviewed against it


@dataclass
class Figures:
    files: int = 0
    valid: int = 0
    invalid: int = 0
    tracebacks: int = 0
    cli_files: int = 0
    slowest: tuple[float, str] = (0.0, "")
    peak_megabytes: tuple[float, str] = (0.0, "")
    cli_slowest: tuple[float, str] = (0.0, "")
    cli_peak_megabytes: tuple[float, str] = (0.0, "")
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"stack-file fuzz: {self.files} files ({self.valid} valid, {self.invalid} invalid), "
            f"{self.tracebacks} tracebacks, {len(self.failures)} failures; "
            f"slowest {self.slowest[0]:.3f} s ({self.slowest[1]}), "
            f"peak {self.peak_megabytes[0]:.1f} MB ({self.peak_megabytes[1]}); "
            f"CLI: {self.cli_files} files, slowest {self.cli_slowest[0]:.2f} s ({self.cli_slowest[1]}), "
            f"peak RSS {self.cli_peak_megabytes[0]:.0f} MB ({self.cli_peak_megabytes[1]}); "
            f"total {self.seconds:.1f} s"
        )


# -- cases -------------------------------------------------------------------------------------------------


def seeds() -> list[str]:
    """The repository's stack files, a compact one, and a larger generated one."""
    texts = [path.read_text() for path in sorted((REPO_ROOT / "stacks").glob("*.yaml"))]
    texts.append(
        "projects:\n  research: {name: Research}\nexperiments:\n  train:\n    project: research\n"
        "    image: pytorch/pytorch:2.3.0\n    command: python train.py\n    machineType: A100-80G\n"
        "    model: {name: resnet50}\ndeployments:\n  api:\n    project: research\n"
        "    image: paperspace/fastapi-deployment:latest\n    machineType: C4\n    ports: [8000]\n    replicas: 2\n"
        "    model: train\n    env: {HF_TOKEN: {secret: hfToken}, MODE: prod}\n"
        "    autoscaling: {maxReplicas: 4, metrics: [{metric: cpu, summary: average, value: 70}]}\n"
    )
    large = {
        "projects": {f"p{i}": {"name": f"Project {i}"} for i in range(10)},
        "experiments": {
            f"e{i}": {"project": f"p{i % 10}", "image": "x", "command": "train", "machineType": "A4000"}
            for i in range(20)
        },
        "deployments": {
            f"d{i}": {"project": f"p{i % 10}", "image": "x", "machineType": "C4", "env": {"A": "1"}} for i in range(30)
        },
    }
    texts.append(yaml.dump(large, Dumper=_DUMPER, sort_keys=False))
    return texts


def _bomb(width: int, levels: int) -> str:
    lines = ["a0: &a0 [" + ",".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


_ENTRY = "deployments:\n  api:\n    project: research\n    image: x\n    machineType: C4\n"
_HEAD = "projects:\n  research: {}\n"


def hostile() -> list[Case]:
    """The shapes that broke `validate` before (issue #12) and their relatives: always run, all of them."""
    numeric = [
        "    autoscaling: {{maxReplicas: 2, metrics: [{{metric: cpu, summary: average, value: {v}}}]}}\n",
        "    replicas: {v}\n",
        "    ports: [{v}]\n",
        "    timeoutSeconds: {v}\n",
        "    autoscaling: {{maxReplicas: {v}, metrics: []}}\n",
        "    healthChecks: {{readiness: {{path: /, periodSeconds: {v}}}}}\n",
    ]
    shapes: dict[str, str | bytes] = {
        "billion laughs 9x9": _bomb(9, 9),
        "billion laughs 10x10": _bomb(10, 10),
        "billion laughs 40x6": _bomb(40, 6),
        "recursive alias (mapping)": "projects: &a\n  x: *a\n",
        "recursive alias (sequence)": "a: &a [*a]\n",
        "recursive alias (deep)": "a: &a {b: {c: [1, {d: *a}]}}\n",
        "alias before its anchor": "projects: *nope\n",
        "aliases within bounds": _HEAD + _ENTRY + "    env: &e {A: '1'}\n  web:\n    project: research\n"
        "    image: x\n    machineType: C4\n    env: *e\n",
        "alias nesting past the limit": "a: &a " + "[" * 20 + "]" * 20 + "\nb: " + "[" * 20 + "*a" + "]" * 20 + "\n",
        "deep flow nesting": "projects: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "deep flow nesting, unclosed": "projects: " + "{a: " * 50_000 + "\n",
        "deep block nesting": "".join("  " * i + f"k{i}:\n" for i in range(1000)),
        "deep block lists": "".join("  " * i + "-\n" for i in range(1000)),
        "merge key": _HEAD + "base: &b {image: x}\n" + _ENTRY + "    <<: *b\n",
        "merge key list": _HEAD + _ENTRY + "    <<: [{a: 1}, {b: 2}]\n",
        "a lone << value": _HEAD + _ENTRY + "    region: <<\n",
        "bad int tag": _HEAD + _ENTRY + "    replicas: !!int 1x\n",
        "bad float tag": _HEAD + _ENTRY + "    replicas: !!float x\n",
        "python tag": "projects: !!python/object/apply:os.system ['echo pwned']\n",
        "binary tag": _HEAD + _ENTRY + "    image: !!binary aGVsbG8=\n",
        "timestamp tag": _HEAD + _ENTRY + "    image: !!timestamp 2026-13-45\n",
        "set and omap tags": "projects: !!set {a, b}\nexperiments: !!omap [{a: 1}]\n",
        "custom tag": _HEAD + _ENTRY + "    image: !Ref Image\n",
        "verbatim tag": _HEAD + _ENTRY + "    image: !<tag:example.com,2000:x> y\n",
        "tag directive": "%TAG !e! tag:example.com,2000:\n---\nprojects: !e!x {}\n",
        "5000-digit integer": _HEAD + _ENTRY + "    replicas: " + "9" * 5000 + "\n",
        "integer past 2**53": _HEAD
        + _ENTRY
        + "    healthChecks: {readiness: {path: /, periodSeconds: 9007199254740993}}\n",
        "long hex integer": _HEAD + _ENTRY + "    replicas: 0x" + "f" * 1000 + "\n",
        "long sexagesimal": _HEAD + _ENTRY + "    replicas: " + ":".join(["59"] * 2000) + "\n",
        "1.0e+999": _HEAD
        + _ENTRY
        + "    autoscaling: {maxReplicas: 2, metrics: [{metric: cpu, summary: average, value: 1.0e+999}]}\n",
        "impossible date": _HEAD + "experiments:\n  t: {project: research, image: x, command: c, machineType: C4, "
        "rerun: 2026-13-45}\n",
        "control character": _HEAD + _ENTRY + "    region: a\x01b\n",
        "NUL byte": _HEAD + _ENTRY + "    region: a\x00b\n",
        "byte-order mark inside": _HEAD + _ENTRY + "    region: a\ufeffb\n",
        "invalid UTF-8": (_HEAD + _ENTRY).encode() + b"    region: \xff\xfe\n",
        "UTF-8 surrogate": (_HEAD + _ENTRY).encode() + b"    region: \xed\xa0\x80\n",
        "tab indentation": _HEAD + _ENTRY + "\tregion: x\n",
        "bad escape": _HEAD + _ENTRY + '    region: "\\x"\n',
        "unclosed quote": _HEAD + _ENTRY + "    region: 'x\n",
        "unclosed flow at the end": _HEAD + _ENTRY + "    ports: [8000,\n",
        "two documents": "projects: {}\n---\nprojects: {}\n",
        "empty": "",
        "only comments": "# nothing\n# here\n",
        "a null document": "~\n",
        "a list document": "- a\n- b\n",
        "CRLF": (_HEAD + _ENTRY + "    replicas: two\n").replace("\n", "\r\n"),
        "CR only": (_HEAD + _ENTRY + "    replicas: two\n").replace("\n", "\r"),
        "NEL line breaks": (_HEAD + _ENTRY + "    replicas: two\n").replace("\n", "\x85"),
        "LS line breaks": (_HEAD + _ENTRY + "    replicas: two\n").replace("\n", "\u2028"),
        "over 1 MiB": "projects:\n" + "".join(f"  p{i}: {{name: '{'x' * 60}'}}\n" for i in range(16_000)),
        "1 MiB string": "projects: {p: {name: '" + "aB3" * (MAX_BYTES // 3 - 20) + "'}}\n",
        "1 MiB of scalars": "projects: [" + ",".join(["0"] * (MAX_BYTES // 2 - 10)) + "]\n",
        "many aliases": "a: &a x\nprojects: [" + ",".join(["*a"] * 200_000) + "]\n",
        "many anchors": "projects: [" + ",".join(f"&a{i} x" for i in range(80_000)) + "]\n",
        "long key": "projects:\n  " + "k" * 500_000 + ": {}\n",
        "long quoted key": 'projects:\n  ? "' + "k" * 500_000 + '"\n  : {}\n',
        "key with a line break": 'projects:\n  "a\\nb": {}\n',
        "many duplicate keys": "projects:\n" + "  a: {}\n" * 20_000,
        "non-string keys": "projects:\n  1: {}\n  true: {}\n  ~: {}\n  [a]: {}\n  {b: c}: {}\n  2026-01-01: {}\n",
        "many bad references": "projects:\n"
        + "".join(f"  p{i}: {{}}\n" for i in range(5000))
        + "experiments:\n"
        + "".join(f"  e{i}: {{project: x{i}, image: x, command: c, machineType: C4}}\n" for i in range(3000)),
        "token in env": _HEAD + _ENTRY + f"    env: {{MODE: {CANARIES[0]}}}\n",
        "token in a command list": _HEAD + _ENTRY + f"    command: [serve, --hf-token, {CANARIES[1]}]\n",
        "token in a comment": _HEAD + _ENTRY + f"    # {CANARIES[2]}\n",
        "token in a header": _HEAD + _ENTRY + "    healthChecks: {readiness: {path: /, headers: "
        f"[{{name: Authorization, value: 'Bearer {CANARIES[5]}'}}]}}}}\n",
        "token starting a key": f"projects:\n  {CANARIES[1]}train: {{nam: x}}\n",
        "password of any length": _HEAD + _ENTRY + f"    env: {{DB_PASSWORD: {PASSWORD}}}\n",
        "token in an experiment command": _HEAD + "experiments:\n  t: {project: research, image: x, machineType: C4, "
        f"command: 'HF_TOKEN={CANARIES[1]} python train.py --key {CANARIES[4]}'}}\n",
        "credentials in a URL": _HEAD + "experiments:\n  t: {project: research, image: x, command: c, "
        f"machineType: C4, workspace: {{url: 'https://bot:{CANARIES[3]}@github.com/a/b.git'}}}}\n",
        "comment spam": _HEAD + "".join(f"# {CANARIES[0]}\n" for _ in range(20_000)),
    }
    for index, template in enumerate(numeric):
        for value in (".inf", "-.inf", ".nan", ".NaN", "1.0e+400"):
            shapes[f"{value} in numeric field {index}"] = _HEAD + _ENTRY + template.format(v=value)
    return [
        Case(name, text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        for name, text in shapes.items()
    ]


_SNIPPETS = [
    "&a",
    "*a",
    "*b",
    "&b [*a, *a, *a, *a]",
    "<<: *a",
    "<<: {x: 1}",
    "!!int 1x",
    "!!python/name:os.system",
    "!Ref x",
    "!!binary",
    "! x",
    ".inf",
    "-.inf",
    ".nan",
    "1e999",
    "1.0e+999",
    "9" * 80,
    "0x" + "f" * 70,
    "2026-13-45",
    "~",
    "yes",
    "no",
    "'",
    '"',
    '"\\x"',
    "[",
    "]",
    "{",
    "}",
    "? ",
    ": ",
    "- ",
    "---",
    "...",
    "%YAML 1.1",
    "%TAG ! tag:x,2000:",
    "#",
    "|",
    ">",
    "\t",
    "\x00",
    "\x01",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "\ud7ff",
    "é",
    "😀",
    " " * 40,
    "[" * 60,
    "{a: " * 40,
    "- " * 40,
    "x" * 3000,
    *CANARIES,
    f"PASSWORD: {PASSWORD}",
    "API_KEY: k",
    "secret:HF_TOKEN",
    "{secret: hfToken}",
    "{secret: 1}",
    "null",
    "[]",
    "{}",
    "-1",
    "0",
    "65536",
    "1.5",
    "true",
]
_VALUES = [
    ".inf",
    ".nan",
    "-.inf",
    "1e999",
    "1.0e+999",
    "9007199254740993",
    "-9" * 30,
    "0o777",
    "0b101",
    "1_000",
    "1:30",
    "0x1F",
    "2026-01-01",
    "2026-13-45",
    "~",
    "",
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "{a: {b: {c: d}}}",
    "*a",
    "&a x",
    "!!str 1",
    "!!int x",
    "'quoted'",
    '"\\u0000"',
    '"\\ud800"',
    "yes",
    "Off",
    *CANARIES,
    "secret:X",
    "{secret: k}",
    "x" * 500,
    "é" * 50,
    "-",
    "?",
    ":",
    "|\n  a\n  b",
    ">-\n  folded",
]


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    position = rng.randrange(len(data))
    choice = rng.randrange(4)
    if choice == 0:
        return data[:position] + bytes([data[position] ^ (1 << rng.randrange(8))]) + data[position + 1 :]
    if choice == 1:
        return data[:position] + bytes([rng.randrange(256)]) + data[position:]
    if choice == 2:
        return data[:position] + data[position + rng.randrange(1, 16) :]
    return data[:position] + rng.choice(b"[]{}:-,&*!|>'\"#%@`?\t\n ").to_bytes(1, "big") + data[position:]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _mutate_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    index = rng.randrange(len(lines))
    choice = rng.randrange(7)
    if choice == 0:  # insert a hostile snippet on its own line or inside one
        snippet = rng.choice(_SNIPPETS).encode("utf-8", "surrogatepass")
        if rng.random() < 0.5:
            lines.insert(index, b" " * rng.randrange(0, 8, 2) + snippet)
        else:
            line = lines[index]
            at = rng.randrange(len(line) + 1)
            lines[index] = line[:at] + snippet + line[at:]
    elif choice == 1:  # replace a value
        line = lines[index]
        if b": " in line:
            head = line.split(b": ", 1)[0]
            lines[index] = head + b": " + rng.choice(_VALUES).encode("utf-8", "surrogatepass")
    elif choice == 2:  # duplicate a block
        end = min(len(lines), index + rng.randrange(1, 8))
        lines[index:index] = lines[index:end] * rng.randrange(1, 4)
    elif choice == 3:  # delete a block
        del lines[index : index + rng.randrange(1, 5)]
    elif choice == 4:  # re-indent
        lines[index] = b" " * rng.randrange(0, 12) + lines[index].lstrip(b" ")
    elif choice == 5:  # swap two lines
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    else:  # nest a line's value deeper
        line = lines[index]
        if b": " in line:
            depth = rng.randrange(1, 60)
            head, value = line.split(b": ", 1)
            lines[index] = head + b": " + b"[" * depth + value + b"]" * depth
    return b"\n".join(lines)


def _mutate_data(rng: random.Random, data: bytes) -> bytes:
    """Change the parsed document (types, missing and unknown fields, credentials, depth) and dump it back."""
    try:
        document = yaml.load(data, Loader=_LOADER)
    except (yaml.YAMLError, ValueError, RecursionError):
        return data
    if not isinstance(document, dict):
        return data
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 8:
            return
        if isinstance(node, dict):
            for key in list(node):
                paths.append((node, key))
                walk(node[key], depth + 1)
        elif isinstance(node, list):
            for index in range(len(node)):
                paths.append((node, index))
                walk(node[index], depth + 1)

    walk(document, 0)
    if not paths:
        return data
    for _ in range(rng.randrange(1, 4)):
        parent, key = rng.choice(paths)
        choice = rng.randrange(8)
        replacements: list[Any] = [
            None,
            True,
            0,
            -1,
            2**63,
            1.5,
            float("inf"),
            float("nan"),
            "",
            "x" * 300,
            [],
            {},
            [1, "a"],
            {"k": "v"},
            rng.choice(CANARIES),
            {"secret": "k"},
            "secret:X",
        ]
        try:
            if choice <= 2:
                parent[key] = rng.choice(replacements)
            elif choice == 3 and isinstance(parent, dict):
                del parent[key]
            elif choice == 4 and isinstance(parent, dict):
                name = rng.choice(["replica", "imgae", "env", "PASSWORD", "API_KEY", "x" * 200, "é"])
                parent[name] = PASSWORD if name in ("PASSWORD", "API_KEY") else rng.choice(replacements)
            elif choice == 5:
                variable = rng.choice(["HF_TOKEN", "MODE", "DB_PASSWORD"])
                parent[key] = {"env": {variable: PASSWORD if variable != "MODE" else rng.choice(replacements)}}
            elif choice == 6:
                value = parent[key]
                for _ in range(rng.randrange(1, 40)):
                    value = [value]
                parent[key] = value
            else:
                parent[key] = parent[key] if isinstance(parent[key], (dict, list)) else str(parent[key])
        except (KeyError, IndexError, TypeError):
            continue
    try:
        text = yaml.dump(document, Dumper=_DUMPER, sort_keys=rng.random() < 0.5, allow_unicode=True)
        return text.encode("utf-8", "surrogatepass")
    except (yaml.YAMLError, RecursionError, ValueError):
        return data


def _splice(rng: random.Random, data: bytes, other: bytes) -> bytes:
    a, b = _lines(data), _lines(other)
    cut_a, cut_b = rng.randrange(len(a) + 1), rng.randrange(len(b) + 1)
    return b"\n".join(a[:cut_a] + b[cut_b:])


def mutants(rng: random.Random, count: int) -> Iterator[Case]:
    sources = [text.encode() for text in seeds()]
    operators: list[Callable[[random.Random, bytes], bytes]] = [
        _mutate_bytes,
        _mutate_lines,
        _mutate_lines,
        _mutate_data,
        lambda r, d: _splice(r, d, r.choice(sources)),
    ]
    for number in range(count):
        seed = data = rng.choice(sources)
        for _ in range(rng.choice([1, 1, 2, 3, 5])):
            data = rng.choice(operators)(rng, data)
        yield Case(f"mutant {number}", data[: MAX_BYTES * 2], seed.decode())


def cases(files: int, seed: int) -> Iterator[Case]:
    fixed = hostile()
    yield from fixed
    yield from mutants(random.Random(seed), max(0, files - len(fixed)))


# -- checking ----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    code: int | None
    stdout: str
    stderr: str
    seconds: float
    megabytes: float
    error: str | None = None  # an exception that escaped validate


class MemoryMeter:
    """Peak memory of one step. On Linux, the process's peak resident set (VmHWM, reset through
    /proc/self/clear_refs before the step) minus what was resident before: every allocation counts, libyaml's
    included, at no cost. Elsewhere, tracemalloc's peak of Python allocations (slower, and blind to C ones)."""

    def __init__(self) -> None:
        try:
            self._reset_peak()
            self.proc = True
        except OSError:
            self.proc = False
            tracemalloc.start()
        self.before = 0.0

    @staticmethod
    def _status(field: str) -> float:
        text = Path("/proc/self/status").read_text()
        match = re.search(rf"^{field}:\s+([0-9]+) kB", text, re.MULTILINE)
        return int(match.group(1)) / 1024 if match else 0.0

    @staticmethod
    def _reset_peak() -> None:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")

    def start(self) -> None:
        if self.proc:
            self._reset_peak()
            self.before = self._status("VmRSS")
        else:
            tracemalloc.reset_peak()
            self.before = tracemalloc.get_traced_memory()[0] / 2**20

    def peak_megabytes(self) -> float:
        if self.proc:
            return self._status("VmHWM") - self.before
        return tracemalloc.get_traced_memory()[1] / 2**20 - self.before

    def close(self) -> None:
        if not self.proc:
            tracemalloc.stop()


def run_in_process(path: Path, meter: MemoryMeter) -> Outcome:
    """`validate FILE` in this process, timed, with its peak memory."""
    stdout, stderr = io.StringIO(), io.StringIO()
    meter.start()
    start = time.perf_counter()
    code: int | None = None
    error = None
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = validate([str(path)])
    except BaseException as exception:  # the fuzzer's whole point: anything escaping is a finding
        error = f"{type(exception).__name__}: {str(exception)[:200]}"
    seconds = time.perf_counter() - start
    return Outcome(code, stdout.getvalue(), stderr.getvalue(), seconds, meter.peak_megabytes(), error)


# Runs the CLI as its own child and reports that child's peak memory. A process started from this one (fork,
# vfork or posix_spawn) has this test process's resident pages counted in its peak, however large the suite
# made it (Linux keeps the peak across exec); the CLI started from this small launcher has only its own.
_LAUNCHER = """
import json, os, resource, subprocess, sys
done = subprocess.run(sys.argv[2:], check=False)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as report:
    json.dump({"code": done.returncode, "kilobytes": peak}, report)
"""


def run_cli(path: Path) -> Outcome:
    """`python -m gradient_provider validate FILE` in a subprocess, timed, with its peak resident memory."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "gradient_provider", "validate", str(path)]
        subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(report), *command],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=err,
            check=False,
        )
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        measured = json.loads(report.read_text())
        megabytes = measured["kilobytes"] / 1024  # kilobytes on Linux: the whole interpreter's peak
        return Outcome(
            measured["code"],
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            megabytes,
        )


def problems_with(case: Case, path: Path, outcome: Outcome) -> list[str]:
    """What is wrong with one outcome (nothing, for a clean one)."""
    found = []
    if outcome.error is not None:
        found.append(f"an exception escaped: {outcome.error}")
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        found.append("a traceback")
    if outcome.code not in (0, 1):
        found.append(f"exit code {outcome.code}")
    lines = outcome.stdout.splitlines()
    if outcome.code == 1 and not lines:
        found.append("exit 1 without a FILE:LINE line")
    if outcome.code == 0 and lines:
        found.append("exit 0 with problem lines")
    last_line = len(_BREAK.findall(case.data)) + 1
    for line in lines:
        match = _LINE.match(line)
        if not match or match.group("file") != str(path):
            found.append(f"not a FILE:LINE: path: message line: {line[:120]!r}")
        elif not 1 <= int(match.group("line")) <= last_line + 1:
            found.append(f"line {match.group('line')} outside the file (1 to {last_line}): {line[:120]!r}")
        if "internal error" in line:
            found.append(f"an internal error: {line[:160]!r}")
    for line in (outcome.stdout + outcome.stderr).splitlines():
        planted = [PASSWORD] if PASSWORD in line else []
        planted += [token for token in CANARIES if re.search(rf"(?<!\w){re.escape(token)}", line)]
        for secret in planted:
            shown = line.replace(secret, "<CANARY>")[:300]
            found.append(f"a planted credential was printed: {shown!r}")
    if outcome.seconds >= MAX_SECONDS:
        found.append(f"took {outcome.seconds:.2f} s")
    if outcome.megabytes >= MAX_MEGABYTES:
        found.append(f"peak memory {outcome.megabytes:.0f} MB")
    return found


@functools.cache
def _parsed(text: str) -> StackFile:
    return parse_stack("base.yaml", text)


def _plan_renders(path: Path, base: str | None) -> str | None:
    """A valid file's review plan (against its seed, or an empty base) renders in both formats."""
    try:
        stack = load_stack(path)
        plan = plan_stack(str(path), "base", _parsed(base) if base else StackFile("base.yaml"), stack)
        to_json([plan], plan.exit_code)
        to_markdown([plan])
    except Exception as error:
        return f"plan: {type(error).__name__}: {str(error)[:200]}"
    return None


def fuzz(files: int = DEFAULT_FILES, seed: int = 0, cli_cases: int = CLI_CASES) -> Figures:
    figures = Figures()
    started = time.perf_counter()
    cli_names = {"billion laughs 10x10", "deep flow nesting", "1 MiB of scalars", "many duplicate keys"}
    cli: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="stack-fuzz-") as directory:
        meter = MemoryMeter()
        try:
            for number, case in enumerate(cases(files, seed)):
                path = Path(directory) / f"case-{number}.yaml"
                path.write_bytes(case.data)
                outcome = run_in_process(path, meter)
                found = problems_with(case, path, outcome)
                if outcome.code == 0 and (failure := _plan_renders(path, case.base)):
                    found.append(failure)
                figures.files += 1
                figures.valid += outcome.code == 0
                figures.invalid += outcome.code == 1
                figures.tracebacks += outcome.error is not None or "Traceback" in outcome.stderr
                figures.slowest = max(figures.slowest, (outcome.seconds, case.name))
                figures.peak_megabytes = max(figures.peak_megabytes, (outcome.megabytes, case.name))
                figures.failures += [f"{case.name} ({path.name}): {problem}" for problem in found]
                mutant = case.name.startswith("mutant") and len(cli) < len(cli_names) + cli_cases
                if case.name in cli_names or mutant:
                    cli.append(case)
                path.unlink()
        finally:
            meter.close()
        for number, case in enumerate(cli):
            path = Path(directory) / f"cli-{number}.yaml"
            path.write_bytes(case.data)
            outcome = run_cli(path)
            figures.cli_files += 1
            figures.cli_slowest = max(figures.cli_slowest, (outcome.seconds, case.name))
            figures.cli_peak_megabytes = max(figures.cli_peak_megabytes, (outcome.megabytes, case.name))
            figures.failures += [f"{case.name} (CLI): {problem}" for problem in problems_with(case, path, outcome)]
    figures.seconds = time.perf_counter() - started
    return figures


def settings() -> tuple[int, int]:
    """FUZZ_FILES (default 1,000) and FUZZ_SEED (default 0) from the environment."""
    return int(os.environ.get("FUZZ_FILES", DEFAULT_FILES)), int(os.environ.get("FUZZ_SEED", 0))


def main(argv: list[str] | None = None) -> int:
    files, seed = settings()
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.stack_fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=files, help=f"files to check (FUZZ_FILES; default {files})")
    parser.add_argument("--seed", type=int, default=seed, help=f"seed of the mutations (FUZZ_SEED; default {seed})")
    args = parser.parse_args(argv)
    figures = fuzz(args.files, args.seed)
    print(figures.summary())
    for failure in figures.failures[:50]:
        print(f"  {failure}")
    return 1 if figures.failures else 0


if __name__ == "__main__":
    sys.exit(main())
