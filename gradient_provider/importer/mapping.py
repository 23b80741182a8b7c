"""From what `import` read to stack-file entries, each with `adopt: <id>`: every kind's own import mapping
(``Kind.imports``, in ``kinds/<kind>/importing.py``), in dependency order, so a reference is written as the key of
an entry already made. The rules every kind shares (env values, secrets, what a stack file cannot say) are in
``kinds/importing.py``."""

from __future__ import annotations

from ..kinds import in_dependency_order
from ..kinds.importing import ImportContext, Imported, TeamSnapshot


def import_team(team: TeamSnapshot) -> Imported:
    context = ImportContext(team, Imported(notes=list(team.notes)))
    for kind in in_dependency_order():
        if kind.imports is not None:
            for live in team.live.get(kind.section, []):
                kind.imports.entry(live, context)
    return context.imported
