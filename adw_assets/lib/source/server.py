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

from adw_assets.errors import SourceError
from adw_assets.lib.secrets import redact, redact_dsn
from adw_assets.lib.source.catalog import SCHEMAS, TABLES, ddl
from adw_assets.settings import REPLICATION_ROLE, SOURCE_DATABASE, Settings

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

    settings.home.mkdir(parents=True, exist_ok=True)
    info = _postmaster_info(settings)
    if info is None:
        log.info("starting embedded PostgreSQL in %s", settings.pgdata)
        server = pgserver.get_server(settings.pgdata, cleanup_mode=None)
        base = server.get_uri()
    else:
        base = info.get_uri()
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
    """DSN of the read-only replication role."""
    if settings.replication_dsn:
        return settings.replication_dsn
    dsn = source_dsn(settings, start=start)
    if settings.embedded:
        return dsn_with_user(dsn, REPLICATION_ROLE)
    return dsn


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


def ensure_replication_role(conn: psycopg.Connection, role: str = REPLICATION_ROLE) -> None:
    """The read-only role replication connects as: SELECT on the three schemas, nothing else."""
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
    for schema in SCHEMAS:
        ident = sql.Identifier(schema)
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(ident, sql.Identifier(role)))
        conn.execute(
            sql.SQL("grant select on all tables in schema {} to {}").format(
                ident, sql.Identifier(role)
            )
        )
        conn.execute(
            sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
                ident, sql.Identifier(role)
            )
        )


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
