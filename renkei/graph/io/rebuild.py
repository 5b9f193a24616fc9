"""Loading many rows into a table with its foreign keys and secondary indexes built once.

A row inserted into the edge table is a random insert into each of its six indexes and, on
PostgreSQL, a trigger per foreign key (a lookup and a row lock on the referenced table, run at
commit because Django's keys are deferred). For a million edges that is most of an import.
Building an index from scratch sorts the table once, and adding a foreign key validates the whole
table in one join: several times cheaper, but paid for every row of the table (all
organizations'), so only worth it when the rows loaded are a large part of the table
(`worth_rebuilding`).

`rebuilt_once(model)`: inside the block MODEL's table has no non-unique indexes and (PostgreSQL)
no foreign keys; on leaving it they are created again from their exact definitions, read from
the database's catalog before they were dropped. The primary key and unique indexes stay: the
insert checks rows against them, and they are cheap for rows that arrive in key order. A row
that breaks a foreign key makes adding the key fail with IntegrityError, which rolls the whole
transaction back as the row's own check would have.

DDL is transactional in PostgreSQL and SQLite: if anything fails, the rollback restores the keys
and indexes. The block must run inside `transaction.atomic()`, and marks it for rollback when it
fails, so that a table without its keys or indexes is never committed. The price: the table is
locked (PostgreSQL: ACCESS EXCLUSIVE) until the commit, so other organizations' map pages wait for
a big import. SQLite's foreign keys are part of the table's definition and cannot be dropped:
they stay checked per row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection, models, transaction

# At least this many rows, and at least 1/MAX_TABLE_RATIO of the table after the load: below, the
# rebuild (a sort of the whole table per index, a join per key) costs more than per-row upkeep,
# measured at ~1.6 µs a row for the rebuild against ~7.5 µs a loaded row for the upkeep.
MIN_ROWS = 50_000
MAX_TABLE_RATIO = 3


def worth_rebuilding(model: type[models.Model], rows: int) -> bool:
    """Whether loading ROWS new rows into MODEL's table should go through rebuilt_once."""
    if rows < MIN_ROWS:
        return False
    return _table_rows(model) <= rows * (MAX_TABLE_RATIO - 1)


def _table_rows(model: type[models.Model]) -> int:
    """About how many rows MODEL's table holds: PostgreSQL's planner estimate (kept by autovacuum)
    when there is one, else a count."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            estimate = cursor.fetchone()[0]
            if estimate >= 0:  # -1: never analyzed
                return int(estimate)
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - the model's own table
        return int(cursor.fetchone()[0])


@contextlib.contextmanager
def rebuilt_once(model: type[models.Model]) -> Iterator[None]:
    """MODEL's foreign keys and non-unique indexes dropped inside the block, re-created on leaving
    it (see the module docstring). Must run inside transaction.atomic()."""
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("rebuilt_once() must run inside atomic().")
    try:
        if connection.vendor == "postgresql":
            restore = _drop_postgresql(model)
        else:
            restore = _drop_sqlite(model)
        yield
        with connection.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)
    except BaseException:
        transaction.set_rollback(True)
        raise


def _drop_postgresql(model: type[models.Model]) -> list[str]:
    """Drop the table's foreign keys and plain indexes; returns the statements that restore them."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        keys = cursor.fetchall()
        # Indexes that enforce nothing: not unique, not the key, not behind a constraint (an
        # exclusion constraint's). Left alone: an invalid one (for its owner to repair) and one in
        # a tablespace of its own (pg_get_indexdef does not say where an index lives).
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary "
            "AND i.indisvalid AND c.reltablespace = 0 AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
            "WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid) ORDER BY 1",
            [table],
        )
        indexes = cursor.fetchall()
        # DDL refuses while checks of earlier rows on the table (deferred keys) are pending: run
        # them now, then defer again as Django expects.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for name, _definition in keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")  # regclass text: quoted and qualified as needed
    restore = [definition for _name, definition in indexes]
    if keys:
        # One statement for all the keys: one lock, each key validated by one join over the table.
        restore.append(
            f"ALTER TABLE {table} "
            + ", ".join(
                f"ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}" for name, definition in keys
            )
        )
    return restore


def _drop_sqlite(model: type[models.Model]) -> list[str]:
    """Drop the table's plain indexes (made by CREATE INDEX, not unique); returns their SQL."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA index_list({table})")
        # (seq, name, unique, origin, partial); origin "c": CREATE INDEX, not a constraint's.
        names = [row[1] for row in cursor.fetchall() if row[2] == 0 and row[3] == "c"]
        restore = []
        for name in sorted(names):
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
            restore.append(cursor.fetchone()[0])
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return restore
