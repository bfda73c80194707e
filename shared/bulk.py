"""Multi-row inserts for consumer batches: one ``executemany``, each value converted the way SQLAlchemy would.

``connection.execute(insert(table), rows)`` builds every row's parameters through the compiled
statement's general machinery and runs each column's bind processor on every value. For the
hundreds of rows a consumer batch writes in one statement per table, that bookkeeping was about
a sixth of the triage consumer's time on SQLite, and much of it was converting the same
timestamp (the batch's ``now``, stamped on its tickets, timeline entries, outbox and idempotency
rows) again and again. :func:`insert_rows` compiles the statement once per dialect, table and
set of columns, applies the very processors SQLAlchemy would use, and converts an equal
timestamp once per call. The rows are still real INSERTs: the tables' triggers fire.

:class:`RowQueue` is the one queue of rows to write that way: a unit of work (a consumer batch,
a group-committed transaction) adds rows per table and writes them all at once, parents first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Table, TypeDecorator, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Statement:
    sql: str
    names: tuple[str, ...]  # the binds, in the order a positional dialect takes them
    plan: tuple[tuple[str, Processor | None, bool], ...]  # per bind: column key, processor, is it a timestamp


@functools.lru_cache(maxsize=256)
def _statement(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Statement:
    omitted = [c.key for c in table.columns if c.key not in keys and c.default is not None]
    if omitted:  # SQLAlchemy would fill these in from their Python-side defaults; this does not
        raise ValueError(f"rows for {table.name} leave out columns with defaults: {omitted}")
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    names = tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.binds)
    # every bind of a plain INSERT is one column's value, named after the column's key
    columns = [table.c[compiled.binds[name].key] for name in names]
    plan = tuple((c.key, c.type.dialect_impl(dialect).bind_processor(dialect), _holds_timestamps(c.type))
                 for c in columns)
    return _Statement(sql=str(compiled), names=names, plan=plan)


def _holds_timestamps(type_: TypeEngine[Any]) -> bool:
    if isinstance(type_, TypeDecorator):  # e.g. UTCDateTime: what it stores is its implementation's
        type_ = type_.impl_instance
    return isinstance(type_, DateTime)


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``connection.execute(insert(table), rows)`` for rows that all have the same keys."""
    if not rows:
        return
    statement = _statement(connection.dialect, table, tuple(rows[0]))
    # per timestamp column: each (value, its zone) met so far -> its parameter
    memos: list[dict[tuple[datetime, Any], Any] | None] = [
        {} if is_timestamp else None for _, _, is_timestamp in statement.plan]
    positional = connection.dialect.positional
    params: list[Any] = []
    for row in rows:
        values = []
        for (key, processor, _), memo in zip(statement.plan, memos, strict=True):
            value = row[key]
            # None too, as SQLAlchemy does: a JSON column stores it as JSON null, not SQL NULL
            if processor is not None:
                if memo is not None and type(value) is datetime:
                    # equal instants in the same zone have the same fields, so whatever the
                    # processor does with them (UTC conversion, or formatting the wall clock)
                    # gives the same parameter
                    memo_key = (value, value.tzinfo)
                    if memo_key not in memo:
                        memo[memo_key] = processor(value)
                    value = memo[memo_key]
                else:
                    value = processor(value)
            values.append(value)
        params.append(tuple(values) if positional else dict(zip(statement.names, values, strict=True)))
    connection.exec_driver_sql(statement.sql, params)


class RowQueue:
    """Rows queued per table, written by :meth:`write` with one multi-row INSERT per table.

    Tables are written parents first (by their foreign keys; unrelated tables in the order their
    first row was queued), each table's rows in the order they were queued. Every row of a
    table names the same columns (see :func:`insert_rows`).
    """

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: dict[Table, list[dict[str, Any]]] = {}

    def add(self, table: Table, row: dict[str, Any]) -> None:
        """Queue ``row`` (column key -> value) for ``table``."""
        rows = self._rows.get(table)
        if rows is None:
            self._rows[table] = [row]
        else:
            rows.append(row)

    def rows(self, table: Table) -> list[dict[str, Any]]:
        """The rows queued for ``table`` so far (not a copy; empty if none)."""
        return self._rows.get(table, [])

    def __bool__(self) -> bool:
        return bool(self._rows)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    def clear(self) -> None:
        """Drop what is queued."""
        self._rows = {}

    def write(self, connection: Connection) -> None:
        """Insert everything queued and empty the queue (it is emptied whether this succeeds or not)."""
        pending, self._rows = self._rows, {}
        if not pending:
            return
        for table in _parents_first(tuple(pending)):
            insert_rows(connection, table, pending[table])


@functools.lru_cache(maxsize=256)
def _parents_first(tables: tuple[Table, ...]) -> list[Table]:
    """``tables`` in their order, except that a table comes after those among them it references."""
    parents = {table: {fk.column.table for fk in table.foreign_keys} & set(tables) - {table} for table in tables}
    ordered: list[Table] = []
    while len(ordered) < len(tables):
        ready = next((t for t in tables if t not in ordered and parents[t] <= set(ordered)), None)
        if ready is None:  # a cycle: the rest in queue order (the database's deferred checks decide)
            ordered += [t for t in tables if t not in ordered]
            break
        ordered.append(ready)
    return ordered
