"""Hypothesis strategies for the JSON Schema subset the field tables use.

hypothesis-jsonschema covers all of JSON Schema but took seconds per test on these tables (and minutes to
shrink a failure); the tables use a small subset, which this turns into plain Hypothesis strategies.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

_PLAIN = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9 ._/:-]{0,20}\Z")  # any string: text as a user writes it


def strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "oneOf" in schema:
        return st.one_of([strategy(_merge(schema, option)) for option in schema["oneOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([strategy({**schema, "type": k}) for k in kind])
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"].replace("$", r"\Z"), fullmatch=False).filter(
                lambda text: len(text) <= schema.get("maxLength", 64)
            )
        return _PLAIN.filter(lambda text: len(text) >= schema.get("minLength", 0))
    if kind == "integer":
        return st.integers(schema.get("minimum", 0), schema.get("maximum", 10_000))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return st.floats(low, 1000, exclude_min="exclusiveMinimum" in schema, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(strategy(schema.get("items", {})), min_size=schema.get("minItems", 0), max_size=3)
    if kind == "object" or "properties" in schema:
        return _object(schema)
    return st.none()


def _merge(schema: dict[str, Any], option: dict[str, Any]) -> dict[str, Any]:
    merged = {key: value for key, value in schema.items() if key != "oneOf"}
    merged.update(option)
    return merged


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = {name: strategy(sub) for name, sub in properties.items() if name in required}
    optional = {name: strategy(sub) for name, sub in properties.items() if name not in required}
    extra = schema.get("additionalProperties")
    names = schema.get("propertyNames", {}).get("pattern")
    free: st.SearchStrategy[dict[str, Any]] = st.just({})
    if isinstance(extra, dict) and names:
        key = st.from_regex(names.replace("$", r"\Z"), fullmatch=False).filter(lambda k: len(k) <= 20)
        free = st.dictionaries(key, strategy(extra), max_size=3)
    return st.builds(
        lambda base, more, rest: {**rest, **base, **more},
        st.fixed_dictionaries(fixed),
        st.fixed_dictionaries({}, optional=optional),
        free,
    )
