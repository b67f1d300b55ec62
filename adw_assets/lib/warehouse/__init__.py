"""DuckDB warehouse helpers: open the file with retry while another process holds its lock.

DuckDB allows one writing process per database file. Every adw process that writes the
warehouse (replication, dbt, the event loader) opens it through :func:`connect`, which waits
and retries with backoff while another process holds the lock instead of failing at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from adw_assets.errors import AdwError
from adw_assets.lib.retry import retrying

DEFAULT_LOCK_TIMEOUT = 60.0


class WarehouseBusyError(AdwError):
    """The DuckDB file stayed locked by another process for longer than the timeout."""


def quote(identifier: str) -> str:
    """A DuckDB identifier, double-quoted."""
    return '"' + identifier.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def _is_lock_error(exc: BaseException) -> bool:
    if not isinstance(exc, duckdb.IOException):
        return False
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
    config: dict[str, str] | None = None,
    row_group_size: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, retrying with backoff while another process holds its lock.

    ``row_group_size`` (an ATTACH-only option) writes this connection's inserts in row groups
    of that many rows: the file is attached to an in-memory connection as
    :data:`ATTACHED_CATALOG` and made its default catalog, so a ``cursor()`` of it must
    ``use`` that catalog first.
    Raises :class:`WarehouseBusyError` after ``timeout`` seconds, naming the file.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return retrying(_is_lock_error, first_wait=0.05, max_wait=2.0, seconds=timeout)(
            _open, path, read_only, config or {}, row_group_size
        )
    except duckdb.IOException as exc:
        if not _is_lock_error(exc):
            raise
        raise WarehouseBusyError(
            f"the warehouse {path} is locked by another process ({exc}). "
            "Wait for the other adw/dagster/dbt run to finish, or stop it, then retry."
        ) from exc


def _open(path: Path, read_only: bool, config: dict[str, str], row_group_size: int | None):
    if row_group_size is None:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    return _attach(path, read_only, config, row_group_size)


ATTACHED_CATALOG = "adw_warehouse"
"""The catalog name of a file opened with ``connect(..., row_group_size=...)`` (fixed: a file
stem such as ``temp`` or ``memory`` would clash with DuckDB's own catalogs)."""


def _attach(path: Path, read_only: bool, config: dict[str, str], row_group_size: int):
    con = duckdb.connect(config=config)
    try:
        options = f"row_group_size {int(row_group_size)}" + (", read_only" if read_only else "")
        literal = "'" + str(path).replace("'", "''") + "'"
        con.execute(f"attach {literal} as {ATTACHED_CATALOG} ({options})")
        con.execute(f"use {ATTACHED_CATALOG}")
        if not read_only:  # spill beside the file, as DuckDB does for a file it opens itself;
            # an in-memory database spills to ./.tmp, in whatever folder adw was started from
            con.execute("set temp_directory = ?", [f"{path}.tmp"])
    except BaseException:
        con.close()
        raise
    return con


class NoWarehouseError(AdwError):
    """The DuckDB file does not exist yet."""


def connect_to_read(path: Path | str, *, timeout: float = DEFAULT_LOCK_TIMEOUT):
    """Open the warehouse to read, waiting while another process writes it; in the process
    that already holds it read-write (right after an in-process build), a second connection
    of that kind."""
    path = Path(path)
    if not path.exists():
        raise NoWarehouseError(
            f"no warehouse at {path} yet: run `adw up` (or `adw replicate` then `adw build`)."
        )
    try:
        return connect(path, read_only=True, timeout=timeout)
    except duckdb.ConnectionException:
        return duckdb.connect(str(path))


@contextmanager
def connection(path: Path | str, **kwargs) -> Iterator[duckdb.DuckDBPyConnection]:
    """:func:`connect` as a context manager that closes the connection."""
    con = connect(path, **kwargs)
    try:
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()[0]
    return bool(row and row[0])


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name -> DuckDB type (as ``information_schema`` spells it), in table order."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}
