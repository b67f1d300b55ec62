"""The source PostgreSQL: the embedded server (pgserver wheel) or ``ADW_SOURCE_DSN``.

The embedded server keeps its data in ``$ADW_HOME/postgres`` and listens on a Unix socket
only (no TCP port). It is started detached, so it outlives the ``adw`` command that started
it; ``adw source stop`` stops it.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from adw_assets.errors import SourceError
from adw_assets.lib.private import private_home
from adw_assets.lib.secrets import redact, redact_dsn
from adw_assets.lib.source.catalog import SCHEMAS, TABLES, ddl
from adw_assets.settings import (
    CDC_ROLE,
    REPLICATION_ROLE,
    SOURCE_DATABASE,
    Settings,
    get_settings,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceStatus:
    embedded: bool
    running: bool
    dsn: str | None
    pid: int | None = None
    tables: dict[str, int] | None = None


def _postmaster_info(settings: Settings):
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(settings.pgdata)
    if info is not None and info.is_running() and info.status == "ready":
        return info
    return None


def dsn_with_user(dsn: str, user: str) -> str:
    parts = urllib.parse.urlsplit(dsn)
    host = parts.netloc.split("@", 1)[-1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def with_database(uri: str, database: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))


def start_embedded(settings: Settings) -> str:
    """Start the embedded server if needed, create the database, schema and role; return DSN."""
    if not settings.embedded:
        raise SourceError(
            "ADW_SOURCE_DSN is set, so adw uses that database and never starts a server. "
            "Unset ADW_SOURCE_DSN to use the embedded PostgreSQL."
        )
    import pgserver

    private_home(settings)
    info = _postmaster_info(settings)
    if info is None:
        log.info("starting embedded PostgreSQL in %s", settings.pgdata)
        server = pgserver.get_server(settings.pgdata, cleanup_mode=None)
        private_home(settings)  # as root, pgserver opened ADW_HOME to its OS user
        base = server.get_uri()
        if configure_logical_wal(with_database(base, "postgres")):  # once per data folder
            server.cleanup()  # drops pgserver's handle (cleanup_mode None: the server runs on)
            stop_embedded(settings)
            base = pgserver.get_server(settings.pgdata, cleanup_mode=None).get_uri()
    else:
        base = info.get_uri()
        configure_logical_wal(with_database(base, "postgres"))  # from its next start on
    admin_dsn = with_database(base, "postgres")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (SOURCE_DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(SOURCE_DATABASE)))
    dsn = with_database(base, SOURCE_DATABASE)
    ensure_schema(dsn)
    return dsn


LOGICAL_WAL = {"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10"}
"""What change data capture needs of the server (``ADW_REPLICATION_METHOD=cdc``): logical
decoding, and room for adw's slot beside others (PostgreSQL 16's defaults for the last two)."""


def configure_logical_wal(admin_dsn: str) -> bool:
    """Set :data:`LOGICAL_WAL` with ``ALTER SYSTEM`` (a superuser's DSN) where the server runs
    otherwise; ``True`` when it changed something, which takes effect at the next restart."""
    changed = False
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for name, value in LOGICAL_WAL.items():
            current = conn.execute(sql.SQL("show {}").format(sql.Identifier(name))).fetchone()[0]
            if current != value and not (name != "wal_level" and int(current) >= int(value)):
                conn.execute(
                    sql.SQL("alter system set {} = {}").format(
                        sql.Identifier(name), sql.Literal(value)
                    )
                )
                changed = True
    return changed


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server; ``False`` when it was not running."""
    from pgserver._commands import pg_ctl

    if _postmaster_info(settings) is None:
        return False
    user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=settings.pgdata, user=user)
    return True


def source_dsn(settings: Settings, start: bool = True) -> str:
    """DSN of the source database as its owner (seeding, loading, simulating)."""
    if settings.source_dsn:
        return settings.source_dsn
    if start:
        return start_embedded(settings)
    info = _postmaster_info(settings)
    if info is None:
        raise SourceError("The embedded PostgreSQL is not running; run `adw source start`.")
    return with_database(info.get_uri(), SOURCE_DATABASE)


def replication_dsn(settings: Settings, start: bool = True) -> str:
    """DSN of the read-only replication role: ``ADW_REPLICATION_DSN``, else ``adw_replicator``
    on the embedded server. An external source without it is refused: replication never
    connects as the owner."""
    if settings.replication_dsn:
        return settings.replication_dsn
    if not settings.embedded:
        try:
            database = conninfo_to_dict(settings.source_dsn).get("dbname")
        except psycopg.ProgrammingError:
            database = None
        raise SourceError(
            "ADW_SOURCE_DSN is set but ADW_REPLICATION_DSN is not: adw replicates only as a "
            "read-only role, never as the database owner. Create one in the source database "
            "(alter role needs a superuser; the grants, the owner of the tables) and set "
            "ADW_REPLICATION_DSN to its DSN: "
            + replication_role_script(
                database or "<database>", replication_connection_limit(settings)
            )
        )
    return dsn_with_user(source_dsn(settings, start=start), REPLICATION_ROLE)


def cdc_dsn(settings: Settings, start: bool = True) -> str:
    """DSN of the CDC role (REPLICATION + SELECT): ``ADW_REPLICATION_CDC_DSN``, else
    ``adw_cdc`` on the embedded server (``adw replicate --cdc-setup`` creates it)."""
    from adw_assets.lib.replication.cdc_slot import cdc_role_script

    if settings.replication_cdc_dsn:
        return settings.replication_cdc_dsn
    if not settings.embedded:
        raise SourceError(
            "ADW_REPLICATION_METHOD=cdc with ADW_SOURCE_DSN needs ADW_REPLICATION_CDC_DSN, the "
            "DSN of a role with REPLICATION that only reads (never the owner, nor the cursor "
            "role adw_replicator). Create it (a superuser) and set ADW_REPLICATION_CDC_DSN: "
            + cdc_role_script("<database>", replication_connection_limit(settings))
        )
    return dsn_with_user(source_dsn(settings, start=start), CDC_ROLE)


def check_replication_dsn(settings: Settings) -> None:
    """Refuse, before any work, an external source without a read-only replication role."""
    if not settings.embedded:
        replication_dsn(settings, start=False)
        if settings.replication_method == "cdc":
            cdc_dsn(settings, start=False)


def connect(dsn: str, **kwargs) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, **kwargs)
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
        # from None: the driver's error may quote the DSN; its text is kept, redacted
        raise SourceError(
            f"cannot connect to the source PostgreSQL ({redact_dsn(dsn)}): "
            f"{redact(exc, dsn)}".strip()
            + "\nCheck ADW_SOURCE_DSN, or unset it to use the embedded server (`adw source start`)."
        ) from None


def ensure_schema(dsn: str) -> bool:
    """Create the schemas, tables and read-only role when absent. ``True`` if it created them."""
    with connect(dsn) as conn:
        present = conn.execute(
            "select count(*) from information_schema.tables where table_schema = any(%s) "
            "and table_name = any(%s)",
            (list(SCHEMAS), [t.name for t in TABLES]),
        ).fetchone()[0]
        created = False
        if present == 0:
            conn.execute(ddl())
            created = True
        elif present < len(TABLES):
            raise SourceError(
                f"the source database has {present} of the {len(TABLES)} AdventureWorks tables; "
                "it is half set up. Drop the person, production and sales schemas and run again."
            )
        ensure_replication_role(conn)
        conn.commit()
    return created


REPLICATION_CONNECTION_MARGIN = 3
"""Connections of the replication role beyond the workers' readers: the catalog read, a
row-count check, an ``adw`` command run beside a Dagster run (docker/postgres/initdb uses the
same)."""


def replication_connection_limit(settings: Settings) -> int:
    """The replication role's ``connection limit``: the range readers of every worker (a full
    sync of a large table reads it with ``ADW_REPLICATION_RANGE_READERS`` connections) plus a
    margin."""
    readers = settings.replication_workers * settings.replication_range_readers
    return readers + REPLICATION_CONNECTION_MARGIN


NO_CREATE_ON_PUBLIC = sql.SQL("revoke create on schema public from public")
"""PostgreSQL 15+ has it by default; older servers let every role create tables in public."""


def replication_role_sql(
    database: str, connection_limit: int, role: str = REPLICATION_ROLE
) -> tuple[list[sql.Composed], list[sql.Composed]]:
    """The statements that make ``role`` read-only on ``database``: (role statements, run by
    a superuser; database statements, run by the database owner).

    Writes are impossible by privileges alone (no INSERT/UPDATE/DELETE, no CREATE, no TEMP),
    so a client that turns ``default_transaction_read_only`` off still cannot write."""
    r, db = sql.Identifier(role), sql.Identifier(database)
    limit = sql.Literal(connection_limit)
    roles = [
        sql.SQL("alter role {} connection limit {}").format(r, limit),
        sql.SQL("alter role {} set default_transaction_read_only = on").format(r),
    ]
    grants = [
        sql.SQL("revoke temp on database {} from public").format(db),
        NO_CREATE_ON_PUBLIC,
        sql.SQL("grant connect on database {} to {}").format(db, r),
    ]
    schemas = sql.SQL(", ").join(sql.Identifier(schema) for schema in SCHEMAS)
    grants += [
        sql.SQL("grant usage on schema {} to {}").format(schemas, r),
        sql.SQL("grant select on all tables in schema {} to {}").format(schemas, r),
        sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
            schemas, r
        ),
    ]
    return roles, grants


def replication_role_script(database: str, connection_limit: int) -> str:
    """The SQL that creates the read-only role on an existing database, on one line."""
    roles, grants = replication_role_sql(database, connection_limit)
    create = f"create role {REPLICATION_ROLE} login password '<a password>'"
    return "; ".join([create, *(s.as_string(None) for s in roles + grants)]) + ";"


def ensure_replication_role(conn: psycopg.Connection, connection_limit: int | None = None) -> None:
    """The read-only role replication connects as: CONNECT, USAGE + SELECT on the three
    schemas, nothing else (no TEMP, no CREATE), ``default_transaction_read_only`` and a
    connection limit. A superuser creates the role and sets its attributes; a database owner
    that is not one (the compose stack's seed) only grants, the role being made by the
    stack's Postgres set-up."""
    if connection_limit is None:
        connection_limit = replication_connection_limit(get_settings())
    database = conn.execute("select current_database()").fetchone()[0]
    roles, grants = replication_role_sql(database, connection_limit)
    exists = conn.execute(
        "select 1 from pg_roles where rolname = %s", (REPLICATION_ROLE,)
    ).fetchone()
    if not exists:
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(REPLICATION_ROLE)))
    superuser = conn.execute(
        "select rolsuper from pg_roles where rolname = current_user"
    ).fetchone()[0]
    public = conn.execute("select to_regnamespace('public') is not null").fetchone()[0]
    for statement in (roles if superuser else []) + grants:
        if statement is not NO_CREATE_ON_PUBLIC or public:
            conn.execute(statement)


def status(settings: Settings) -> SourceStatus:
    if settings.embedded:
        info = _postmaster_info(settings)
        if info is None:
            return SourceStatus(embedded=True, running=False, dsn=None)
        dsn = with_database(info.get_uri(), SOURCE_DATABASE)
        return SourceStatus(True, True, dsn, pid=info.pid, tables=table_counts(dsn))
    try:
        return SourceStatus(
            False, True, settings.source_dsn, tables=table_counts(settings.source_dsn)
        )
    except SourceError:
        return SourceStatus(False, False, settings.source_dsn)


def table_counts(dsn: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with connect(dsn) as conn:
        for t in TABLES:
            try:
                counts[t.qualified] = conn.execute(
                    f"select count(*) from {t.qualified}"
                ).fetchone()[0]
            except psycopg.errors.UndefinedTable:
                conn.rollback()
    return counts
