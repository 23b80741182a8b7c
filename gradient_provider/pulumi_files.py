"""Pulumi's own files (`Pulumi.yaml`, `Pulumi.<stack>.yaml`) checked by the rules the Pulumi CLI applies.

The Pulumi CLI cannot be installed where this project is built, so its load-time rules are applied here, as
read in pulumi/pulumi (snapshot 2026-08-21, SDK 3.260):

- `sdk/go/common/workspace/project.json`: the JSON Schema of `Pulumi.yaml` (attributes and their types);
- `sdk/go/common/workspace/project.go`: `ValidateProject` (the `name` checks), `Project.Validate` (config
  declarations: namespacing, `type`/`items`/`default`/`value`) and `ValidateConfigValue` (typed values);
- `sdk/go/common/tokens/names.go`: project names;
- `pkg/workspace/config.go`: stack config against the project's declarations;
- `sdk/python/toolchain/`: the Python runtime's `toolchain` and `virtualenv` options.

Messages quote Pulumi's own wording where it has one. Where Pulumi silently ignores something (an unknown
top-level attribute, a misspelt stack file key) this check reports it, because a silently ignored line is a
setting the user thinks they made. The tests tie these rules to Pulumi's schema
(`../shared/reference/pulumi-project.schema.json`) on a corpus of project files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Any

from .client.settings import CONFIG_API_KEY, CONFIG_API_URL, CONFIG_POLL_SECONDS
from .workspace import settings as workspace_settings
from .yaml_source import Located, Path, Problem, SourceError, dotted, load

PROJECT_FILE = "Pulumi.yaml"
_PROJECT_ATTRIBUTES = [
    "name",
    "description",
    "author",
    "website",
    "license",
    "runtime",
    "main",
    "config",
    "stackConfigDir",
    "backend",
    "options",
    "template",
    "packages",
    "plugins",
]
_OPTIONAL_STRINGS = ("description", "author", "website", "license", "main", "stackConfigDir")
_DECLARATION_ATTRIBUTES = ("type", "items", "description", "secret", "default", "value")
_CONFIG_TYPES = ("string", "integer", "boolean", "array", "object")
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_PYTHON_TOOLCHAINS = ("pip", "poetry", "uv")
_STACK_ATTRIBUTES = ("secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment")
_STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[^.]+)\.ya?ml$")
# The provider's own settings (gradient_provider/client/settings.py): what each must hold.
_PROVIDER_KEYS = {
    CONFIG_API_URL: "an http:// or https:// URL",
    CONFIG_API_KEY: "a secret (`pulumi config set --secret gradient:apiKey ...`)",
    CONFIG_POLL_SECONDS: "a positive number of seconds",
    # a local workspace's bucket (gradient_provider/workspace/settings.py)
    workspace_settings.CONFIG_BUCKET: "a bucket name",
    workspace_settings.CONFIG_ENDPOINT: "an http:// or https:// URL",
    workspace_settings.CONFIG_REGION: "a region name",
    workspace_settings.CONFIG_ACCESS_KEY_ID: "an access key id",
    workspace_settings.CONFIG_SECRET_ACCESS_KEY: (
        "a secret (`pulumi config set --secret gradient:workspaceSecretAccessKey ...`)"
    ),
}
# Settings that hold a credential: secure only, and their value is never shown.
_SECRET_KEYS = (CONFIG_API_KEY, workspace_settings.CONFIG_SECRET_ACCESS_KEY)
_URL_KEYS = (CONFIG_API_URL, workspace_settings.CONFIG_ENDPOINT)


def is_pulumi_file(path: FilePath) -> bool:
    return path.name in (PROJECT_FILE, "Pulumi.yml") or _STACK_FILE.match(path.name) is not None


def check_file(path: FilePath) -> list[Problem]:
    """Problems of one Pulumi file: a project file, or a stack config file (read beside its project file, whose
    own problems are reported when it is checked itself)."""
    if path.name in (PROJECT_FILE, "Pulumi.yml"):
        return _project_problems(path)[0]
    project = _project_problems(path.parent / PROJECT_FILE)[1]
    name = str(project.data.get("name", "")) if project and isinstance(project.data, dict) else ""
    return _stack_problems(path, name, project)


# -- Pulumi.yaml -------------------------------------------------------------------------------------------


def _read(path: FilePath) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError([Problem(str(path), 1, "(file)", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError([Problem(str(path), 1, "(file)", f"cannot read it: {error}")]) from None
    return load(str(path), text)


def _project_problems(path: FilePath) -> tuple[list[Problem], Located | None]:
    try:
        located = _read(path)
    except SourceError as error:
        return error.problems, None
    return check_project(located), located


def check_project(located: Located) -> list[Problem]:
    """The problems Pulumi would report loading this `Pulumi.yaml`, plus attributes it would silently ignore."""
    data = located.data
    if not isinstance(data, dict):
        return [_at(located, (), "a Pulumi project file is a mapping with at least `name` and `runtime`")]
    problems = list(_name_problems(located, data))
    for key in data:
        if key not in _PROJECT_ATTRIBUTES:
            close = difflib.get_close_matches(key, _PROJECT_ATTRIBUTES, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(_at(located, (key,), f"not a Pulumi.yaml attribute (Pulumi ignores it){hint}", key=True))
    for key in _OPTIONAL_STRINGS:
        if data.get(key) is not None and not isinstance(data[key], str):
            problems.append(_at(located, (key,), f"expected string or null, but got {_json_type(data[key])}"))
    problems += _runtime_problems(located, data.get("runtime"))
    problems += _only(located, data, "backend", {"url": lambda v: isinstance(v, str)})
    problems += _only(located, data, "options", {"refresh": lambda v: v == "always"})
    config = data.get("config")
    if isinstance(config, dict):
        for key, entry in config.items():
            problems += _declaration_problems(located, str(data.get("name", "")), key, entry)
    elif config is not None and not isinstance(config, str):
        problems.append(_at(located, ("config",), f"expected object, string or null, but got {_json_type(config)}"))
    return problems


def _name_problems(located: Located, data: dict[str, Any]) -> Iterator[Problem]:
    if "name" not in data:
        near = [k for k in data if k != "name" and difflib.SequenceMatcher(None, k.lower(), "name").ratio() >= 0.6]
        found = f"; found '{near[0]}' instead" if near else ""
        yield _at(located, (), f"project is missing a 'name' attribute{found}")
        return
    name = data["name"]
    if not isinstance(name, str) or not name:
        yield _at(located, ("name",), "project is missing a non-empty string 'name' attribute")
    elif len(name) > 100:
        yield _at(located, ("name",), "project names are limited to 100 characters")
    elif not _PROJECT_NAME.match(name):
        yield _at(located, ("name",), "project names may only contain alphanumerics, hyphens, underscores, and periods")


def _runtime_problems(located: Located, runtime: Any) -> list[Problem]:
    if runtime is None:
        return [_at(located, (), "project is missing a 'runtime' attribute")]
    if isinstance(runtime, str):
        return [] if runtime else [_at(located, ("runtime",), "runtime must not be empty")]
    shape = "runtime section must be a string or an object with name and options attributes"
    if not isinstance(runtime, dict) or set(runtime) - {"name", "options"}:
        return [_at(located, ("runtime",), shape, key=True)]
    if not isinstance(runtime.get("name"), str) or not runtime["name"]:
        return [_at(located, ("runtime", "name"), "the runtime's name must be a non-empty string", key=True)]
    options = runtime.get("options")
    if options is None:
        return []
    if not isinstance(options, dict):
        return [_at(located, ("runtime", "options"), f"expected object, but got {_json_type(options)}")]
    problems = []
    if runtime["name"] == "python":
        toolchain = options.get("toolchain")
        if toolchain is not None and toolchain not in _PYTHON_TOOLCHAINS:
            expected = ", ".join(_PYTHON_TOOLCHAINS)
            problems.append(_at(located, ("runtime", "options", "toolchain"), f"expected one of {expected}"))
        venv = options.get("virtualenv")
        if venv is not None and not isinstance(venv, str):
            problems.append(_at(located, ("runtime", "options", "virtualenv"), "expected a directory path"))
    return problems


def _only(located: Located, data: dict[str, Any], section: str, allowed: dict[str, Any]) -> list[Problem]:
    value = data.get(section)
    if value is None:
        return []
    if not isinstance(value, dict):
        return [_at(located, (section,), f"expected object or null, but got {_json_type(value)}")]
    problems = []
    for key, item in value.items():
        if key not in allowed:
            names = " and ".join(f"'{name}'" for name in allowed)
            problems.append(_at(located, (section, key), f"'{key}' not allowed; the only allowed attribute is {names}"))
        elif not allowed[key](item):
            problems.append(_at(located, (section, key), f"unexpected value {item!r}"))
    return problems


def _declaration_problems(located: Located, project: str, key: str, entry: Any) -> list[Problem]:
    path: Path = ("config", key)
    namespaced = ":" not in key or key.startswith(f"{project}:")
    if not isinstance(entry, dict) and not _shorthand(entry):
        return [_at(located, path, f"expected a string, integer, boolean, list or declaration, got {entry!r}")]
    if not isinstance(entry, dict):
        return []  # shorthand: a project key's default, another namespace's value
    problems = []
    for attribute in entry:
        if attribute not in _DECLARATION_ATTRIBUTES:
            allowed = ", ".join(_DECLARATION_ATTRIBUTES)
            problems.append(_at(located, (*path, attribute), f"not allowed; the allowed attributes are {allowed}"))
    type_name = entry.get("type")
    if type_name is not None and type_name not in _CONFIG_TYPES:
        problems.append(_at(located, (*path, "type"), f"expected one of {', '.join(_CONFIG_TYPES)}"))
    if "description" in entry and not isinstance(entry["description"], str):
        problems.append(_at(located, (*path, "description"), "expected a string"))
    if "secret" in entry and not isinstance(entry["secret"], bool):
        problems.append(_at(located, (*path, "secret"), "expected true or false"))
    if "items" in entry:
        problems += _items_problems(located, (*path, "items"), entry["items"])
    if problems:
        return problems
    if "default" in entry and "value" in entry:
        return [_at(located, path, f"project config '{key}' cannot have both a 'default' and 'value' attribute")]
    if namespaced:
        if type_name == "array" and "items" not in entry:
            return [
                _at(
                    located,
                    path,
                    f"The configuration key '{key}' declares an array but does not specify the underlying type via "
                    "the 'items' attribute",
                )
            ]
        if (
            type_name is not None
            and "default" in entry
            and not matches_type(type_name, entry.get("items"), entry["default"])
        ):
            return [
                _at(
                    located,
                    (*path, "default"),
                    f"The default value specified for configuration key '{key}' is not of the expected type "
                    f"'{_type_label(type_name, entry.get('items'))}'",
                )
            ]
        return []
    if type_name is not None:
        return [
            _at(
                located,
                path,
                f"Configuration key '{key}' is not namespaced by the project and should not define a type",
            )
        ]
    if "default" in entry:
        return [
            _at(
                located,
                path,
                f"Configuration key '{key}' is not namespaced by the project and should not define a default value. "
                "Did you mean to use the 'value' attribute instead of 'default'?",
            )
        ]
    if "value" not in entry:
        return [_at(located, path, f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")]
    return []


def _items_problems(located: Located, path: Path, items: Any) -> list[Problem]:
    if not isinstance(items, dict) or "type" not in items:
        return [_at(located, path, "expected a mapping with a 'type'")]
    item_type = items["type"]
    if isinstance(item_type, dict):
        return _items_problems(located, (*path, "type"), item_type)
    if item_type not in _CONFIG_TYPES:
        return [_at(located, (*path, "type"), f"expected one of {', '.join(_CONFIG_TYPES)}")]
    if item_type == "array":
        if "items" not in items:
            return [_at(located, path, "an array type needs 'items'")]
        return _items_problems(located, (*path, "items"), items["items"])
    return []


def _shorthand(value: Any) -> bool:
    return isinstance(value, (str, int, bool, list)) and not isinstance(value, float)


def matches_type(type_name: str, items: Any, value: Any) -> bool:
    """Pulumi's ``ValidateConfigValue``: whether ``value`` is of the declared config type."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value) is not None
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    if type_name == "array":
        if not isinstance(value, list) or not isinstance(items, dict):
            return False
        return all(matches_type(str(items.get("type")), items.get("items"), item) for item in value)
    return False


def _type_label(type_name: str, items: Any) -> str:
    if type_name == "array" and isinstance(items, dict):
        return f"array<{_type_label(str(items.get('type')), items.get('items'))}>"
    return type_name


# -- Pulumi.<stack>.yaml -----------------------------------------------------------------------------------


def _stack_problems(path: FilePath, project: str, project_file: Located | None) -> list[Problem]:
    try:
        located = _read(path)
    except SourceError as error:
        return error.problems
    match = _STACK_FILE.match(path.name)
    declared = project_file.data.get("config") if project_file and isinstance(project_file.data, dict) else None
    return check_stack(
        located, match.group("stack") if match else path.stem, project, declared if isinstance(declared, dict) else {}
    )


def check_stack(located: Located, stack: str, project: str, declared: dict[str, Any]) -> list[Problem]:
    """Problems of a stack config file: its shape, the project's typed declarations, the provider's keys."""
    data = located.data
    if data is None:
        return []
    if not isinstance(data, dict):
        return [_at(located, (), "a stack config file is a mapping (config, secretsprovider, ...)")]
    problems = []
    for key in data:
        if key not in _STACK_ATTRIBUTES:
            close = difflib.get_close_matches(key, _STACK_ATTRIBUTES, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(_at(located, (key,), f"not a stack file attribute (Pulumi ignores it){hint}", key=True))
    config = data.get("config") or {}
    if not isinstance(config, dict):
        return [*problems, _at(located, ("config",), "expected a mapping of configuration keys")]
    full = {_full_key(project, key): (key, value) for key, value in config.items()}
    for written, value in full.values():
        problems += _config_value_problems(located, project, written, value)
    for key, entry in declared.items():
        problems += _declared_problems(located, stack, project, _full_key(project, key), entry, full)
    return problems


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _config_value_problems(located: Located, project: str, key: str, value: Any) -> list[Problem]:
    path: Path = ("config", key)
    parts = key.split(":")
    if len(parts) > 3 or not all(parts):
        return [_at(located, path, f"could not parse {key!r} as a configuration key (expected <namespace>:<name>)")]
    if _is_secure(value) is None:
        return [
            _at(located, path, "a secret is written `secure: <ciphertext>` (set it with `pulumi config set --secret`)")
        ]
    if not key.startswith("gradient:"):
        return []
    if key not in _PROVIDER_KEYS:
        close = difflib.get_close_matches(key, list(_PROVIDER_KEYS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return [_at(located, path, f"the gradient provider has no setting {key!r}{hint}", key=True)]
    secure = _is_secure(value)
    if key in _SECRET_KEYS:
        # Never show the value: this is the one place a pasted key would otherwise be echoed back.
        return [] if secure else [_at(located, path, f"must be {_PROVIDER_KEYS[key]}, not plain text", key=True)]
    if secure:
        return []
    text = str(value)
    if key in _URL_KEYS:
        valid = re.match(r"^https?://[^\s/]+", text) is not None
    elif key == CONFIG_POLL_SECONDS:
        valid = re.fullmatch(r"\d+(\.\d+)?", text) is not None and float(text) > 0
    else:
        valid = isinstance(value, str) and bool(text.strip())
    return [] if valid else [_at(located, path, f"must be {_PROVIDER_KEYS[key]}, got {text!r}")]


def _is_secure(value: Any) -> bool | None:
    """True for `{secure: ciphertext}`, False for any other value, None for a malformed `secure` object."""
    if isinstance(value, dict) and "secure" in value:
        return True if len(value) == 1 and isinstance(value["secure"], str) else None
    return False


def _declared_problems(
    located: Located, stack: str, project: str, key: str, entry: Any, config: dict[str, tuple[str, Any]]
) -> list[Problem]:
    if not key.startswith(f"{project}:"):
        return []
    declaration = entry if isinstance(entry, dict) else {"default": entry}
    if key not in config:
        if "default" in declaration or "value" in declaration:
            return []
        return [_at(located, ("config",), f"Stack '{stack}' is missing configuration value '{key}'", key=True)]
    written, value = config[key]
    type_name = declaration.get("type")
    if type_name is None:
        return []
    if declaration.get("secret") and not _is_secure(value):
        return [
            _at(
                located,
                ("config", written),
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret",
            )
        ]
    if not _is_secure(value) and not matches_type(str(type_name), declaration.get("items"), _as_loaded(value)):
        return [
            _at(
                located,
                ("config", written),
                f"Stack '{stack}' with configuration key '{key}' must be of type "
                f"'{_type_label(str(type_name), declaration.get('items'))}'",
            )
        ]
    return []


def _as_loaded(value: Any) -> Any:
    """Pulumi keeps every scalar of a stack file as a string (`config.Value`); structures stay structures."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


# -- shared ------------------------------------------------------------------------------------------------


def _at(located: Located, path: Path, message: str, *, key: bool = False) -> Problem:
    """A problem at ``path``: on its key's line when it is about the key or a whole mapping or list."""
    line = located.line_of(path, key=key or _composite(located.data, path))
    return Problem(located.file, line, dotted(path), message)


def _composite(data: Any, path: Path) -> bool:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(data, (dict, list)) and bool(path)


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}
    return names.get(type(value), "null")
