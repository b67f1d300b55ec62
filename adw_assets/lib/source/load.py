"""Load real AdventureWorks CSVs into the source, and the COPY helpers the seed shares.

``load_directory`` reads ``<schema>.<table>.csv`` for the 12 tables (header row, the format of
the converted Microsoft sample data: comma separated, empty unquoted field = NULL, ``true`` /
``false`` flags, lowercase uuids, ``char(n)`` padding kept). Columns are matched by the names in
the header. Everything happens in one transaction: a missing file, a bad header or a malformed
row raises :class:`LoadError` naming the file, line and column, and the database is unchanged.
"""

from __future__ import annotations

import codecs
import csv
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from adw_assets.errors import LoadError, SourceError
from adw_assets.lib.source.catalog import SCHEMAS, TABLES, SourceTable
from adw_assets.lib.source.server import connect, ensure_schema

Progress = Callable[[str], None]
CHUNK = 1 << 20
_CONTEXT = re.compile(r'line (\d+)(?:, column (\w+)(?:: "(.*)")?)?', re.S)


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table_columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    rows = conn.execute(
        "select table_schema || '.' || table_name, column_name from information_schema.columns "
        "where table_schema = any(%s) order by table_schema, table_name, ordinal_position",
        (list(SCHEMAS),),
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def nonempty_tables(conn: psycopg.Connection) -> list[str]:
    """The source tables holding at least one row."""
    union = " union all ".join(
        f"select '{t.qualified}' where exists (select 1 from {t.qualified})" for t in TABLES
    )
    return [r[0] for r in conn.execute(union).fetchall()]


def xml_as_text_if_unsupported(conn: psycopg.Connection) -> list[str]:
    """Store the ``xml`` columns as ``text`` on a server built without libxml.

    Such a server (the pgserver wheel is one) rejects every non-NULL ``xml`` value, so the
    AdventureWorks demographics could not be stored at all. Returns the columns changed.
    """
    try:
        with conn.transaction():
            conn.execute("select xmlparse(document '<a/>')")
        return []
    except psycopg.errors.FeatureNotSupported:
        pass
    columns = conn.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema = any(%s) and data_type = 'xml'",
        (list(SCHEMAS),),
    ).fetchall()
    for schema, table, column in columns:
        conn.execute(
            sql.SQL("alter table {} alter column {} type text").format(
                sql.Identifier(schema, table), sql.Identifier(column)
            )
        )
    return [f"{s}.{t}.{c}" for s, t, c in columns]


def prepare_target(conn: psycopg.Connection, replace: bool, command: str) -> None:
    """Lock out concurrent loaders; refuse a non-empty source unless ``replace`` (then wipe)."""
    conn.execute("select pg_advisory_xact_lock(hashtext('adw source load'))")
    xml_as_text_if_unsupported(conn)
    full = nonempty_tables(conn)
    if full and not replace:
        raise SourceError(
            f"the source database already holds data ({', '.join(full)}); {command} refuses to "
            f"mix new rows into it. Run `adw source {command} --replace` to wipe the 12 tables "
            "first, or point ADW_SOURCE_DSN at an empty database."
        )
    if full:
        conn.execute(
            "truncate " + ", ".join(t.qualified for t in TABLES) + " restart identity cascade"
        )


def reset_sequences(conn: psycopg.Connection) -> None:
    """Point every serial sequence after the largest key, so the app's inserts succeed."""
    rows = conn.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema = any(%s) and column_default like 'nextval(%%'",
        (list(SCHEMAS),),
    ).fetchall()
    for schema, table, column in rows:
        conn.execute(
            sql.SQL(
                "select setval(pg_get_serial_sequence({qual}, {col}), "
                "coalesce(max({ident}), 0) + 1, false) from {table}"
            ).format(
                qual=sql.Literal(f"{schema}.{table}"),
                col=sql.Literal(column),
                ident=sql.Identifier(column),
                table=sql.Identifier(schema, table),
            )
        )


@contextmanager
def foreign_keys_checked_at_end(conn: psycopg.Connection) -> Iterator[None]:
    """Drop the foreign keys of the source tables and add them back (validated) at the end.

    Checking every row of a bulk COPY against its parents costs more than the COPY itself;
    adding a constraint back checks all rows at once with a join. Runs inside the caller's
    transaction, so a violation rolls everything back.
    """
    fks = conn.execute(
        "select n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid) "
        "from pg_constraint k join pg_class c on c.oid = k.conrelid "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where k.contype = 'f' and n.nspname = any(%s) order by k.conname",
        (list(SCHEMAS),),
    ).fetchall()
    for schema, table, name, _ in fks:
        conn.execute(
            sql.SQL("alter table {} drop constraint {}").format(
                sql.Identifier(schema, table), sql.Identifier(name)
            )
        )
    yield
    for schema, table, name, definition in fks:
        conn.execute(
            sql.SQL("alter table {} add constraint {} {}").format(
                sql.Identifier(schema, table), sql.Identifier(name), sql.SQL(definition)
            )
        )


def copy_statement(table: SourceTable, columns: list[str], header: bool) -> sql.Composed:
    return sql.SQL("copy {} ({}) from stdin with (format csv, header {})").format(
        sql.Identifier(table.schema, table.name),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL("true" if header else "false"),
    )


def _header_row(path: Path) -> list[str] | None:
    """The file's first CSV record, decoding only the line(s) it spans: a bad byte further
    down is reported by the COPY, with its own line number."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as f:

        def lines() -> Iterator[str]:
            nonlocal line
            for chunk in iter(lambda: f.readline(CHUNK), b""):
                try:
                    yield decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    raise LoadError(
                        f"{path}: line {line}: the header is not UTF-8 text ({exc.reason})."
                    ) from None
                line += chunk.endswith(b"\n")

        return next(csv.reader(lines()), None)


def _read_header(path: Path, table: SourceTable, expected: list[str]) -> list[str]:
    header = _header_row(path)
    if not header:
        raise LoadError(f"{path}: the file is empty; expected a header row of column names.")
    header = [h.strip().lstrip("\ufeff") for h in header]
    unknown = [h for h in header if h not in expected]
    missing = [c for c in expected if c not in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    problems = []
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if dupes:
        problems.append(f"repeated column(s) {', '.join(dupes)}")
    if problems:
        raise LoadError(
            f"{path}: line 1 (header): {'; '.join(problems)} for table {table.qualified}. "
            f"Expected the columns {', '.join(expected)} (in any order). Nothing was loaded."
        )
    return header


def _copy_error(path: Path, exc: psycopg.Error, header: list[str]) -> LoadError:
    diag = exc.diag
    where = ""
    match = _CONTEXT.search(diag.context or "")
    if match:
        where = f": line {match.group(1)}"
        if match.group(2):
            where += f", column {match.group(2)}"
            if match.group(3) is not None:
                where += f" (value {match.group(3)!r})"
    detail = f" {diag.message_detail}" if diag.message_detail else ""
    if (diag.message_primary or "").startswith(("extra data", "missing data")):
        detail += f" Every row needs the header's {len(header)} fields."
    return LoadError(
        f"{path}{where}: {diag.message_primary or exc}.{detail} Nothing was loaded: the "
        "database is unchanged. Fix the file and run `adw source load` again."
    )


def _copy_files(
    conn: psycopg.Connection,
    files: dict[str, Path],
    headers: dict[str, list[str]],
    say: Progress,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in TABLES:
        path, t0 = files[t.qualified], time.perf_counter()
        cur = conn.cursor()
        try:
            with (
                cur.copy(copy_statement(t, headers[t.qualified], header=True)) as copy,
                path.open("rb") as f,
            ):
                while chunk := f.read(CHUNK):
                    copy.write(chunk)
        except psycopg.errors.ForeignKeyViolation:
            raise
        except psycopg.Error as exc:
            raise _copy_error(path, exc, headers[t.qualified]) from None
        counts[t.qualified] = cur.rowcount
        rate = cur.rowcount / max(time.perf_counter() - t0, 1e-6)
        say(f"  {t.qualified:<30} {cur.rowcount:>9,} rows  {rate:>10,.0f} rows/s")
    return counts


def _reference_error(directory: Path, exc: psycopg.Error) -> LoadError:
    diag = exc.diag
    table = f"{diag.schema_name}.{diag.table_name}"
    return LoadError(
        f"{directory / (table + '.csv')}: a row references a missing row: {diag.message_detail} "
        "Nothing was loaded: the database is unchanged. Load a complete, consistent set of "
        "files."
    )


def load_directory(
    dsn: str, directory: Path, *, replace: bool = False, progress: Progress | None = None
) -> dict[str, int]:
    """Load the 12 tables from ``directory`` in one transaction; row counts per table."""
    say = progress or stderr_progress
    directory = Path(directory)
    files = {t.qualified: directory / f"{t.qualified}.csv" for t in TABLES}
    missing = [f"{q}.csv" for q, p in files.items() if not p.is_file()]
    if missing:
        raise LoadError(
            f"{directory}: missing {', '.join(missing)}. The loader needs one "
            "<schema>.<table>.csv file (with a header row) for each of the 12 source tables; "
            "nothing was loaded."
        )
    ensure_schema(dsn)
    started = time.perf_counter()
    with connect(dsn) as conn:
        expected = table_columns(conn)
        headers = {
            t.qualified: _read_header(files[t.qualified], t, expected[t.qualified]) for t in TABLES
        }
        prepare_target(conn, replace, "load")
        try:
            with foreign_keys_checked_at_end(conn):
                counts = _copy_files(conn, files, headers, say)
        except psycopg.errors.ForeignKeyViolation as exc:
            raise _reference_error(directory, exc) from None
        reset_sequences(conn)
        conn.commit()
    total = sum(counts.values())
    elapsed = time.perf_counter() - started
    say(
        f"loaded {total:,} rows from {directory} in {elapsed:.1f} s "
        f"({total / max(elapsed, 1e-6):,.0f} rows/s)"
    )
    return counts
