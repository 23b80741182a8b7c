"""YAML with line numbers, within bounds: every value's path maps to the line it came from, and no file can
make the loader crash, hang or take the machine's memory.

PyYAML's parser (libyaml's when it is installed) turns the text into events; the document is built here,
from the events, so that each rule below is checked where it applies and reported at its line:

- A duplicate key is an error naming both lines (plain PyYAML silently keeps the last); so is a key that is
  not a string.
- Tags (``!!int 1x``, ``!!python/object``, ``!custom``) and merge keys (``<<: *base``) are refused: a stack file
  is plain data, and each of these either runs a constructor or changes what a mapping holds behind the
  reader's back.
- An alias (``*name``) is a copy of its anchor's value. It is allowed, but counted as expanded: a document
  may hold at most ``MAX_VALUES`` values after expansion and nest at most ``MAX_DEPTH`` collections deep,
  so an alias bomb ("billion laughs") or a recursive alias is one error at the alias's line, not gigabytes
  or a RecursionError.
- A file is at most ``MAX_BYTES``, valid UTF-8, one document.
- Reader and scanner errors (a control character, a bad escape) are reported at the line they are on.
- A number written with more than ``MAX_NUMBER_CHARS`` characters is an error (Python refuses to convert
  long integers, and no stack field needs one); dates stay strings (no stack field takes a date, and YAML
  1.2, which editors use, has no date type).
"""

from __future__ import annotations

import copy
import gc
import re
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, NoReturn

import yaml

from .credentials import mask_text

Path = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024  # the repository's stacks are ~2 KB; 1,000 deployments take ~150 KB
MAX_VALUES = 50_000  # values after expanding aliases; 1,000 deployments take ~26,000
MAX_DEPTH = 32  # nested collections; the deepest stack field is 6 levels down
MAX_NUMBER_CHARS = 64
MAX_PROBLEMS = 100  # problems printed per file; more are summed up in one line

# libyaml when installed (about 20 times faster); the pure-Python parser otherwise. Both give the same events.
PARSER: type[Any] = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_NULL, _BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float"))
# What YAML counts as a line break (and so do the line numbers of its marks).
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with control characters and line breaks escaped, so a problem is always one line."""
    return _UNPRINTABLE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def clipped(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str  # dotted, e.g. "deployments.api.replicas"; "(file)", "(syntax)" or "(comment)" when not a value
    message: str

    def __str__(self) -> str:
        """One line, whatever the path and message hold; a credential-looking part of either (a key can be one)
        is masked."""
        return (
            f"{one_line(self.file)}:{self.line}: {one_line(mask_text(self.path))}: {one_line(mask_text(self.message))}"
        )


class SourceError(Exception):
    """The problems of one file (at most ``MAX_PROBLEMS`` of them, then one line saying how many more)."""

    def __init__(self, problems: list[Problem]) -> None:
        if len(problems) > MAX_PROBLEMS:
            rest = problems[MAX_PROBLEMS:]
            problems = [
                *problems[:MAX_PROBLEMS],
                Problem(
                    rest[0].file, rest[0].line, "(file)", f"{len(rest)} or more problems not shown; fix these first"
                ),
            ]
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass
class Located:
    """A parsed document and where each of its values (and mapping keys) stands in the file."""

    file: str
    data: Any
    value_lines: dict[Path, int] = field(default_factory=dict)
    key_lines: dict[Path, int] = field(default_factory=dict)
    # where each scalar starts and ends, in file order (what is in none is a comment), flat: start line, start
    # column, end line, end column (0-based), scalar after scalar; four ints in an array, not three tuples, per
    # scalar: a large file has many
    scalar_spans: array[int] = field(default_factory=lambda: array("q"))

    def line_of(self, path: Path, *, key: bool = False) -> int:
        """The line of ``path``, or of its nearest ancestor that exists (a missing field reports its parent).

        A value that came from an alias reports the alias's line."""
        lines = self.key_lines if key else self.value_lines
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in lines:
                return lines[prefix]
            if prefix in self.key_lines:
                return self.key_lines[prefix]
        return 1


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{clipped(part)}" if text else clipped(part))
    return text or "(file)"


def line_at(text: str, index: int) -> int:
    """The 1-based line of character ``index``, counting line breaks as YAML does."""
    return sum(1 for _ in _BREAK.finditer(text, 0, index)) + 1


def decode(file: str, data: bytes) -> str:
    """The text of a stack file's bytes; a file over ``MAX_BYTES`` or not UTF-8 is a SourceError."""
    if len(data) > MAX_BYTES:
        raise SourceError([Problem(file, 1, "(file)", _too_big(len(data)))])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8")  # valid up to the bad byte
        line = line_at(before, len(before))
        message = f"not UTF-8: byte 0x{data[error.start]:02x} at offset {error.start} ({error.reason})"
        raise SourceError([Problem(file, line, "(file)", message)]) from None


def _too_big(size: int) -> str:
    return f"the file is {size:,} bytes or more; a stack file may have at most {MAX_BYTES:,} bytes (1 MiB)"


def load(file: str, text: str) -> Located:
    """Parse one YAML document within the bounds above; raise SourceError for any problem."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as error:
        character = f"U+{ord(text[error.start]):04X}"
        message = f"the character {character} is not valid Unicode (a lone surrogate)"
        raise SourceError([Problem(file, line_at(text, error.start), "(file)", message)]) from None
    if len(encoded) > MAX_BYTES:
        raise SourceError([Problem(file, 1, "(file)", _too_big(len(encoded)))])
    located = Located(file, None)
    builder = _Builder(located)
    try:
        with cycle_collector_paused():
            located.data = builder.document(text)
    except _Stop:
        pass
    except yaml.MarkedYAMLError as error:
        builder.problems.append(_syntax_problem(file, error))
    except yaml.reader.ReaderError as error:
        # libyaml counts the position in bytes of the UTF-8 text, the pure-Python reader in characters
        index = error.position
        if PARSER is not yaml.SafeLoader:
            index = len(encoded[:index].decode("utf-8", "ignore"))
        message = f"invalid YAML: {error.reason}"
        character = error.character  # a str from the pure-Python reader, a code point from libyaml
        code = ord(character) if isinstance(character, str) and len(character) == 1 else character
        if isinstance(code, int):
            message += f" (U+{code:04X})"
        builder.problems.append(Problem(file, line_at(text, index), "(syntax)", message))
    except yaml.YAMLError as error:
        builder.problems.append(Problem(file, 1, "(syntax)", f"invalid YAML: {error}"))
    if builder.problems:
        raise SourceError(builder.problems)
    return located


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a document is built: every container built is new, survives and
    is in no cycle, so collections during the build find nothing, and on a large file they cost a quarter of
    the time and grow faster than the file (each full collection walks everything built so far). It runs
    again afterwards, as it was (a collection that another thread starts meanwhile is only delayed)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _syntax_problem(file: str, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 1
    message = error.problem or "invalid YAML"
    context = error.context_mark
    if error.context and context is not None and context.line != (mark.line if mark else -1):
        message += f" ({error.context} started on line {context.line + 1})"
    elif error.context:
        message += f" ({error.context})"
    return Problem(file, line, "(syntax)", f"invalid YAML: {message}")


class _Stop(Exception):
    """Building cannot go on (a bound was reached); the problem saying why is already recorded."""


class _Built(NamedTuple):
    value: Any
    size: int  # values it holds, itself included, aliases expanded
    height: int  # collections nested in it, itself included (0 for a scalar)


_UNKNOWN = object()


def _no_events() -> yaml.Event:
    raise AssertionError("the builder reads events only within document()")


class _Builder:
    """Builds the document from the parser's events. It runs once per value of the file, so it is written for
    speed: events are pulled from the parser directly, and a plain scalar's value is worked out once per text."""

    def __init__(self, located: Located) -> None:
        self.located = located
        self.next_event: Callable[[], yaml.Event] = _no_events
        self.problems: list[Problem] = []
        self.anchors: dict[str, _Built | None] = {}  # None while the anchored collection is still open
        self.values = 0
        # plain scalar text -> its value, for those read without a problem (keys and many values repeat)
        self.plain: dict[str, Any] = {}

    def problem(self, line: int, path: Path, message: str) -> None:
        self.problems.append(Problem(self.located.file, line, dotted(path), message))

    def stop(self, line: int, path: Path, message: str) -> NoReturn:
        self.problem(line, path, message)
        raise _Stop

    def document(self, text: str) -> Any:
        parser = PARSER(text)  # inside the caller's try: the pure-Python reader checks the text here
        self.next_event = parser.get_event
        try:
            return self._document()
        finally:
            parser.dispose()

    def _document(self) -> Any:
        self.next_event()  # stream start
        event = self.next_event()
        if isinstance(event, yaml.StreamEndEvent):
            return None
        data = self.node(self.next_event(), (), 0, record=True).value
        self.next_event()  # document end
        event = self.next_event()
        if not isinstance(event, yaml.StreamEndEvent):
            self.stop(_line(event), (), "a stack file is one YAML document; a second one starts here")
        return data

    def count(self, line: int, path: Path, size: int, alias: str | None = None) -> None:
        self.values += size
        if self.values > MAX_VALUES:
            what = f"the alias *{clipped(alias, 40)} makes" if alias else "this makes"
            self.stop(
                line,
                path,
                f"{what} the file hold more than {MAX_VALUES:,} values (aliases expanded); a stack file may hold "
                f"at most {MAX_VALUES:,}",
            )

    def tagged(self, tag: str, line: int, path: Path) -> None:
        self.problem(
            line,
            path,
            f"the tag {clipped(tag.replace('tag:yaml.org,2002:', '!!', 1), 40)} is not allowed: a stack file is "
            "plain data (quote a value to make it a string)",
        )

    def node(self, event: yaml.Event, path: Path, depth: int, record: bool) -> _Built:
        start = event.start_mark
        line = start.line + 1 if start else 1
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event, path, depth, record, line)
        if record and self.located.key_lines.get(path) != line:  # on its key's line: line_of finds that one
            self.located.value_lines.setdefault(path, line)
        self.count(line, path, 1)
        built: _Built
        if isinstance(event, yaml.ScalarEvent):
            if event.tag is not None:
                self.tagged(event.tag, line, path)
            end = event.end_mark
            if start and end:
                self.located.scalar_spans.extend((start.line, start.column, end.line, end.column))
            built = _Built(self.scalar(event, path, line), 1, 0)
        elif isinstance(event, yaml.CollectionStartEvent):
            if event.tag is not None:
                self.tagged(event.tag, line, path)
            if depth >= MAX_DEPTH:
                self.stop(line, path, f"nested more than {MAX_DEPTH} levels deep; a stack file needs at most 7")
            if event.anchor is not None:
                self.anchors[event.anchor] = None
            if isinstance(event, yaml.SequenceStartEvent):
                built = self.sequence(path, depth, record)
            else:
                built = self.mapping(path, depth, record)
        else:  # the parser gives nothing else here
            self.stop(line, path, f"invalid YAML: unexpected {type(event).__name__}")
        if event.anchor is not None:
            self.anchors[event.anchor] = built
        return built

    def alias(self, event: yaml.AliasEvent, path: Path, depth: int, record: bool, line: int) -> _Built:
        name = event.anchor or ""
        if record:
            self.located.value_lines.setdefault(path, line)
        if name not in self.anchors:
            self.problem(line, path, f"the alias *{clipped(name, 40)} has no anchor &{clipped(name, 40)} before it")
            return _Built(None, 1, 0)
        target = self.anchors[name]
        if target is None:
            self.stop(line, path, f"the alias *{clipped(name, 40)} is inside the value it names (a recursive alias)")
        self.count(line, path, target.size, alias=name)
        if depth + target.height > MAX_DEPTH:
            self.stop(
                line,
                path,
                f"the alias *{clipped(name, 40)} nests the file more than {MAX_DEPTH} levels deep; a stack file "
                "needs at most 7",
            )
        return _Built(copy.deepcopy(target.value), target.size, target.height)

    def sequence(self, path: Path, depth: int, record: bool) -> _Built:
        items: list[Any] = []
        size, height = 1, 1
        while not isinstance(event := self.next_event(), yaml.SequenceEndEvent):
            child = self.node(event, (*path, len(items)), depth + 1, record)
            items.append(child.value)
            size, height = size + child.size, max(height, child.height + 1)
        return _Built(items, size, height)

    def mapping(self, path: Path, depth: int, record: bool) -> _Built:
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        size, height = 1, 1
        while not isinstance(event := self.next_event(), yaml.MappingEndEvent):
            line = _line(event)
            merge = isinstance(event, yaml.ScalarEvent) and _plain(event) and event.value == "<<"
            key = self.node(event, path, depth + 1, record=False).value
            keep = record
            if merge:
                self.problem(line, path, "merge keys (`<<:`) are not supported; write the fields out")
                keep = False
            elif not isinstance(key, str):
                if isinstance(key, (dict, list)):
                    self.problem(
                        line, path, f"a key must be a string, not a {'mapping' if isinstance(key, dict) else 'list'}"
                    )
                else:
                    self.problem(line, path, f"key {clipped(repr(key), 40)} must be a string")
                keep = False
            elif key in first_seen:
                where = first_seen[key]
                self.problem(line, (*path, key), f"duplicate key {clipped(repr(key))} (first defined on line {where})")
                keep = False
            else:
                first_seen[key] = line
            child_path = (*path, key) if keep else path
            if keep:
                self.located.key_lines[child_path] = line
            child = self.node(self.next_event(), child_path, depth + 1, keep)
            if keep:
                result[key] = child.value
            size, height = size + child.size, max(height, child.height + 1)
        return _Built(result, size, height)

    def scalar(self, event: yaml.ScalarEvent, path: Path, line: int) -> Any:
        value = event.value
        if not _plain(event):
            return value  # quoted (or tagged, a problem already): a string
        known = self.plain.get(value, _UNKNOWN)
        if known is not _UNKNOWN:
            return known
        tag = _implicit_tag(value)
        if tag == _NULL:
            result: Any = None
        elif tag == _BOOL:
            result = _CONSTRUCTOR.bool_values[value.lower()]
        elif tag in (_INT, _FLOAT):
            if len(value) > MAX_NUMBER_CHARS:
                self.problem(line, path, f"a number written with more than {MAX_NUMBER_CHARS} characters")
                return None
            node = yaml.ScalarNode(tag, value)
            try:
                result = (
                    _CONSTRUCTOR.construct_yaml_int(node) if tag == _INT else _CONSTRUCTOR.construct_yaml_float(node)
                )
            except (ValueError, ArithmeticError, yaml.YAMLError):
                self.problem(line, path, f"cannot read this as a{'n integer' if tag == _INT else ' number'}")
                return None
        else:
            result = value  # strings, and the YAML 1.1 types a stack file has no use for (dates, `=`, a lone `<<`)
        self.plain[value] = result
        return result


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark else 1


def _plain(event: yaml.ScalarEvent) -> bool:
    """An untagged, unquoted scalar: its type comes from how it looks (YAML 1.1, as PyYAML's SafeLoader)."""
    return event.tag is None and bool(event.implicit[0])


def _implicit_tag(value: str) -> str:
    """The tag PyYAML's resolver gives a plain scalar (its own table of patterns)."""
    resolvers = yaml.resolver.Resolver.yaml_implicit_resolvers
    for tag, pattern in [*resolvers.get(value[:1] or "", []), *resolvers.get(None, [])]:
        if pattern.match(value):
            return str(tag)
    return "tag:yaml.org,2002:str"
