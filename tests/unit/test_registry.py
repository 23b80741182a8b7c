"""One registry of kinds: a kind declared here, in the test alone, is validated, referenced, given a schema,
documented and planned by the same code as the real ones, which never name a kind."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gradient_provider import kinds
from gradient_provider.client.models import Project
from gradient_provider.importer.mapping import import_team
from gradient_provider.importer.read import read_team
from gradient_provider.importer.write import render
from gradient_provider.kinds import Kind, Reference, in_dependency_order
from gradient_provider.kinds.importing import ImportContext, ImportReader, add_checked
from gradient_provider.kinds.kind import ImportMapping
from gradient_provider.lifecycles.base import Created, Lifecycle, Observed
from gradient_provider.lifecycles.policy import ADOPT, FieldRule, FieldTable, Policy, Risk, adopt_rule
from gradient_provider.reference import render_reference
from gradient_provider.review.plan import plan_stack
from gradient_provider.stack import StackFile, parse_stack
from gradient_provider.stack_schema import stack_schema
from gradient_provider.yaml_source import SourceError


class NoteLifecycle(Lifecycle):
    """A kind needs a lifecycle; this one's is never called here."""

    table = FieldTable(
        kind="Note",
        fields={
            "projectId": FieldRule(
                Policy.REPLACE, Risk.SAFE, {"type": "string"}, "Project.", required=True, provider_only=True
            ),
            "name": FieldRule(
                Policy.IN_PLACE, Risk.SAFE, {"type": "string"}, "Title.", required=True, defaults_to_key=True
            ),
            "text": FieldRule(Policy.IN_PLACE, Risk.SAFE, {"type": "string"}, "What it says.", required=True),
            ADOPT: adopt_rule("note"),
            "pinned": FieldRule(
                Policy.IN_PLACE,
                Risk.SAFE,
                {"type": "boolean"},
                "Shown first.",
                default=False,
                risk_of=lambda old, new: Risk.RESTART if new else Risk.SAFE,
            ),
            "style": FieldRule(
                Policy.IN_PLACE,
                Risk.SAFE,
                {"type": "object", "additionalProperties": {"type": "string"}},
                "How it looks.",
                nested={"font": FieldRule(Policy.REPLACE, Risk.DESTROY, {"type": "string"}, "A new font, a new note.")},
            ),
        },
        outputs={"noteId": "the note's id"},
    )

    def create(self, inputs: dict[str, Any]) -> Created:
        raise NotImplementedError

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        raise NotImplementedError

    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        raise NotImplementedError


def _read_notes(reader: ImportReader) -> list[Any]:
    asked = {scope.project.id for scope in reader.projects}
    return [note for note in reader.api.notes if note["projectId"] in asked]  # type: ignore[attr-defined]


def _note_entry(note: dict[str, Any], ctx: ImportContext) -> None:
    key = ctx.keys["notes"](note["name"], "note")
    project_key, _ = ctx.project(note["projectId"])
    fields = {"project": project_key, "name": note["name"], "text": note["text"], "adopt": note["id"]}
    add_checked(ctx.imported, "notes", f"note {note['id']}", NoteLifecycle, fields, key, skip_check=True)


NOTE = Kind(
    section="notes",
    noun="note",
    table=NoteLifecycle.table,
    lifecycle=NoteLifecycle,
    description="Notes, by key.",
    references=(Reference("project", "projects", "projectId", "id", "Key of the project.", required=True),),
    identity=("name", "project"),
    unique_identity=True,
    imports=ImportMapping(read=_read_notes, entry=_note_entry),
)

STACK = """\
projects:
  research: {name: Research}
notes:
  hello:
    project: research
    text: first
"""


@pytest.fixture(autouse=True)
def with_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The registry line, as a test writes it: nothing else is touched.
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, NOTE))


def test_the_loader_declares_the_new_kind_with_its_reference_and_key_default() -> None:
    stack = parse_stack("stack.yaml", STACK)
    hello = stack.section("notes")["hello"]
    assert hello.inputs == {"text": "first", "name": "hello"} and hello.references == {"project": "research"}
    assert [kind.section for kind in in_dependency_order()].index("notes") > 0


def test_its_references_and_required_fields_are_checked_with_lines() -> None:
    with pytest.raises(SourceError) as failure:
        parse_stack(
            "stack.yaml", STACK.replace("project: research", "project: reserch").replace("    text: first\n", "")
        )
    assert [str(p) for p in failure.value.problems] == [
        "stack.yaml:4: notes.hello.text: is required",
    ]
    with pytest.raises(SourceError) as failure:
        parse_stack("stack.yaml", STACK.replace("project: research", "project: reserch"))
    assert [str(p) for p in failure.value.problems] == [
        "stack.yaml:5: notes.hello.project: refers to 'reserch', which is not one of the projects: research; "
        "did you mean 'research'?",
    ]
    twice = STACK + "  again:\n    name: hello\n    project: research\n    text: second\n"
    with pytest.raises(SourceError) as failure:
        parse_stack("stack.yaml", twice)
    assert "notes.again: name 'hello' is already used by notes.hello in project 'research'" in str(failure.value)


def test_the_schema_and_the_reference_include_it() -> None:
    notes = stack_schema()["properties"]["notes"]["additionalProperties"]
    assert notes["required"] == ["project", "text"] and "projectId" not in notes["properties"]
    assert "#### `notes.<key>` (Note)" in render_reference()
    assert "| `text` (required) | string |  | in-place | safe | What it says. |" in render_reference()


def test_the_plan_shows_its_changes_with_value_dependent_risks() -> None:
    old = parse_stack("old", STACK)
    new = parse_stack("new", STACK.replace("text: first", "text: second\n    pinned: true"))
    plan = plan_stack("stack.yaml", "HEAD", old, new)
    [note] = [r for r in plan.resources if r.section == "notes"]
    assert (note.kind, note.action, note.risk) == ("note", "update", "restart")
    assert {c.path: c.new for c in note.changes} == {"text": "second", "pinned": True}
    assert plan_stack("stack.yaml", "HEAD", StackFile("old"), old).resources[-1].action == "create"


class _TeamWithNotes:
    """The API as `import` reads it, for a team with one project holding one note and nothing else."""

    notes: ClassVar[list[dict[str, str]]] = [{"id": "nt1", "projectId": "pr1", "name": "hello", "text": "first"}]

    class client:
        @staticmethod
        def paginate(path: str) -> list[Any]:
            return []  # no deployments, no project secrets

    def get_project(self, ident: str) -> Project:
        return Project(ident, "Research")

    def list_workflows(self, project_id: str) -> list[Any]:
        return []


def test_import_reads_and_writes_it_through_its_own_mapping() -> None:
    team = read_team(_TeamWithNotes(), ["pr1"], {})  # type: ignore[arg-type]
    assert team.live["notes"] == _TeamWithNotes.notes
    text = render(import_team(team), ["project pr1"])
    hello = parse_stack("stacks/imported.yaml", text).section("notes")["hello"]  # the loader `validate` uses
    assert hello.inputs == {"name": "hello", "text": "first", "adopt": "nt1"}
    assert hello.references == {"project": "Research"}


def test_adding_a_kind_touches_only_its_folder_and_the_registry_line() -> None:
    """No module outside kinds/ names a kind: the consumers iterate the registry."""
    root = Path(__file__).resolve().parents[2] / "gradient_provider"
    consumers = [
        "stack.py",
        "stack_schema.py",
        "program.py",
        "reference.py",
        "__main__.py",
        "review/plan.py",
        "importer/__init__.py",
        "importer/read.py",
        "importer/mapping.py",
        "importer/write.py",
        "runs_cli.py",
    ]
    pattern = r"\"(projects|experiments|deployments)\"|\b(Project|Experiment|Deployment)(Lifecycle|_TABLE)\b"
    found = subprocess.run(
        ["grep", "-nE", pattern, *consumers], cwd=root, capture_output=True, text=True, check=False
    ).stdout
    assert found == ""


def test_a_nested_field_has_its_own_policy_in_the_diff_and_the_plan() -> None:
    base = {"projectId": "p", "name": "n", "text": "t", "style": {"color": "red", "font": "serif"}}
    recolored = {**base, "style": {"color": "blue", "font": "serif"}}
    refont = {**base, "style": {"color": "red", "font": "mono"}}
    assert NoteLifecycle.diff(base, recolored).replaces == () and NoteLifecycle.diff(base, recolored).touches_api
    assert NoteLifecycle.diff(base, refont).replaces == ("style",)
    old = parse_stack("old", STACK + "    style: {color: red, font: serif}\n")
    new = parse_stack("new", STACK + "    style: {color: blue, font: mono}\n")
    [note] = [r for r in plan_stack("stack.yaml", "HEAD", old, new).resources if r.section == "notes"]
    assert {c.path: (c.policy.value, c.risk.value) for c in note.changes} == {
        "style.color": ("in-place", "safe"),
        "style.font": ("replace", "destroy"),
    }
    assert (note.action, note.risk) == ("replace", "destroy")
