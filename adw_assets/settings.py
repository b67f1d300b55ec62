"""The one place that reads the ``ADW_*`` environment.

Every variable adw reads is declared here once, with its type, default, limits and meaning (the
docstring under it). Names follow one rule: ``ADW_<NAME>`` is ``settings.<name>``
(``ADW_EVENTS_LOOKBACK_HOURS`` -> ``settings.events_lookback_hours``). An empty value means
unset. A bad value raises :class:`ConfigError`: one line naming the variable, the value and the
fix. An ``ADW_*`` variable adw does not know is reported once on stderr with the nearest name.

Every other module asks :func:`get_settings` and never reads the environment itself. The
environment is read once per process; tests call ``get_settings.cache_clear()`` (the
``adw_home`` fixture does) after changing it. ``python -m adw_assets.lib.settings_docs``
writes the README table and ``.env.example`` from these declarations.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo

from adw_assets.errors import ConfigError

SOURCE_DATABASE = "adventureworks"
REPLICATION_ROLE = "adw_replicator"
CDC_ROLE = "adw_cdc"

PREFIX = "ADW_"
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip
"""DuckDB's size units (any case), in bytes as DuckDB reads them (``128MB`` is 128,000,000)."""
_SIZE = r"\d+(\.\d+)?\s*(" + "|".join(_SIZE_UNITS) + ")"
DUCKDB_SIZE = rf"(?i)^{_SIZE}$"
DUCKDB_LIMIT = rf"(?i)^({_SIZE}|[1-9]\d?(\.\d+)?%)$"
"""A DuckDB size or a percentage of the machine's memory (DuckDB's own default is ``80%``)."""


def size_bytes(size: str) -> int:
    """A :data:`DUCKDB_SIZE` in bytes, as DuckDB reads it (``128MB`` is 128,000,000 bytes)."""
    match = re.match(DUCKDB_SIZE, size.strip())
    if not match:
        raise ValueError(f"{size!r} is not a DuckDB size")
    return int(float(size.strip()[: match.start(2)]) * _SIZE_UNITS[match.group(2).lower()])


IDENTIFIER_PREFIX = r"^[A-Za-z_][A-Za-z0-9_]*$"
BQ_PROJECT = r"^([a-z0-9][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{0,62}$"
"""A Google Cloud project id (``my-project``, or domain-scoped ``example.com:my-project``): it
is spliced into SQL as a quoted path, and dbt-bigquery quotes names without escaping."""
PATH_MAX, NAME_MAX = 4095, 255
AIRBYTE_DEFAULT_URL = "http://localhost:8000"
"""Where ``abctl local install`` serves Airbyte (self-managed)."""
_AIRBYTE_API_SUFFIXES = ("/api/public/v1", "/api/v1", "/api")


def var(default: Any = None, shown: str | None = None, **limits: Any) -> Any:
    """A setting's default and limits; ``shown`` is the default as the docs state it when it
    is computed or means "unset" (``$ADW_HOME/warehouse.duckdb``)."""
    return Field(default, json_schema_extra={"shown": shown} if shown else None, **limits)


class Settings(BaseModel):
    """Resolved configuration. Paths are absolute; secrets are :class:`SecretStr` or left out
    of ``repr``."""

    model_config = ConfigDict(
        frozen=True,
        alias_generator=lambda name: PREFIX + name.upper(),
        extra="ignore",
        str_strip_whitespace=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
    )

    # --- core ------------------------------------------------------------------------------
    home: Path = var(Path(".adw"), "`./.adw`", validate_default=True)
    """all local state: embedded Postgres data, warehouse, events, snapshot, `DAGSTER_HOME`"""
    source_dsn: str | None = var(None, "unset (embedded)", repr=False)
    """an existing PostgreSQL database; adw then never starts or stops a server"""
    replication_dsn: str | None = var(None, "derived", repr=False)
    """DSN of the read-only role; embedded: `adw_replicator` on the embedded server; required with
    `ADW_SOURCE_DSN` (replication never connects as the owner)"""
    warehouse: Literal["duckdb", "bigquery"] = "duckdb"
    """the warehouse: a DuckDB file, or BigQuery (`ADW_BQ_*`)"""
    duckdb_path: Path = var(None, "`$ADW_HOME/warehouse.duckdb`", validate_default=True)
    """the DuckDB warehouse file"""
    raw_prefix: str = var("raw_", pattern=IDENTIFIER_PREFIX)
    """prefix of the replicated namespaces (`raw_sales`, ...)"""
    replication: Literal["embedded", "airbyte"] = "embedded"
    """`embedded` (adw's replicator) or `airbyte` (dagster-airbyte)"""
    dbt_target: str = var(None, "`local` (`prod` with BigQuery)", validate_default=True)
    """dbt target (`dbt/profiles.yml`)"""
    dagster_port: int = var(3000, ge=1, le=65535)
    """port of the Dagster UI: `adw dev`; in the compose stack the webserver's published port"""
    dagster_url: str = var(
        None, "`http://127.0.0.1:$ADW_DAGSTER_PORT/graphql`", validate_default=True
    )
    """GraphQL endpoint used by `adw launch`"""
    dagster_token: SecretStr | None = None
    """bearer token sent by `adw launch` (Dagster+ or an auth proxy)"""
    dashboard_port: int = var(8501, ge=1, le=65535)
    """port of `adw dashboard`"""

    # --- replication -----------------------------------------------------------------------
    replication_lag_seconds: int = var(300, ge=0)
    """how far before the saved cursor each incremental sync re-reads (late commits)"""
    replication_retries: int = var(3, ge=0)
    """retries, with exponential backoff, when the source is unreachable"""
    replication_batch_rows: int = var(50_000, ge=1)
    """rows per batch moved by the replicator (a full sync holds a few per worker in memory)"""
    replication_workers: int = var(2, ge=1)
    """source readers running at once"""
    replication_range_readers: int = var(2, ge=1, le=16)
    """concurrent COPYs reading one large table's full sync in page ranges, in one snapshot
    (1: one COPY per table); the replication role may open workers x this + 3 connections"""
    replication_range_min_mb: int = var(32, ge=0)
    """source table size (MB, heap and TOAST) from which a full sync reads it in page ranges"""
    replication_memory_limit: str = var("128MB", pattern=DUCKDB_SIZE)
    """DuckDB memory limit during a sync; an incremental merge adds room for the rows it deletes
    (at most 32 bytes per row of its table: about 390 MB for 12M order lines)"""
    replication_staging_rows: int = var(125_000, ge=1)
    """a full sync into DuckDB commits its staging tables every this many rows (DuckDB holds
    about 90 bytes a row until a commit; the swap into the final table comes last)"""
    replication_raw_history: bool = False
    """also keep the raw history tables in `airbyte_internal` (every version of a record read);
    off by default, as in Airbyte's direct-load destinations, which write only the final tables"""
    replication_mappings: str | None = var(None, "unset (none)")
    """Airbyte's hashing mappings, the same JSON as the Airbyte connection's (inline, or a
    file's path): fields hashed before they land, e.g. `sales.creditcard.cardnumber`
    (docs/replication.md)"""
    replication_method: Literal["cursor", "cdc"] = "cursor"
    """`cursor` (re-read rows by `modifieddate`) or `cdc` (changes and deletes from the
    write-ahead log through a logical replication slot; `adw replicate --cdc-setup` first;
    DuckDB and BigQuery: docs/replication.md, CDC)"""
    replication_cdc_dsn: str | None = var(None, "derived", repr=False)
    """DSN of the CDC role (REPLICATION and SELECT, nothing else); embedded: `adw_cdc` on the
    embedded server; required with `ADW_SOURCE_DSN` and `ADW_REPLICATION_METHOD=cdc`"""
    replication_cdc_poll_seconds: float = var(0.1, ge=0.01, le=60)
    """how long `adw replicate --follow` waits before asking the slot again when it had
    nothing new"""
    replication_cdc_batch_changes: int = var(50_000, ge=100)
    """most changes `adw replicate --follow` applies in one warehouse transaction (bounds its
    memory; a larger source transaction is applied whole)"""
    replication_cdc_lag_warn_seconds: int = var(300, ge=1)
    """CDC slot-lag asset check warns when the oldest change not yet applied committed longer
    ago than this"""
    replication_cdc_lag_warn_mb: int = var(1024, ge=1)
    """CDC slot-lag asset check warns when the slot retains more write-ahead log than this
    (MiB)"""
    test_pause_at: str | None = None
    """test hook of the replicator's kill tests: `<point>[@<stream>]` stops and sleeps there"""

    # --- dbt -------------------------------------------------------------------------------
    dbt_executable: Path | None = var(None, "the `dbt` installed with adw")
    """the dbt command adw runs, e.g. one in another environment that holds dbt-bigquery (which
    pins libraries older than Dagster needs)"""
    dbt_lookback_minutes: int | None = var(None, "0 on DuckDB, 60 elsewhere", ge=0, examples=[60])
    """how far back incremental facts re-read"""
    dbt_memory_limit: str = var("1GB", pattern=DUCKDB_LIMIT, examples=["2GB"])
    """DuckDB memory limit of dbt on the DuckDB warehouse: a size, or a share of the machine's
    memory (`80%` is DuckDB's own default); beyond it DuckDB spills to disk, under `ADW_HOME`
    (scale 100: as fast as under 80% of 24 GB, 1.2 GB instead of 2 GB)"""
    card_hash_salt: SecretStr | None = var(None, "a dev salt on the local default only")
    """salt of the card-number and IP address hashes; required (and never the dev salt) unless
    the source is embedded, the warehouse DuckDB and the dbt target `local`: adw and dbt refuse
    to run without it; dbt never sees it (docs/dbt.md)"""

    # --- web events ------------------------------------------------------------------------
    events_lookback_hours: float = var(24.0, ge=1.0, le=24.0 * 366)
    """how late a web event may arrive and still be accepted (and re-read by the models)"""
    events_max_clock_skew_seconds: float = var(300.0, ge=0.0, le=86_400.0)
    """how far in the future an event timestamp may be"""
    events_flush_seconds: float = var(1.0, ge=0.05, le=60.0)
    """micro-batch interval of `adw events stream`"""
    events_max_dead_letter_ratio: float = var(0.05, ge=0.0, le=1.0)
    """the dead-letter check fails above this ratio"""
    events_freshness_minutes: float = var(60.0, ge=1.0, le=525_600.0)
    """web events are stale when no batch landed for this long"""
    events_dead_letter_retention_days: int = var(7, ge=1, le=3660)
    """days a dead letter is kept (whole UTC days); the daily `dead_letter_retention_schedule`
    deletes older dead-letter files"""
    events_compacted_retention_hours: float = var(24.0, ge=0.0, le=8784.0)
    """hours the micro-batches replaced by a compaction are kept in `$ADW_HOME/events/compacted`
    (0: deleted at once); the hourly `landing_compaction_schedule` compacts each closed hour of
    the landing zone into one file and deletes the older ones"""

    # --- BigQuery (docs/production.md) -----------------------------------------------------
    bq_project: str | None = var(None, pattern=BQ_PROJECT)
    """Google Cloud project of the warehouse (required with `ADW_WAREHOUSE=bigquery`);
    credentials from ADC or `GOOGLE_APPLICATION_CREDENTIALS`"""
    bq_location: str = "US"
    """where datasets are created and jobs run"""
    bq_dataset_prefix: str = var("adw_", pattern=IDENTIFIER_PREFIX)
    """prefix of the dbt datasets (`adw_marts`, ...)"""
    bq_endpoint: str | None = None
    """a BigQuery API endpoint other than Google's (the emulator in tests), with anonymous
    credentials"""

    # --- Airbyte (docs/airbyte.md) ---------------------------------------------------------
    airbyte_url: str | None = var(None, f"`{AIRBYTE_DEFAULT_URL}`")
    """the Airbyte host (self-managed); an API URL pasted here is cut to the host"""
    airbyte_cloud: bool = False
    """use Airbyte Cloud (then `ADW_AIRBYTE_URL` is ignored)"""
    airbyte_workspace_id: str | None = None
    """the Airbyte workspace (in the Airbyte UI's URL)"""
    airbyte_connection_id: str | None = None
    """the Airbyte connection (in the Airbyte UI's URL)"""
    airbyte_client_id: str | None = None
    """client id of an Airbyte application"""
    airbyte_client_secret: SecretStr | None = None
    """client secret of that application"""
    airbyte_username: str | None = None
    """Airbyte username (self-managed, basic auth; instead of the client id)"""
    airbyte_password: SecretStr | None = None
    """Airbyte password (self-managed, basic auth)"""
    airbyte_poll_interval: float = var(10.0, gt=0)
    """seconds between two polls of a running sync"""
    airbyte_poll_timeout: float | None = var(None, "none (wait)", gt=0, examples=[3600])
    """seconds after which a running sync is cancelled"""
    airbyte_request_timeout: int = var(15, ge=1)
    """seconds per Airbyte API request"""
    airbyte_specs: Path | None = var(None, "the file shipped with adw")
    """the cached stream specs of the connection (`adw airbyte refresh-specs` writes it)"""

    # --- Omni (docs/omni.md) ---------------------------------------------------------------
    omni_url: str | None = None
    """the Omni instance, e.g. `https://acme.omniapp.co`; with `ADW_OMNI_API_KEY`, its
    documents are assets downstream of the marts they read (unset: nothing Omni loads)"""
    omni_api_key: SecretStr | None = None
    """an Omni organization API key (read: documents, queries, SCIM users)"""
    omni_retries: int = var(4, ge=0)
    """retries, with exponential backoff from 1 s, of an Omni request answered 429 or 5xx or
    not answered"""

    @field_validator("omni_url")
    @classmethod
    def _omni_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(
                "is not an http(s) URL; set it to the instance, e.g. https://acme.omniapp.co."
            )
        if value is None:
            return None
        url = value.rstrip("/")  # the instance, whichever of its API URLs was pasted
        for suffix in ("/api/v1", "/api"):
            url = url.removesuffix(suffix)
        return url

    @field_validator("warehouse", "replication", "replication_method", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("home", "airbyte_specs")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @field_validator("duckdb_path", mode="before")
    @classmethod
    def _duckdb_path(cls, value: Any, info: ValidationInfo) -> Any:
        home = info.data.get("home", Path(".adw"))
        return Path(value or home / "warehouse.duckdb").expanduser().resolve()

    @field_validator("dbt_target", mode="before")
    @classmethod
    def _dbt_target(cls, value: Any, info: ValidationInfo) -> Any:
        return value or ("prod" if info.data.get("warehouse") == "bigquery" else "local")

    @field_validator("dagster_url", mode="before")
    @classmethod
    def _dagster_url(cls, value: Any, info: ValidationInfo) -> Any:
        return value or f"http://127.0.0.1:{info.data.get('dagster_port', 3000)}/graphql"

    @field_validator("home", "duckdb_path", "dbt_executable", "airbyte_specs")
    @classmethod
    def _path_fits(cls, value: Path | None) -> Path | None:
        if value is not None and (
            len(os.fsencode(value)) > PATH_MAX
            or any(len(os.fsencode(part)) > NAME_MAX for part in value.parts)
        ):
            raise ValueError(
                f"is too long for a path ({NAME_MAX} bytes per name, {PATH_MAX} in all); "
                "set a shorter one."
            )
        return value

    @field_validator("source_dsn", "replication_dsn", "replication_cdc_dsn")
    @classmethod
    def _dsn(cls, value: str | None) -> str | None:
        from psycopg import ProgrammingError, conninfo

        if value is not None:
            try:
                conninfo.conninfo_to_dict(value)
            except ProgrammingError:  # its text quotes the DSN, which may hold a password
                raise ValueError(
                    "is not a PostgreSQL connection string (the value is not shown: it may "
                    "hold a password); set it to e.g. postgresql://user@host:5432/adventureworks "
                    "or 'host=... dbname=... user=...'."
                ) from None
        return value

    @field_validator("bq_endpoint", "airbyte_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        url = value.rstrip("/")
        if not url.startswith(("http://", "https://")):
            what = "the Airbyte host, e.g. " + AIRBYTE_DEFAULT_URL
            if info.field_name == "bq_endpoint":
                what = "the emulator's base URL, e.g. http://127.0.0.1:9050"
            raise ValueError(f"is not an http(s) URL; set it to {what}.")
        if info.field_name == "airbyte_url":  # the host, whichever of its API URLs was pasted
            for suffix in _AIRBYTE_API_SUFFIXES:
                if url.endswith(suffix):
                    return url[: -len(suffix)]
        return url

    @field_validator("replication_mappings")
    @classmethod
    def _mappings(cls, value: str | None) -> str | None:
        from adw_assets.lib.mappings import load

        load(value)  # a MappingError (ValueError) says what is wrong
        return value

    @property
    def pgdata(self) -> Path:
        return self.home / "postgres"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def events_dir(self) -> Path:
        """The web-event landing zone; adw passes it to dbt as ``ADW_EVENTS_DIR``."""
        return self.home / "events"

    @property
    def embedded(self) -> bool:
        return self.source_dsn is None

    def group(self, prefix: str) -> dict[str, Any]:
        """The settings named ``<prefix><key>``, as ``{key: value}`` (``group("events_")``)."""
        return {
            name.removeprefix(prefix): getattr(self, name)
            for name in type(self).model_fields
            if name.startswith(prefix)
        }

    def ensure_dirs(self) -> None:
        """``ADW_HOME``, private (``lib/private.py``), and its Dagster and events folders."""
        from adw_assets.lib.private import private_home

        private_home(self)
        for path in (self.dagster_home, self.events_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """The settings of an environment (its ``ADW_*`` names; an empty value is unset)."""
        env = {k: v for k, v in environ.items() if k.startswith(PREFIX) and v.strip()}
        try:
            settings = cls.model_validate(env)
        except ValidationError as exc:
            raise ConfigError(" ".join(_message(err, env) for err in exc.errors())) from None
        return settings


def variables() -> dict[str, FieldInfo]:
    """Every setting: its variable name -> its declaration, in declaration order."""
    return {field.alias: field for field in Settings.model_fields.values()}


def default(name: str) -> Any:
    """The default of the setting ``name`` (``replication_batch_rows``): for a library call's
    keyword that :class:`Settings` fills when adw calls it, so a default is written once."""
    return Settings.model_fields[name].default


def checked(name: str, value: str) -> Any:
    """``value`` validated as the setting ``name`` (``ADW_...``) would be in the environment,
    for a value that reaches adw another way (a library call, run config): the setting's value,
    or :class:`ConfigError` with the same one line."""
    return getattr(Settings.from_env({name: value}), name.removeprefix(PREFIX).lower())


def is_secret(field: FieldInfo) -> bool:
    """A secret setting: a :class:`SecretStr`, or a DSN (left out of ``repr``). Its value is
    never echoed in an error and is masked in everything adw prints (``lib/secrets.py``)."""
    return field.repr is False or SecretStr in (
        field.annotation,
        *getattr(field.annotation, "__args__", ()),
    )


def is_dsn(field: FieldInfo) -> bool:
    """A DSN setting: only its password is secret (``lib/secrets.py`` finds it)."""
    return field.repr is False and field.alias.endswith("_DSN")


_WHOLE = "is not a whole number; set it to e.g. {example}."
_NUMBER = "is not a number; set it to e.g. {example}."
_MESSAGES = {
    "int_parsing": _WHOLE,
    "int_from_float": _WHOLE,
    "float_parsing": _NUMBER,
    "range": "is out of range; use a value from {ge} to {le}.",
    "greater_than_equal": "is below the minimum {ge}; set it to {ge} or more.",
    "greater_than": "must be above {gt}; set it to e.g. {example}.",
    "bool_parsing": "is not true or false; set it to true or false.",
    "literal_error": "is not one of {choices}; set it to one of them.",
    "duckdb_size": "is not a DuckDB size (a number and B, KB, MB, GB, ...); set it to e.g. 128MB.",
    "duckdb_limit": "is not a DuckDB size (a number and B, KB, MB, GB, ...) or a percentage of "
    "the machine's memory; set it to e.g. 2GB or 50%.",
    "string_pattern_mismatch": "may hold only letters, digits and _; set it to e.g. {example}.",
    "bq_project": "is not a Google Cloud project id (lowercase letters, digits and -); set it "
    "to the project's id, e.g. my-project.",
    "string_unicode": "is not UTF-8 text; set it again from a UTF-8 terminal or file.",
    "value_error": "{error}",
}
"""What adw says after ``ADW_<NAME>=<value>``, by pydantic error type."""


def _message(err: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """A pydantic error as adw's one line: the variable, the bad value, what to do."""
    name = str(err["loc"][0])
    field = variables()[name]
    kind, ctx = err["type"], err.get("ctx", {})
    if is_secret(field):  # a secret or a DSN (which may hold a password): never echoed
        if kind in ("value_error", "string_unicode"):
            return f"{name} " + _MESSAGES[kind].format(error=ctx.get("error"))
        return f"{name} is invalid ({err['msg']}); see README.md, Configuration."
    facts = {k: getattr(m, k) for m in field.metadata for k in ("ge", "gt", "le") if hasattr(m, k)}
    if kind in ("greater_than_equal", "less_than_equal", "finite_number") and "le" in facts:
        kind = "range"
    if ctx.get("pattern") == DUCKDB_SIZE:
        kind = "duckdb_size"
    if ctx.get("pattern") == DUCKDB_LIMIT:
        kind = "duckdb_limit"
    if ctx.get("pattern") == BQ_PROJECT:
        kind = "bq_project"
    facts |= {
        "example": (field.examples or [field.default])[0],
        "choices": str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", "),
        "error": ctx.get("error"),
    }
    said = _MESSAGES.get(kind, "is invalid ({msg}); see README.md, Configuration.")
    return f"{name}={_shown(env.get(name, err['input']))} " + said.format(msg=err["msg"], **facts)


def _shown(value: Any, limit: int = 80) -> str:
    """A bad value as an error quotes it: its repr (one line), cut when long."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}... ({len(str(value))} characters)"


COMPOSE_ONLY = {
    "ADW_BASE_IMAGE": "base image of the adw and Postgres images (Debian-based, bookworm or later)",
    "ADW_IMAGE": "tag of the adw image (code location, webserver, daemon, seed)",
    "ADW_POSTGRES_IMAGE": "tag of the Postgres image built from docker/postgres",
    "ADW_IMAGE_EXTRAS": "optional-dependency groups of pyproject.toml baked into the adw image",
    "ADW_SECRETS_DIR": "host folder of the stack's secrets, one file each: postgres_password, "
    "source_password, replicator_password, dagster_password, card_hash_salt (`sh "
    "docker/make-secrets.sh` writes random ones)",
    "ADW_SOURCE_DB": "database holding AdventureWorks (person, production, sales)",
    "ADW_DAGSTER_DB": "database holding Dagster's runs, event logs and schedules",
    "ADW_SEED_SCALE": "scale of the synthetic data (1.0 is about the real row counts)",
    "ADW_SEED": "random seed of the synthetic data",
    "ADW_SEED_DATA_DIR": "host folder of real AdventureWorks CSVs, loaded instead of seeding",
    "ADW_BIND_ADDRESS": "address the webserver is published on (keep 127.0.0.1 unless an "
    "authenticating proxy sits in front)",
    "ADW_GCP_KEY_FILE": "host path of a service-account key file, mounted read-only in the code "
    "location (empty: Application Default Credentials of the machine, if any)",
    "ADW_KESTRA_IMAGE": "Kestra image of the `kestra` profile (its Dagster plugin: Kestra 1.2+)",
    "ADW_KESTRA_PORT": "port of the Kestra UI and API on ADW_BIND_ADDRESS (profile `kestra`)",
}
"""``ADW_*`` variables of the compose stack that Python never reads: name -> meaning."""
OTHER_KNOWN = ("ADW_EVENTS_DIR", "ADW_CONTAINER_ENGINE", "ADW_TEST_BIGQUERY_PROJECT",
               "ADW_TEST_KILL_SEED", "ADW_CARD_HASH_SALT_FILE")  # fmt: skip
"""Names adw sets for dbt (``ADW_EVENTS_DIR``), knobs of CI and tests, and the secret file the
adw image's entrypoint reads into ``ADW_CARD_HASH_SALT`` (``ADW_CARD_HASH_SALT_FILE``); with
``ADW_CI_*``, never reported as unknown."""
_warned: set[str] = set()


def warn_unknown(environ: Mapping[str, str]) -> list[str]:
    """Report, once per process, each ``ADW_*`` name adw does not know (a typo does nothing
    silently otherwise); return the names reported now."""
    known = [*variables(), *COMPOSE_ONLY, *OTHER_KNOWN]
    fresh = [
        name
        for name in sorted(environ)
        if name.startswith(PREFIX)
        and not name.startswith("ADW_CI_")
        and name not in known
        and name not in _warned
    ]
    for name in fresh:
        _warned.add(name)
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f"did you mean {near[0]}?" if near else "see README.md, Configuration."
        print(f"adw: warning: {name} is not an adw setting and is ignored; {hint}", file=sys.stderr)
    return fresh


@cache
def get_settings() -> Settings:
    settings = Settings.from_env(os.environ)
    warn_unknown(os.environ)
    return settings
