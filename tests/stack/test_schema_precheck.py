"""The compiled schema check (jsonschema-rs) in front of jsonschema changes no answer: the same errors, in the
same order, for valid documents, invalid ones, and those it could read differently (non-finite numbers,
integers past 2**53, a line break before a pattern's `$`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gradient_provider.jsonschema_rules import FiniteValidator, PrecheckedValidator, compiled_check
from gradient_provider.stack_schema import stack_schema

DEPLOYMENT = {"project": "p", "image": "nginx", "machineType": "C4"}

DOCUMENTS: list[Any] = [
    {"projects": {"p": {"name": "P"}}, "deployments": {"api": DEPLOYMENT}},
    {"projects": {"p": {"name": "P"}}, "deployments": {"api": {**DEPLOYMENT, "replicas": float("inf")}}},
    {"projects": {"p": {"name": "P"}}, "deployments": {"api": {**DEPLOYMENT, "replicas": 2**60}}},
    {"projects": {"p": {"name": "P"}}, "deployments": {"api": {**DEPLOYMENT, "replicas": 2.0}}},
    {"projects": {"p\n": {"name": "P"}}},  # Python's `$` matches before a final line break; Rust's does not
    {"projects": {"p": {"name": "P", "unknown": 1}}, "deployments": {"api": {"replicas": "two"}}},
    {"projects": {"p": {"name": ("a", "tuple")}}},
    {"projects": []},
]


def _messages(validator: Any, document: Any) -> list[tuple[list[Any], str]]:
    return [(list(error.absolute_path), error.message) for error in validator.iter_errors(document)]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled check", "jsonschema alone"])
def test_the_prechecked_validator_answers_as_jsonschema_does(document: Any, compiled: bool) -> None:
    schema = stack_schema()
    prechecked = PrecheckedValidator(schema)
    prechecked.compiled = compiled
    if compiled:
        assert compiled_check(json.dumps(schema, sort_keys=True)) is not None, "jsonschema-rs is a locked dependency"
    expected = _messages(FiniteValidator(schema), document)
    assert _messages(prechecked, document) == expected
    assert prechecked.is_valid(document) == (not expected)
