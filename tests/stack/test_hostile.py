"""Hostile stack files (issue #12): each is one clean `FILE:LINE: path: message` problem at its real line,
within bounded time and memory; never a traceback."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gradient_provider import yaml_source
from gradient_provider.stack import load_stack, parse_stack
from gradient_provider.yaml_source import MAX_BYTES, MAX_DEPTH, MAX_PROBLEMS, MAX_VALUES, SourceError
from tests.support.emulator import REPO_ROOT

HEAD = "projects:\n  research: {}\ndeployments:\n  api:\n    project: research\n    image: x\n    machineType: C4\n"


def _problems(text: str) -> list[str]:
    with pytest.raises(SourceError) as failure:
        parse_stack("stack.yaml", text)
    return [str(problem) for problem in failure.value.problems]


def _bomb(width: int, levels: int) -> str:
    """A "billion laughs": ``levels`` lists of ``width`` aliases to the list before, width**levels values."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = [f"a: &a [{','.join(['x'] * width)}]"]
    lines += [f"{names[i]}: &{names[i]} [{','.join([f'*{names[i - 1]}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.fixture(params=["libyaml", "pure Python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both of PyYAML's parsers: libyaml's (used when installed) and the pure-Python fallback."""
    if request.param == "pure Python":
        monkeypatch.setattr(yaml_source, "PARSER", yaml.SafeLoader)
    yield str(request.param)


# -- aliases -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "levels"), [(9, 9), (10, 10)])
def test_an_alias_bomb_is_one_problem_at_the_alias_in_bounded_time_and_memory(
    width: int, levels: int, parser: str
) -> None:
    text = _bomb(width, levels)
    assert len(text) < 450  # like the 349- and 433-byte bombs (858 MB and over 4 GB before)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        problems = _problems(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 50 * 2**20
    [problem] = problems
    assert problem.startswith("stack.yaml:5: e[")
    assert problem.endswith(
        f"the alias *d makes the file hold more than {MAX_VALUES:,} values (aliases expanded); a stack file may "
        f"hold at most {MAX_VALUES:,}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("projects: &a\n  x: *a\n", "stack.yaml:2: projects.x: the alias *a is inside the value it names"),
        ("a: &a [1, *a]\n", "stack.yaml:1: a[1]: the alias *a is inside the value it names"),
        ("a: &a {b: {c: [1,\n  {d: *a}]}}\n", "stack.yaml:2: a.b.c[1].d: the alias *a is inside the value it names"),
    ],
)
def test_a_recursive_alias_is_a_problem_at_its_line(text: str, expected: str, parser: str) -> None:
    assert _problems(text) == [f"{expected} (a recursive alias)"]


def test_aliases_within_bounds_are_copies_and_problems_inside_one_are_at_the_alias() -> None:
    text = HEAD + "    env: &env {MODE: prod}\n  web:\n    project: research\n    image: x\n    machineType: C4\n"
    stack = parse_stack("stack.yaml", text + "    env: *env\n")
    api, web = stack.section("deployments")["api"], stack.section("deployments")["web"]
    assert api.inputs["env"] == web.inputs["env"] == {"MODE": "prod"}
    assert api.inputs["env"] is not web.inputs["env"]
    broken = text.replace("    env: &env {MODE: prod}\n", "    env: &env {MODE: prod}\n    ports: &ports [80, 0]\n")
    assert _problems(broken + "    ports: *ports\n") == [
        "stack.yaml:9: deployments.api.ports[1]: 0 is less than the minimum of 1",
        "stack.yaml:14: deployments.web.ports[1]: 0 is less than the minimum of 1",  # at the alias
    ]


def test_an_alias_without_its_anchor_is_a_problem() -> None:
    assert _problems("projects:\n  a: *nope\n") == [
        "stack.yaml:2: projects.a: the alias *nope has no anchor &nope before it"
    ]


def test_aliases_that_nest_too_deep_are_a_problem() -> None:
    deep = "[" * 20 + "]" * 20
    assert _problems(f"a: &a {deep}\nb: {'[' * 20}*a{']' * 20}\n") == [
        "stack.yaml:2: b[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: the alias *a nests the file "
        f"more than {MAX_DEPTH} levels deep; a stack file needs at most 7"
    ]


# -- merge keys and tags -------------------------------------------------------------------------------------


def test_merge_keys_are_refused_where_they_are(parser: str) -> None:
    text = "base: &base {image: x}\n" + HEAD + "    <<: *base\n    <<: [{a: 1}]\n"
    assert _problems(text) == [
        "stack.yaml:9: deployments.api: merge keys (`<<:`) are not supported; write the fields out",
        "stack.yaml:10: deployments.api: merge keys (`<<:`) are not supported; write the fields out",
    ]
    stack = parse_stack("stack.yaml", HEAD + "    region: <<\n")  # a lone `<<` value is only a string
    assert stack.section("deployments")["api"].inputs["region"] == "<<"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!int 1x", "!!int"),
        ("!!float x", "!!float"),
        ("!!str 1", "!!str"),
        ("!!binary aGk=", "!!binary"),
        ("!!python/object/apply:os.system ['true']", "!!python/object/apply:os.system"),
        ("!Ref Image", "!Ref"),
        ("! x", "!"),
        ("!<tag:example.com,2000:x> y", "tag:example.com,2000:x"),
    ],
)
def test_tags_are_refused_at_their_line(value: str, shown: str, parser: str) -> None:
    assert _problems(HEAD + f"    region: {value}\n") == [
        f"stack.yaml:8: deployments.api.region: the tag {shown} is not allowed: a stack file is plain data (quote a "
        "value to make it a string)"
    ]


# -- size and depth ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "projects: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "projects: " + "{a: " * 50_000 + "\n",
        "".join("  " * i + f"k{i}:\n" for i in range(1000)),
    ],
    ids=["flow", "unclosed flow", "block"],
)
def test_deep_nesting_is_a_problem_not_a_recursion_error(text: str, parser: str) -> None:
    [problem] = _problems(text)
    assert problem.endswith(f": nested more than {MAX_DEPTH} levels deep; a stack file needs at most 7")
    assert problem.startswith("stack.yaml:1: projects" if text.startswith("projects") else "stack.yaml:33: k0.k1.")


def test_the_value_count_is_bounded() -> None:
    [problem] = _problems("projects: [" + ",".join(["0"] * (MAX_VALUES + 10)) + "]\n")
    assert problem == (
        f"stack.yaml:1: projects[{MAX_VALUES - 3}]: this makes the file hold more than {MAX_VALUES:,} values "
        f"(aliases expanded); a stack file may hold at most {MAX_VALUES:,}"
    )


def test_a_file_over_the_size_limit_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"projects: {}\n" + b"# padding\n" * (MAX_BYTES // 5))
    with pytest.raises(SourceError) as failure:
        load_stack(path)
    assert str(failure.value) == (
        f"{path}:1: (file): the file is {MAX_BYTES + 1:,} bytes or more; a stack file may have at most "
        f"{MAX_BYTES:,} bytes (1 MiB)"
    )
    with pytest.raises(SourceError) as failure:
        parse_stack("stack.yaml", "projects: {}\n" + "#" * MAX_BYTES)
    assert "a stack file may have at most 1,048,576 bytes" in str(failure.value)


def test_a_file_at_the_limits_is_checked_in_well_under_two_seconds() -> None:
    text = "projects:\n" + "".join(f"  p{i}: {{name: '{'x' * 60}'}}\n" for i in range(MAX_VALUES // 4 - 10))
    assert len(text.encode()) < MAX_BYTES
    started = time.perf_counter()
    parse_stack("stack.yaml", text)
    assert time.perf_counter() - started < 2


def test_problems_are_capped_with_a_count_of_the_rest() -> None:
    problems = _problems("projects:\n  a: {}\n" + "  a: {}\n" * (MAX_PROBLEMS + 50))
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == f"stack.yaml:{MAX_PROBLEMS + 3}: (file): 50 or more problems not shown; fix these first"


# -- numbers -------------------------------------------------------------------------------------------------

METRIC = "    autoscaling: {{maxReplicas: 2, metrics: [{{metric: cpu, summary: average, value: {}}}]}}\n"


@pytest.mark.parametrize(
    ("value", "shown"), [(".inf", ".inf"), ("-.inf", "-.inf"), (".nan", ".nan"), (".NaN", ".nan"), ("1.0e+999", ".inf")]
)
def test_non_finite_numbers_are_refused_by_the_schema(value: str, shown: str) -> None:
    assert _problems(HEAD + METRIC.format(value)) == [
        f"stack.yaml:8: deployments.api.autoscaling.metrics[0].value: expected a finite number, got a number {shown}"
    ]
    assert _problems(HEAD + f"    replicas: {value}\n") == [
        f"stack.yaml:8: deployments.api.replicas: expected an integer, got a number {shown}"
    ]


def test_integers_are_what_pulumi_carries_exactly() -> None:
    experiment = "projects: {research: {}}\nexperiments:\n  t: {project: research, image: x, command: c, "
    experiment += "machineType: C4, rerun: %s}\n"
    assert parse_stack("stack.yaml", experiment % (2**53 - 1))
    assert _problems(experiment % (2**53 + 1)) == [
        "stack.yaml:3: experiments.t.rerun: expected an integer between -9007199254740991 and 9007199254740991 "
        "(what Pulumi carries exactly), got an integer 9007199254740993"
    ]
    assert _problems(HEAD + f"    replicas: {'9' * 5000}\n") == [
        "stack.yaml:8: deployments.api.replicas: a number written with more than 64 characters"
    ]


def test_dates_stay_strings() -> None:
    experiment = "experiments:\n  t: {project: research, image: x, command: c, machineType: C4, rerun: %s}\n"
    for value in ("2026-11-01", "2026-13-45"):
        stack = parse_stack("stack.yaml", "projects: {research: {}}\n" + experiment % value)
        assert stack.section("experiments")["t"].inputs["rerun"] == value


# -- reader and scanner errors at their line -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + "    region: a\x01b\n", "stack.yaml:8: (syntax): invalid YAML: "),
        (HEAD.replace("x", "é") + "    region: a\x00b\n", "stack.yaml:8: (syntax): invalid YAML: "),
        ((HEAD + "    region: a\x01b\n").replace("\n", "\r\n"), "stack.yaml:8: (syntax): invalid YAML: "),
        (HEAD + "\tregion: x\n", "stack.yaml:8: (syntax): invalid YAML: "),
        (HEAD + '    region: "\\x"\n', "stack.yaml:8: (syntax): invalid YAML: "),
        (HEAD.replace("\n", "\x85") + "    region: a\x01b\n", "stack.yaml:8: (syntax): invalid YAML: "),
    ],
    ids=["control character", "NUL after non-ASCII", "CRLF", "tab", "bad escape", "NEL line breaks"],
)
def test_reader_and_scanner_errors_are_at_their_real_line(text: str, expected: str, parser: str) -> None:
    [problem] = _problems(text)
    assert problem.startswith(expected)


def test_a_reader_error_names_the_character(parser: str) -> None:
    [problem] = _problems(HEAD.replace("\n", "\r") + "    region: é\x01\r")
    wording = "control characters" if parser == "libyaml" else "special characters"
    assert problem == f"stack.yaml:8: (syntax): invalid YAML: {wording} are not allowed (U+0001)"


def test_invalid_utf8_and_lone_surrogates_are_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_bytes(HEAD.encode() + b"    region: \xff\n")
    with pytest.raises(SourceError) as failure:
        load_stack(path)
    assert (
        str(failure.value) == f"{path}:8: (file): not UTF-8: byte 0xff at offset {len(HEAD) + 12} (invalid start byte)"
    )
    assert _problems(HEAD + "    region: \ud800\n") == [
        "stack.yaml:8: (file): the character U+D800 is not valid Unicode (a lone surrogate)"
    ]


def test_a_second_document_is_a_problem() -> None:
    assert _problems("projects: {}\n---\nprojects: {}\n") == [
        "stack.yaml:2: (file): a stack file is one YAML document; a second one starts here"
    ]


def test_every_problem_is_one_line_even_for_keys_with_line_breaks() -> None:
    assert _problems('projects:\n  "a\\nb": {}\n') == [
        "stack.yaml:2: projects.a\\nb: a key must start with a letter and hold only letters, digits, '_' and '-'"
    ]


def test_non_string_keys_are_problems(parser: str) -> None:
    assert _problems("projects:\n  1: {}\n  [a]: {}\n") == [
        "stack.yaml:2: projects: key 1 must be a string",
        "stack.yaml:3: projects: a key must be a string, not a list",
    ]


# -- the CLI -------------------------------------------------------------------------------------------------


def test_validate_cli_on_hostile_files_prints_file_line_problems_and_no_traceback(tmp_path: Path) -> None:
    files = {
        "bomb.yaml": _bomb(10, 10),
        "deep.yaml": "projects: " + "[" * 100_000 + "\n",
        "tag.yaml": HEAD + "    replicas: !!int 1x\n",
        "nan.yaml": HEAD + METRIC.format(".nan"),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "gradient_provider", "validate", *(str(tmp_path / name) for name in files)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0:2] for line in lines] == [
        [str(tmp_path / "bomb.yaml"), "5"],
        [str(tmp_path / "deep.yaml"), "1"],
        [str(tmp_path / "tag.yaml"), "8"],
        [str(tmp_path / "nan.yaml"), "8"],
    ]
