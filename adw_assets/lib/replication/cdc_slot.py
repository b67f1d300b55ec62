"""The source side of change data capture: the CDC role, the publication, the slot.

* **Role** ``adw_cdc`` (``ADW_REPLICATION_CDC_DSN`` on an external source): ``LOGIN
  REPLICATION``, CONNECT, USAGE and SELECT on the three schemas (the initial snapshot), no
  write, no CREATE, no TEMP. The cursor role ``adw_replicator`` stays read-only without
  REPLICATION: a role that can read the write-ahead log of a whole database is kept apart.
* **Publication** ``adw_cdc`` ``FOR TABLE`` the 12 tables, created by the tables' owner
  (``adw replicate --cdc-setup``): publishing needs ownership, which the CDC role never gets.
* **Slot** ``adw_cdc`` (``pgoutput``), created by the CDC role on the first CDC run with an
  exported snapshot: the initial copy reads exactly the rows committed before the slot's
  consistent point, and the slot streams exactly the transactions committed after it.

Changes are read with ``pg_logical_slot_peek_binary_changes`` over a plain psycopg 3 session
(bench/replication_cdc_libs.py, docs/replication.md: CDC), which leaves the slot where it was;
:func:`advance` moves the slot's confirmed position only after the warehouse committed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import pq, sql

from adw_assets.errors import AdwError, SourceError
from adw_assets.lib.replication.cdc_pgoutput import lsn_int, lsn_text
from adw_assets.lib.source.catalog import SCHEMAS, TABLES
from adw_assets.settings import CDC_ROLE

SLOT = "adw_cdc"
PUBLICATION = "adw_cdc"
PLUGIN = "pgoutput"


def cdc_role_sql(database: str, connection_limit: int, role: str = CDC_ROLE):
    """(role statements, run by a superuser; grants, run by the tables' owner) that give
    ``role`` REPLICATION and read access to the three schemas, nothing else."""
    r = sql.Identifier(role)
    roles = [
        sql.SQL("alter role {} replication connection limit {}").format(
            r, sql.Literal(connection_limit)
        ),
        sql.SQL("alter role {} set default_transaction_read_only = on").format(r),
    ]
    schemas = sql.SQL(", ").join(sql.Identifier(s) for s in SCHEMAS)
    grants = [
        sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), r),
        sql.SQL("grant usage on schema {} to {}").format(schemas, r),
        sql.SQL("grant select on all tables in schema {} to {}").format(schemas, r),
    ]
    return roles, grants


def cdc_role_script(database: str, connection_limit: int) -> str:
    """The SQL that creates the CDC role on an existing database, on one line."""
    roles, grants = cdc_role_sql(database, connection_limit)
    create = f"create role {CDC_ROLE} login password '<a password>'"
    return "; ".join([create, *(s.as_string(None) for s in roles + grants)]) + ";"


def ensure_cdc_role(conn: psycopg.Connection, connection_limit: int) -> None:
    """Create the CDC role (a superuser's connection: the embedded server's owner)."""
    database = conn.execute("select current_database()").fetchone()[0]
    roles, grants = cdc_role_sql(database, connection_limit)
    if not conn.execute("select 1 from pg_roles where rolname = %s", (CDC_ROLE,)).fetchone():
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(CDC_ROLE)))
    for statement in roles + grants:
        conn.execute(statement)


def setup(owner_dsn: str, *, superuser_role: bool, connection_limit: int) -> list[str]:
    """``adw replicate --cdc-setup`` as the tables' owner: the CDC role (when the owner is a
    superuser, as on the embedded server) and the publication. Returns what it did."""
    done = []
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        level = conn.execute("show wal_level").fetchone()[0]
        if level != "logical":
            raise SourceError(
                f"the source runs with wal_level={level}; change data capture needs "
                "wal_level=logical (set it in postgresql.conf or with `alter system set "
                "wal_level = logical`, then restart the server; the embedded one: `adw source "
                "stop`, then `adw source start`)."
            )
        if superuser_role:
            ensure_cdc_role(conn, connection_limit)
            done.append(f"role {CDC_ROLE} (REPLICATION, SELECT on {', '.join(SCHEMAS)})")
        tables = sql.SQL(", ").join(sql.Identifier(t.schema, t.name) for t in TABLES)
        if not conn.execute(
            "select 1 from pg_publication where pubname = %s", (PUBLICATION,)
        ).fetchone():
            conn.execute(
                sql.SQL("create publication {} for table {}").format(
                    sql.Identifier(PUBLICATION), tables
                )
            )
            done.append(f"publication {PUBLICATION} for the {len(TABLES)} tables")
        else:
            conn.execute(
                sql.SQL("alter publication {} set table {}").format(
                    sql.Identifier(PUBLICATION), tables
                )
            )
    return done


def teardown(owner_dsn: str) -> list[str]:
    """``adw replicate --cdc-teardown``: drop the slot (the WAL it holds is freed) and the
    publication. Returns what it dropped."""
    done = []
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        if conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
            "where slot_name = %s and database = current_database()",
            (SLOT,),
        ).fetchall():
            done.append(f"slot {SLOT}")
        if _has_publication(conn):
            conn.execute(sql.SQL("drop publication {}").format(sql.Identifier(PUBLICATION)))
            done.append(f"publication {PUBLICATION}")
    return done


def _has_publication(conn: psycopg.Connection) -> bool:
    query = "select 1 from pg_publication where pubname = %s"
    return conn.execute(query, (PUBLICATION,)).fetchone() is not None


def check_ready(conn: psycopg.Connection, resync: bool = False) -> bool:
    """Whether the slot exists; fails with the way out when the publication does not, or
    when the slot was invalidated and no ``resync`` (which replaces it) was asked for."""
    if not _has_publication(conn):
        raise SourceError(
            f"the source has no publication {PUBLICATION}; change data capture is not set up. "
            "Run `adw replicate --cdc-setup` once (as the tables' owner), or set "
            "ADW_REPLICATION_METHOD=cursor."
        )
    row = conn.execute(
        "select wal_status from pg_replication_slots where slot_name = %s "
        "and database = current_database()",
        (SLOT,),
    ).fetchone()
    if row is not None and row[0] == "lost" and not resync:
        raise gone("lost")
    return row is not None


@contextmanager
def create_with_snapshot(cdc_dsn: str) -> Iterator[tuple[int, str]]:
    """Create the slot on a replication connection and yield ``(consistent point, exported
    snapshot name)``; the snapshot can be imported (``SET TRANSACTION SNAPSHOT``) until the
    context exits."""
    conn = psycopg.connect(cdc_dsn, replication="database", autocommit=True)
    try:
        command = f"CREATE_REPLICATION_SLOT {SLOT} LOGICAL {PLUGIN} EXPORT_SNAPSHOT"
        result = conn.pgconn.exec_(command.encode())
        if result.status != pq.ExecStatus.TUPLES_OK:
            message = (result.error_message or b"").decode(errors="replace").strip()
            raise SourceError(f"cannot create the replication slot {SLOT}: {message}")
        consistent, snapshot = result.get_value(0, 1), result.get_value(0, 2)
        yield lsn_int(consistent.decode()), snapshot.decode()
    finally:
        conn.close()


def drop(conn: psycopg.Connection) -> None:
    conn.execute(
        "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
        "where slot_name = %s and database = current_database()",
        (SLOT,),
    ).fetchall()


def confirmed(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = %s",
        (SLOT,),
    ).fetchone()
    if row is None:
        raise AdwError(f"the replication slot {SLOT} disappeared during the run")
    return lsn_int(row[0])


def peek(conn: psycopg.Connection, upto: int, limit: int | None = None) -> Iterator[bytes]:
    """The slot's messages of the transactions committed before ``upto``, not consumed; with
    ``limit``, only the first transactions, whole, until they hold at least ``limit``
    messages (PostgreSQL stops decoding at the first commit past it). Fetched in binary (no
    hex to decode), the whole read at once."""
    with conn.cursor(binary=True) as cur:
        cur.execute(
            "select data from pg_logical_slot_peek_binary_changes(%s, %s::pg_lsn, "
            "%s, 'proto_version', '1', 'publication_names', %s)",
            (SLOT, lsn_text(upto), limit, PUBLICATION),
        )
        for (data,) in cur.fetchall():
            yield data


def current_lsn(conn: psycopg.Connection) -> int:
    return lsn_int(conn.execute("select pg_current_wal_lsn()::text").fetchone()[0])


def advance(conn: psycopg.Connection, lsn: int) -> None:
    """Move the slot's confirmed flush position to ``lsn`` (never back): the WAL before it
    is released. Called only after the warehouse committed everything up to ``lsn``."""
    conn.execute(
        "select pg_replication_slot_advance(%s, %s::pg_lsn)", (SLOT, lsn_text(lsn))
    ).fetchall()


def gone(status: str | None) -> SourceError:
    """The error of a slot that was dropped (``status`` None) or invalidated (``lost``)."""
    what = "was dropped" if status is None else "was invalidated (the server removed WAL it held)"
    return SourceError(
        f"the replication slot {SLOT} {what}, so changes since the last run cannot be read. "
        "Resync: `adw replicate --full-refresh` (a new slot, a new snapshot and generation)."
    )


@dataclass(frozen=True)
class SlotLag:
    """How far the slot is behind the source (:func:`lag`)."""

    retained_bytes: int
    """Write-ahead log the server keeps for the slot (from its restart point to now)."""
    behind_bytes: int
    """Write-ahead log written since the position the warehouse acknowledged."""
    oldest_pending: datetime | None
    """Commit time of the oldest transaction the slot holds for the publication (None: none,
    or the slot was busy being read throughout)."""
    seconds_behind: float
    """How long ago that transaction committed (0 when none is pending)."""


def lag(conn: psycopg.Connection, attempts: int = 10) -> SlotLag:
    """The slot's lag; raises :func:`gone` when it was dropped or invalidated. Reading the
    oldest pending transaction needs the slot, which a running ``--follow`` holds while it
    reads: retried ``attempts`` times, 0.1 s apart."""
    from adw_assets.lib.replication import cdc_pgoutput as pgo

    row = conn.execute(
        "select wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
        "from pg_replication_slots where slot_name = %s and database = current_database()",
        (SLOT,),
    ).fetchone()
    if row is None or row[0] == "lost":
        raise gone(None if row is None else row[0])
    oldest = None
    for attempt in range(attempts):
        try:
            first = next(peek(conn, current_lsn(conn), 1), None)
        except psycopg.errors.ObjectInUse:  # --follow is reading it right now
            if attempt + 1 < attempts:
                time.sleep(0.1)
            continue
        if first is not None:
            message = pgo.decode(first)
            oldest = getattr(message, "committed_at", None)
        break
    behind = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    return SlotLag(int(row[1] or 0), int(row[2] or 0), oldest, max(0.0, behind))
