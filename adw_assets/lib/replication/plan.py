"""Which streams a run syncs: names resolved against the 12 tables, the source catalog of each."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from adw_assets.errors import ConfigError, SourceError
from adw_assets.lib.mappings import VARIABLE, MappingError, Mappings
from adw_assets.lib.replication import reader
from adw_assets.lib.replication.catalog import Stream, discover, hash_fields
from adw_assets.lib.retry import retrying
from adw_assets.lib.secrets import redact, redact_dsn
from adw_assets.lib.source.catalog import TABLES


def resolve_streams(requested: Sequence[str] | None) -> list[str]:
    """``schema.table`` names for the requested streams (bare ``table`` when unambiguous)."""
    known = [t.qualified for t in TABLES]
    if not requested:
        return known
    out: list[str] = []
    for name in requested:
        matches = [k for k in known if name in (k, k.split(".", 1)[1])]
        if len(matches) != 1:
            why = "is ambiguous" if matches else "is not a replicated stream"
            raise ConfigError(f"stream {name!r} {why}; streams are: {', '.join(known)}")
        if matches[0] not in out:
            out.append(matches[0])
    return out


def _discover(dsn: str, names: list[str], retries: int, backoff: float) -> dict[str, Stream]:
    def once() -> dict[str, Stream]:
        with reader.connect(dsn) as conn:
            return discover(conn, names)

    policy = retrying(
        psycopg.OperationalError, first_wait=backoff, attempts=retries + 1, jitter=False
    )
    try:
        return policy(once)
    except psycopg.OperationalError as exc:
        raise SourceError(
            f"cannot read the source catalog at {redact_dsn(dsn)} after {retries + 1} "
            f"attempt(s): {' '.join(redact(exc, dsn).split())}. Check that the source is up "
            "(`adw source status`) and that ADW_REPLICATION_DSN is right."
        ) from None


def plan_streams(
    source_dsn: str,
    streams: Sequence[str] | None,
    full_refresh: bool | Sequence[str],
    retries: int,
    backoff: float,
    mappings: Mappings | None = None,
) -> tuple[list[str], set[str], dict[str, Stream]]:
    """The stream names to sync (requested plus full-refreshed), those to refresh, and the
    source catalog of each, as it lands (``mappings`` hash some fields); fails when the source
    lacks one of them or a mapping does not fit it."""
    names = resolve_streams(streams)
    if isinstance(full_refresh, bool):
        refresh = set(names) if full_refresh else set()
    else:
        refresh = set(resolve_streams(full_refresh))
        names += [n for n in sorted(refresh) if n not in names]
    catalog = _discover(source_dsn, names, retries, backoff)
    missing = [n for n in names if n not in catalog]
    if missing:
        raise SourceError(
            f"the source has no table {', '.join(missing)}; is it the AdventureWorks database? "
            "Run `adw source start` (embedded) or check ADW_SOURCE_DSN."
        )
    try:
        catalog = {n: hash_fields(s, mappings or Mappings()) for n, s in catalog.items()}
    except MappingError as exc:
        raise ConfigError(f"{VARIABLE}: {exc}") from None
    return names, refresh, catalog
