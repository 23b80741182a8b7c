"""The registry of resource kinds: one line per kind. Everything that handles stack files iterates it.

Adding a kind: its own folder under ``kinds/`` (table, wire mapping, lifecycle, and a ``KIND`` declaration)
and one line here; then its resource and provider class in ``resources.py`` (names frozen in state). See
docs/architecture.md.
"""

from __future__ import annotations

from graphlib import TopologicalSorter

from .dataset import KIND as DATASET
from .deployment import KIND as DEPLOYMENT
from .experiment import KIND as EXPERIMENT
from .kind import Kind, Reference
from .project import KIND as PROJECT

KINDS: tuple[Kind, ...] = (
    PROJECT,
    DATASET,
    EXPERIMENT,
    DEPLOYMENT,
)


def registry() -> tuple[Kind, ...]:
    """The kinds, read when asked (so a test can register a kind of its own for the duration of a test)."""
    return KINDS


def by_section() -> dict[str, Kind]:
    return {kind.section: kind for kind in registry()}


def in_dependency_order() -> list[Kind]:
    """Kinds ordered so that every kind comes after the kinds its references name."""
    sections = by_section()
    graph = {kind.section: {ref.target for ref in kind.references} for kind in registry()}
    return [sections[section] for section in TopologicalSorter(graph).static_order()]


__all__ = ["KINDS", "Kind", "Reference", "by_section", "in_dependency_order", "registry"]
