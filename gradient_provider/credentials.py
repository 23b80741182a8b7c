"""Credential detection, one low module for the whole package: literals in a stack file that look like credentials
(`validate` refuses them, `plan` never prints them), and masking of free text for lifecycles, logs and errors.

A stack file is committed and reviewed, so a credential in it is leaked. One detector serves both commands:
``findings`` walks a parsed stack file (or any part of it) and says where a literal looks like a credential;
``redact`` returns a copy with each of those hidden; ``mask_text`` hides the credential-looking parts of free
text (comments, paths, notes). What counts, in this order (docs/review-plan.md has the same list):

1. **Known token shapes**, anywhere in a string, a key or a comment, starting a word: GitHub (``ghp_``,
   ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``), GitLab (``glpat-``), Hugging Face (``hf_``), AWS
   access key ids (``AKIA``, ``ASIA``), Slack (``xoxb-`` and the like, webhook URLs), OpenAI and Anthropic keys
   (``sk-``), Stripe keys (``sk_live_``, ``rk_live_``, ``sk_test_``), Google API keys (``AIza``), npm (``npm_``),
   PyPI (``pypi-AgE``), JSON Web Tokens (``eyJ….eyJ….``) and PEM private keys (the whole value).
2. **Credentials in a URL**: ``scheme://user:password@host``.
3. **HTTP authorization values**: ``Bearer <token>``, ``Basic <credentials>``.
4. **A name that says secret with a literal value**, of any length: env variables and ``{name, value}`` pairs
   (HTTP headers) whose name ends in ``TOKEN``, ends in ``_KEY`` or holds ``APIKEY``/``ACCESS_KEY``/
   ``PRIVATE_KEY``/``SECRET_KEY``/``CLIENT_KEY``, contains ``PASSWORD``, ``PASSWD``, ``PASSPHRASE`` or ``SECRET``,
   ends in ``_AUTH``, or is ``AUTHORIZATION`` or ``COOKIE`` (case, ``-`` and camelCase ignored); and inside a
   string (a ``command``) or a command list, ``NAME=value`` or ``--name value`` where the name ends in ``TOKEN``
   or in ``_SECRET``, ends in an ``API``/``ACCESS``/``PRIVATE``/``SECRET``/``CLIENT`` key, or contains
   ``PASSWORD``/``PASSWD``/``PASSPHRASE``, and the value is a literal (not ``$VAR``, a path or another option).
   (A bare ``--secret`` is no such option: ``pulumi config set --secret KEY`` names a config key.)
5. **High entropy**: a run of 32 or more characters of the base64 alphabet that mixes letters and digits, has
   more than 4 bits of entropy per character, is not hexadecimal, and whose letters and digits switch between
   upper case, lower case and digits at least every other character (random, unlike a path, a model id such as
   ``TheBloke/Llama-2-13B-chat-GPTQ``, or a UUID), anywhere; and an env value that is 32 or more hexadecimal
   digits mixing letters and digits, unless the variable's name says it is a hash (``SHA``, ``COMMIT``,
   ``DIGEST``, ``HASH``, ``CHECKSUM``, ``REVISION``). Hexadecimal elsewhere (a git commit, an image digest) is not
   a credential. This rule is a heuristic: it finds about 95 % of random 32- to 64-character tokens.

Never a finding: ``secret:NAME`` (a Paperspace project secret), ``{secret: KEY}`` (secret Pulumi config), an
empty value. No message names the value: only its path and which rule matched.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import string
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

REDACTED = "(redacted: looks like a credential)"

Path = tuple[str | int, ...]

_TOKENS: list[tuple[str, re.Pattern[str]]] = [
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{20,}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9_/-]{16,}")),
    ("an OpenAI or Anthropic API key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("a Stripe key", re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    ("a PyPI token", re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{50,}")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*")),
]
# A PEM private key spans lines: the whole value is the credential.
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
# The part named `secret` is the credential.
_URL_CREDENTIALS = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?P<secret>[^/\s:@]+:[^/\s@]+)@")
_AUTHORIZATION = re.compile(r"\b(?:Bearer|Basic)\s+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)")
_ASSIGNMENT = re.compile(r"(?<![\w.-])(?P<name>-{0,2}[A-Za-z_][\w.-]*)=[\"']?(?P<secret>[^\s\"'&;,`]+)")
_OPTION = re.compile(r"(?<!\S)(?P<name>--?[A-Za-z][\w-]*)(?=[ \t]+[\"']?(?P<secret>[^\s\"']+))")
_OPTION_ALONE = re.compile(r"--?[A-Za-z][\w-]*")
_RANDOM_CANDIDATE = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
_HEX = re.compile(r"[0-9A-Fa-f]{32,}")

_NAME_SAYS_SECRET = re.compile(
    r"TOKEN$|(?:^|_)KEY$|(?:API|ACCESS|PRIVATE|SECRET|CLIENT)_?KEY|PASSWORD|PASSWD|PASSPHRASE|SECRET|(?:^|_)AUTH$"
    r"|^AUTHORIZATION$|^COOKIE$"
)
_OPTION_SAYS_SECRET = re.compile(
    r"TOKEN$|\w_SECRET$|(?:API|ACCESS|PRIVATE|SECRET|CLIENT)_?KEY$|PASSWORD|PASSWD|PASSPHRASE"
)
_NAME_SAYS_HASH = re.compile(r"SHA|COMMIT|DIGEST|HASH|CHECKSUM|REVISION")
_REFERENCE = re.compile(r"secret:[A-Za-z0-9_.-]+")
_NOT_LITERAL = ("$", "-", "/", ".", "~", "{", "<", "%")
# Something any rule needs, in one pass: most strings have none and are done with one search.
_ANY = re.compile(
    "|".join(
        [
            *(pattern.pattern for _, pattern in _TOKENS),
            _PRIVATE_KEY.pattern,
            r"://[^/\s:@]+:[^/\s@]+@",
            r"\b(?:Bearer|Basic)\s",
            r"\w=",
            r"(?<!\S)--?[A-Za-z]",
            r"[A-Za-z0-9+/_-]{32}",
        ]
    )
)
_SHORTEST = 7  # no rule matches a shorter string (`TOKEN=x`)
MAX_HITS = 1000
RANDOM_WINDOW = 256
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class Hit:
    """A credential-looking part of a string: ``text[start:end]``."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Finding:
    path: Path  # where the value (or the key) is
    kind: str  # which rule matched, e.g. "a GitHub token"; never the value
    spans: tuple[tuple[int, int], ...] | None = None  # the parts of a string; None: the whole value
    in_key: bool = False


def normalized(name: str) -> str:
    """``--hf-token``, ``hfToken``, ``hf.token`` -> ``HF_TOKEN``-like upper case with ``_`` separators."""
    return _SEPARATORS.sub("_", name.strip("-")).upper()


def name_says_secret(name: str) -> bool:
    return _NAME_SAYS_SECRET.search(normalized(name)) is not None


def is_reference(value: str) -> bool:
    return _REFERENCE.fullmatch(value) is not None


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _class(character: str) -> int:
    return 0 if character.isupper() else 1 if character.islower() else 2


def looks_random(word: str) -> bool:
    """Rule 5: long, letters and digits mixed, high entropy, classes switching often. A long word is judged
    by its first ``RANDOM_WINDOW`` characters (a random blob is random throughout)."""
    core = word.rstrip("=")
    if len(core) < 32:
        return False
    core = core[:RANDOM_WINDOW]
    if not any(c.isdigit() for c in core) or not any(c.isalpha() for c in core) or _entropy(core) <= 4.0:
        return False
    if sum(c not in string.hexdigits for c in core if c.isalnum()) <= 4:
        return False  # hexadecimal, perhaps with a prefix: a digest or a UUID (rule 5's env part)
    classes = [_class(c) for c in core if c.isalnum()]  # separators (`/`, `-`, `_`) do not count
    switches = sum(a != b for a, b in itertools.pairwise(classes))
    return len(classes) >= 24 and switches / (len(classes) - 1) >= 0.5


def _literal(value: str) -> bool:
    return bool(value) and not value.startswith(_NOT_LITERAL) and not is_reference(value)


def _rules(text: str) -> Iterator[Hit]:
    if _PRIVATE_KEY.search(text):
        yield Hit(0, len(text), "a private key")
    for kind, pattern in _TOKENS:
        for match in pattern.finditer(text):
            yield Hit(match.start(), match.end(), kind)
    for kind, pattern in (("credentials in a URL", _URL_CREDENTIALS), ("an HTTP authorization", _AUTHORIZATION)):
        for match in pattern.finditer(text):
            yield Hit(match.start("secret"), match.end("secret"), kind)
    for pattern in (_ASSIGNMENT, _OPTION):
        for match in pattern.finditer(text):
            secret = match.group("secret")
            if _literal(secret) and _OPTION_SAYS_SECRET.search(normalized(match.group("name"))):
                yield Hit(match.start("secret"), match.end("secret"), "a value given to a secret-named option")
    for match in _RANDOM_CANDIDATE.finditer(text):
        if looks_random(match.group()):
            yield Hit(match.start(), match.end(), "a long random-looking string")


def scan(text: str) -> list[Hit]:
    """The credential-looking parts of one string (rules 1, 2, 3, 4 within a string, and 5's base64 part).

    More than ``MAX_HITS`` parts make the whole string one hit."""
    if len(text) < _SHORTEST:
        return []
    return list(_scan_short(text) if len(text) <= MAX_REMEMBERED else _scan(text))


# A stack file repeats its keys and many of its values, and `plan` scans each side twice: short strings are
# scanned once per process. The answer is a tuple, so no caller can change what the next one gets.
MAX_REMEMBERED = 256


@functools.lru_cache(maxsize=1 << 18)  # more than the distinct strings of any stack file within the bounds
def _scan_short(text: str) -> tuple[Hit, ...]:
    return _scan(text)


def _scan(text: str) -> tuple[Hit, ...]:
    if is_reference(text) or not _ANY.search(text):
        return ()
    hits: list[Hit] = []
    for hit in _rules(text):
        hits.append(hit)
        if len(hits) > MAX_HITS:
            return (Hit(0, len(text), hits[0].kind),)
    return tuple(sorted(hits, key=lambda hit: (hit.start, -hit.end)))


def named_literal(name: str, value: str) -> str | None:
    """Rules 4 and 5 for a value under a name (an env variable, a header): the rule it breaks, if any."""
    if not value or is_reference(value):
        return None
    if name_says_secret(name):
        return "its name says secret"
    hexadecimal = _HEX.fullmatch(value) is not None and not value.isdigit() and not value.isalpha()
    if hexadecimal and not _NAME_SAYS_HASH.search(normalized(name)):
        return "a long hexadecimal string"
    return None


def findings(value: Any, path: Path = (), name: str | None = None) -> Iterator[Finding]:
    """Every credential-looking literal in ``value`` (parsed YAML: mappings, lists, scalars; other objects,
    such as secret references, are skipped). ``name`` is the variable a string is the value of."""
    found: list[Finding] = []
    _find(value, path, name, found)
    return iter(found)


def _find(value: Any, path: Path, name: str | None, found: list[Finding]) -> None:
    """``findings`` into a list: one call per value, no generator per level (a large stack has 50,000 values)."""
    if isinstance(value, str):
        kind = named_literal(name, value) if name is not None else None
        if kind is not None:
            found.append(Finding(path, kind))
        elif hits := scan(value):
            whole = any(hit.start == 0 and hit.end == len(value) for hit in hits)
            found.append(Finding(path, hits[0].kind, None if whole else tuple((hit.start, hit.end) for hit in hits)))
    elif isinstance(value, dict):
        in_env = bool(path) and path[-1] == "env"
        pair = value.get("name") if isinstance(value.get("name"), str) and "value" in value else None
        for key, item in value.items():
            if isinstance(key, str) and (key_hits := scan(key)):
                found.append(Finding((*path, key), key_hits[0].kind, in_key=True))
            item_name = str(key) if in_env else pair if key == "value" else None
            _find(item, (*path, key), item_name, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find(item, (*path, index), None, found)
        for index in range(len(value) - 1):  # `command: [--token, abc]`: an option, then its value
            option, given = value[index], value[index + 1]
            if (
                isinstance(option, str)
                and isinstance(given, str)
                and _OPTION_ALONE.fullmatch(option)
                and _OPTION_SAYS_SECRET.search(normalized(option))
                and _literal(given)
                and not scan(given)
            ):
                found.append(Finding((*path, index + 1), "a value given to a secret-named option"))


def _masked(text: str, spans: tuple[tuple[int, int], ...] | list[tuple[int, int]]) -> str:
    result, position = [], 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        result += [text[position : max(start, position)], REDACTED]
        position = end
    return "".join([*result, text[position:]])


def mask_text(text: str) -> str:
    """``text`` with every credential-looking part (by shape: rules 1, 2, 3, 5 and options) replaced."""
    hits = scan(text)
    return _masked(text, [(hit.start, hit.end) for hit in hits]) if hits else text


def redact(value: Any, path: Path = ()) -> Any:
    """A copy of ``value`` in which every finding is replaced by ``REDACTED`` (or, inside a longer string such as
    a command, only its credential-looking parts). Same shape as ``value``, keys masked like text."""
    found = {finding.path: finding for finding in findings(value, path) if not finding.in_key}
    return _redacted(value, path, found)


def _redacted(value: Any, path: Path, found: dict[Path, Finding]) -> Any:
    finding = found.get(path)
    if isinstance(value, str) and finding is not None:
        return REDACTED if finding.spans is None else _masked(value, finding.spans)
    if isinstance(value, dict):
        return {mask_text(k) if isinstance(k, str) else k: _redacted(v, (*path, k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, (*path, i), found) for i, v in enumerate(value)]
    return value
