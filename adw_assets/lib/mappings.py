"""Airbyte's hashing mapping, for the embedded replicator and the Airbyte connection alike.

Airbyte configures mappings per stream of a connection (hash, encrypt, rename, filter); adw
implements the hashing one, with Airbyte's own configuration, so one JSON file serves both::

    {"streams": [{"name": "creditcard", "namespace": "sales", "mappers": [
        {"type": "hashing", "mapperConfiguration":
            {"targetField": "cardnumber", "method": "SHA-256", "fieldNameSuffix": "_hashed"}}]}]}

(the ``configurations`` of Airbyte's public API connection; a whole connection body, with
``configurations`` inside, is read too). Semantics, as Airbyte's ``HashingMapper`` has them:

* the field ``targetField`` is replaced, at its place, by ``targetField + fieldNameSuffix``
  (suffix default ``_hashed``), a string: the original field does not land;
* its value is the lowercase hex digest of the UTF-8 text of the value (Airbyte hashes
  ``asText()`` of the JSON value: the string itself, the digits of an integer, ``true``);
* a null stays null (Airbyte's Postgres source leaves null fields out of the record, so the
  mapper has nothing to hash);
* methods MD2, MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512. adw computes the hash inside
  PostgreSQL (so the clear value never leaves the source), which has all but MD2 and SHA-1;
  both are broken and refused here.

The hash is unsalted, like Airbyte's: see docs/replication.md for what that means for card
numbers. ``ADW_REPLICATION_MAPPINGS`` (inline JSON, or the path of a JSON file) turns it on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adw_assets.errors import ConfigError
from adw_assets.lib.source.catalog import CURSOR_FIELD, TABLES, TABLES_BY_NAME

VARIABLE = "ADW_REPLICATION_MAPPINGS"
DEFAULT_SUFFIX = "_hashed"
POSTGRES_DIGESTS = {
    "MD5": "md5",
    "SHA-224": "sha224",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}
"""Airbyte's method name -> the PostgreSQL function (and ``hashlib`` name) computing it."""
AIRBYTE_ONLY = ("MD2", "SHA-1")
"""Methods Airbyte offers that adw refuses (broken digests PostgreSQL does not compute)."""
HASHABLE_TYPES = ("character varying", "text", "uuid", "smallint", "integer", "bigint", "boolean")
"""Source types whose PostgreSQL text is exactly the text Airbyte hashes."""
_FIX = "see docs/replication.md, Hashing fields"


class MappingError(ValueError):
    """A mapping that adw cannot apply; the message says what is wrong and what to do (callers
    name the variable or the Airbyte connection before it)."""


@dataclass(frozen=True)
class Hashing:
    """One hashing mapper: ``stream.target_field`` lands as ``output_field``."""

    stream: str
    """``schema.table``."""
    target_field: str
    method: str
    suffix: str = DEFAULT_SUFFIX

    @property
    def output_field(self) -> str:
        return self.target_field + self.suffix

    def airbyte_config(self) -> dict[str, str]:
        """The mapper's ``mapperConfiguration``, as Airbyte's API takes it."""
        return {"targetField": self.target_field, "method": self.method,
                "fieldNameSuffix": self.suffix}  # fmt: skip

    def hexdigest(self, value: str | int | bool | None) -> str | None:
        """The hash Airbyte lands for ``value`` (for tests and checks, not for replication)."""
        import hashlib

        if value is None:
            return None
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return hashlib.new(POSTGRES_DIGESTS[self.method], text.encode()).hexdigest()


@dataclass(frozen=True)
class Mappings:
    """Every hashing mapper of a configuration, in order."""

    hashing: tuple[Hashing, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.hashing)

    def of(self, stream: str) -> tuple[Hashing, ...]:
        """The mappers of one stream (``schema.table``)."""
        return tuple(h for h in self.hashing if h.stream == stream)

    def columns(self, stream: str, columns: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """``(name, type)`` of a stream's columns once mapped: a hashed column takes the place of
        its target and the type ``text``. Raises :class:`MappingError` for a field the stream
        lacks, one adw cannot hash exactly, its primary key or cursor, or a name taken."""
        cols = list(columns)
        names = [n for n, _ in cols]
        key = TABLES_BY_NAME[stream].primary_key if stream in TABLES_BY_NAME else ()
        hashed: set[str] = set()
        for h in self.of(stream):
            where = stream
            if h.target_field in hashed:
                raise MappingError(
                    f"{where}.{h.target_field} is the output of another mapper; hash each "
                    f"source field once ({_FIX})."
                )
            if h.target_field not in names:
                raise MappingError(
                    f"{where} has no field {h.target_field!r} to hash; its fields are "
                    f"{', '.join(names)}. Fix targetField ({_FIX})."
                )
            if h.target_field in key or h.target_field == CURSOR_FIELD:
                raise MappingError(
                    f"{where}.{h.target_field} is the stream's primary key or cursor, which "
                    f"replication needs in clear; hash another field ({_FIX})."
                )
            if h.output_field in names:
                raise MappingError(
                    f"{where} already has a field {h.output_field!r}; choose another "
                    f"fieldNameSuffix ({_FIX})."
                )
            i = names.index(h.target_field)
            pg_type = cols[i][1]
            if re.sub(r"\(.*\)$", "", pg_type) not in HASHABLE_TYPES:
                raise MappingError(
                    f"{where}.{h.target_field} is {pg_type}; the embedded replicator hashes "
                    "text, uuid, integer and boolean fields only (the text Airbyte hashes is "
                    f"known exactly for those). Hash another field or remove the mapper ({_FIX})."
                )
            cols[i] = (h.output_field, "text")
            hashed.add(h.output_field)
            names[i] = h.output_field
        return cols

    def differences(self, other: Mappings, streams: Iterable[str]) -> list[str]:
        """``stream.field`` hashed differently (or only) by one of the two, over ``streams``."""
        out = []
        for stream in streams:
            mine = {h.target_field: h for h in self.of(stream)}
            theirs = {h.target_field: h for h in other.of(stream)}
            out += [f"{stream}.{f}" for f in sorted(mine.keys() | theirs.keys())
                    if mine.get(f) != theirs.get(f)]  # fmt: skip
        return out

    def json_schema(self, stream: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """A stream's JSON-schema ``properties`` once mapped (Airbyte's destination catalog):
        the hashed field renamed in place, a string."""
        out: dict[str, Any] = {}
        hashed = {h.target_field: h.output_field for h in self.of(stream)}
        for name, spec in properties.items():
            out[hashed.get(name, name)] = {"type": "string"} if name in hashed else spec
        return out


def _stream_name(entry: Mapping[str, Any], n: int) -> str:
    name, namespace = entry.get("name"), entry.get("namespace")
    if not isinstance(name, str) or not name:
        raise MappingError(f"streams[{n}] has no name; set name and namespace.")
    qualified = f"{namespace}.{name}" if namespace else name
    matches = [t.qualified for t in TABLES if qualified in (t.qualified, t.name)]
    if len(matches) != 1:
        raise MappingError(
            f"stream {qualified!r} is not a replicated stream; streams are: "
            f"{', '.join(TABLES_BY_NAME)} (name + namespace)."
        )
    return matches[0]


def parse_mappers(stream: str, mappers: Any, where: str = "") -> list[Hashing]:
    """The hashing mappers of one stream's ``mappers`` list (Airbyte's ConfiguredStreamMapper:
    ``{"type": "hashing", "mapperConfiguration": {...}}``)."""
    where = where or stream
    if not isinstance(mappers, list):
        raise MappingError(f"{where}: mappers is not a list ({_FIX}).")
    out: list[Hashing] = []
    for i, mapper in enumerate(mappers):
        at = f"{where} mappers[{i}]"
        kind = mapper.get("type") if isinstance(mapper, dict) else None
        if kind != "hashing":
            raise MappingError(
                f"{at}: type {kind!r} is not supported; the embedded replicator applies "
                f"Airbyte's 'hashing' mapper only ({_FIX})."
            )
        config = mapper.get("mapperConfiguration")
        if not isinstance(config, dict):
            raise MappingError(f"{at}: mapperConfiguration is missing ({_FIX}).")
        target, method = config.get("targetField"), config.get("method", "SHA-256")
        suffix = config.get("fieldNameSuffix", DEFAULT_SUFFIX)
        if not isinstance(target, str) or not target:
            raise MappingError(f"{at}: targetField must name the field to hash ({_FIX}).")
        if method in AIRBYTE_ONLY:
            raise MappingError(
                f"{at}: method {method!r} is a broken digest adw does not compute; use one of "
                f"{', '.join(POSTGRES_DIGESTS)}."
            )
        if method not in POSTGRES_DIGESTS:
            raise MappingError(
                f"{at}: unknown method {method!r}; use one of {', '.join(POSTGRES_DIGESTS)}."
            )
        if not isinstance(suffix, str) or not suffix:
            raise MappingError(f"{at}: fieldNameSuffix must be a non-empty text, e.g. '_hashed'.")
        if any(h.target_field == target for h in out):
            raise MappingError(f"{at}: {target!r} is hashed twice; keep one mapper ({_FIX}).")
        out.append(Hashing(stream, target, method, suffix))
    return out


def parse(document: Any) -> Mappings:
    """The mappings of a decoded JSON document (Airbyte's connection ``configurations``)."""
    if isinstance(document, dict) and "configurations" in document:
        document = document["configurations"]
    streams = document.get("streams") if isinstance(document, dict) else None
    if not isinstance(streams, list):
        raise MappingError(
            'is not a JSON object {"streams": [...]} as in Airbyte\'s connection configurations '
            f"({_FIX})."
        )
    hashing: list[Hashing] = []
    seen: set[str] = set()
    for n, entry in enumerate(streams):
        if not isinstance(entry, dict):
            raise MappingError(f"streams[{n}] is not an object ({_FIX}).")
        name = _stream_name(entry, n)
        if name in seen:
            raise MappingError(f"stream {name} is listed twice; merge its mappers.")
        seen.add(name)
        hashing += parse_mappers(name, entry.get("mappers", []))
    return Mappings(tuple(hashing))


def load(value: str | None) -> Mappings:
    """The mappings of ``ADW_REPLICATION_MAPPINGS``: inline JSON, or the path of a JSON file;
    unset means none."""
    if value is None or not value.strip():
        return Mappings()
    text = value.strip()
    if not text.startswith(("{", "[")):
        path = Path(text).expanduser()
        try:
            text = path.read_text()
        except OSError as exc:
            raise MappingError(
                f"cannot be read as a file ({exc.strerror or exc}); set it to the path of a "
                "JSON file or to inline JSON."
            ) from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise MappingError(f"is not valid JSON ({exc}); {_FIX}.") from None
    return parse(document)


def from_connection(stream: str, mappers: Any) -> Mappings:
    """The hashing mappers among a connection stream's ``mappers`` (others are not adw's)."""
    hashing = [m for m in mappers or () if isinstance(m, dict) and m.get("type") == "hashing"]
    try:
        return Mappings(tuple(parse_mappers(stream, hashing, f"Airbyte stream {stream}")))
    except MappingError as exc:
        raise ConfigError(
            f"the Airbyte connection's mappers: {exc} Fix them in Airbyte, then run "
            "`adw airbyte refresh-specs`."
        ) from None
