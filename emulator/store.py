"""SQLite persistence: one table of JSON documents, each owned by a team.

Every document is stored only if it renders as JSON an answer can carry (UTF-8, finite numbers):
:func:`dump` refuses anything else at write time, so no stored value can make a later answer fail, and a
state file written before that rule has its unrenderable rows removed at start.

Every handler runs on the server's single event-loop thread and does its reads and writes without
awaiting in between, so each request is atomic with respect to every other one (50 parallel upserts of
one name give one deployment) without further locking.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    id      TEXT NOT NULL,
    team    TEXT NOT NULL,
    parent  TEXT,
    name    TEXT,
    created REAL NOT NULL,
    data    TEXT NOT NULL,
    UNIQUE (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_lookup ON objects (kind, team, parent, name);
-- The children of one object in creation order (an index entry ends with the rowid, which is seq): the
-- latest deployment spec is one index step, however long the history.
CREATE INDEX IF NOT EXISTS objects_children ON objects (kind, team, parent);
-- Ids are unique across kinds: a new id is checked with one index lookup, not a scan of every object.
CREATE INDEX IF NOT EXISTS objects_id ON objects (id);
"""

_ID_ALPHABET = string.ascii_lowercase + string.digits
# The shape of stored objects; bumped when it changes (2: v1-contract workflows, runs, datasets).
FORMAT_VERSION = 2


@dataclass
class Record:
    """One stored object. ``seq`` orders records by creation and backs the list cursors."""

    seq: int
    kind: str
    id: str
    team: str
    parent: str | None
    name: str | None
    created: float
    data: dict[str, Any]


class Store:
    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._check_format(path)
        self._drop_unrenderable(path)

    def _check_format(self, path: str) -> None:
        """A state file written by an emulator with other object shapes is emptied, not misread."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version == FORMAT_VERSION:
            return
        if self._db.execute("SELECT 1 FROM objects LIMIT 1").fetchone() is not None:
            print(
                f"emulator: {path} holds state in an older format ({version}, now {FORMAT_VERSION}); starting empty",
                file=sys.stderr,
                flush=True,
            )
            self.wipe()
        self._db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")

    def _drop_unrenderable(self, path: str) -> None:
        """Rows no answer could carry (NaN, lone surrogates: only an emulator before issue #12 wrote them)
        would fail every listing that shows them; they are removed, with a note on stderr."""
        dropped = []
        for row in self._db.execute("SELECT seq, kind, id, data FROM objects").fetchall():
            try:
                dump(json.loads(row["data"]))
            except (ValueError, UnicodeEncodeError):
                dropped.append(row)
        for row in dropped:
            self._db.execute("DELETE FROM objects WHERE seq = ?", (row["seq"],))
            print(
                f"emulator: {path}: removed {row['kind']} {row['id']!r}, which holds a value JSON cannot carry",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def new_id(self, prefix: str, length: int = 10) -> str:
        while True:
            candidate = prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))
            if self._db.execute("SELECT 1 FROM objects WHERE id = ?", (candidate,)).fetchone() is None:
                return candidate

    @staticmethod
    def new_uuid() -> str:
        return str(uuid.uuid4())

    @staticmethod
    def new_token(length: int) -> str:
        """Random lowercase letters and digits; the caller makes sure it is unique where it must be."""
        return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))

    def insert(
        self,
        kind: str,
        team: str,
        ident: str,
        data: dict[str, Any],
        *,
        created: float,
        parent: str | None = None,
        name: str | None = None,
    ) -> Record:
        cursor = self._db.execute(
            "INSERT INTO objects (kind, id, team, parent, name, created, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, ident, team, parent, name, created, dump(data)),
        )
        assert cursor.lastrowid is not None
        return Record(cursor.lastrowid, kind, ident, team, parent, name, created, data)

    def save(self, record: Record) -> None:
        self._db.execute(
            "UPDATE objects SET parent = ?, name = ?, data = ? WHERE seq = ?",
            (record.parent, record.name, dump(record.data), record.seq),
        )

    def get(self, kind: str, team: str, ident: str) -> Record | None:
        row = self._db.execute(
            "SELECT * FROM objects WHERE kind = ? AND team = ? AND id = ?", (kind, team, ident)
        ).fetchone()
        return _record(row) if row is not None else None

    def delete(self, record: Record) -> None:
        self._db.execute("DELETE FROM objects WHERE seq = ?", (record.seq,))

    def find(
        self,
        kind: str,
        team: str | None,
        *,
        parent: str | None = None,
        name: str | None = None,
        after_seq: int | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Record]:
        """Records of a kind, oldest first (or newest first), optionally filtered and cut after a cursor."""
        clauses, params = ["kind = ?"], [kind]
        for column, value in (("team", team), ("parent", parent), ("name", name)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if after_seq is not None:
            clauses.append("seq < ?" if descending else "seq > ?")
            params.append(str(after_seq))
        sql = f"SELECT * FROM objects WHERE {' AND '.join(clauses)} ORDER BY seq {'DESC' if descending else 'ASC'}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_record(row) for row in self._db.execute(sql, params)]

    def wipe(self) -> None:
        self._db.execute("DELETE FROM objects")


def dump(data: dict[str, Any]) -> str:
    """A document as stored: JSON that renders as UTF-8 with finite numbers, or ValueError (a bug: the request
    fails with a 500 and nothing is stored, instead of every later listing failing)."""
    text = json.dumps(data, allow_nan=False)  # stored as before: ASCII, other characters as \u escapes
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    return text


def _record(row: sqlite3.Row) -> Record:
    return Record(
        row["seq"],
        row["kind"],
        row["id"],
        row["team"],
        row["parent"],
        row["name"],
        row["created"],
        json.loads(row["data"]),
    )
