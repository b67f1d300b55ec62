"""The semantic layer (MetricFlow) on a built warehouse: the semantic manifest dbt wrote
(``semantic_manifest.json``) and MetricFlow's public engine (``MetricFlowEngine``) over a
``SqlClient``: a read-only DuckDB connection per statement, or a BigQuery client with
MetricFlow's BigQuery renderer.

:meth:`SemanticLayer.query` runs the SQL MetricFlow compiles (``explain``) and keeps the
warehouse's exact decimals (MetricFlow's own result table turns decimals into floats). A DuckDB
connection per statement (closed after it), so dbt can build between two queries, and a
writer holding the file is waited for (``lib/warehouse.connect_to_read``).
:meth:`SemanticLayer.for_settings` is what ``adw metrics`` runs: the warehouse of the settings
and a semantic manifest whose relation names are that warehouse's (:func:`semantic_manifest`).
"""

from __future__ import annotations

import fcntl
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.big_query import BigQuerySqlPlanRenderer
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

from adw_assets.lib.semantic import to_cent
from adw_assets.lib.warehouse import DEFAULT_LOCK_TIMEOUT, WarehouseBusyError, connect_to_read
from adw_assets.settings import Settings

if TYPE_CHECKING:
    from google.cloud import bigquery

NO_PARAMETERS = SqlBindParameterSet()
SEMANTIC_MANIFEST = "semantic_manifest.json"


class FetchClient:
    """MetricFlow's ``SqlClient`` protocol over :meth:`fetch` (names and rows of a
    statement), which each warehouse's client defines."""

    _renderer: SqlPlanRenderer

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        return self._renderer

    def fetch(self, stmt: str, params: SqlBindParameterSet) -> tuple[list[str], list[tuple]]:
        raise NotImplementedError

    def query(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> MetricFlowDataTable:
        names, rows = self.fetch(stmt, sql_bind_parameter_set)
        return MetricFlowDataTable.create_from_rows(column_names=names, rows=rows)

    def execute(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        self.fetch(stmt, sql_bind_parameter_set)

    def close(self) -> None:
        pass


class DuckDBClient(FetchClient):
    """MetricFlow's ``SqlClient`` protocol on DuckDB: the engine type, the renderer, ``$name``
    parameters; :meth:`_run` a statement on a connection the subclass provides."""

    _renderer = DuckDbSqlPlanRenderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return SqlEngine.DUCKDB

    @staticmethod
    def _run(
        con: duckdb.DuckDBPyConnection, stmt: str, params: SqlBindParameterSet
    ) -> tuple[list[str], list[tuple]]:
        cursor = con.execute(stmt, dict(params.param_dict) or None)
        names = [d[0] for d in cursor.description] if cursor.description else []
        return names, cursor.fetchall() if names else []

    def dry_run(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        self.fetch(f"explain {stmt}", sql_bind_parameter_set)

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"


class DuckDBReadOnlyClient(DuckDBClient):
    """MetricFlow's ``SqlClient`` over a DuckDB file opened read-only for each statement.

    While another process writes the file (a build), a statement waits up to ``timeout``
    seconds (calling ``on_wait`` once, when it starts waiting), then raises
    :class:`WarehouseBusyError`."""

    def __init__(
        self,
        path: Path,
        timeout: float = DEFAULT_LOCK_TIMEOUT,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self.timeout = timeout
        self.on_wait = on_wait

    def fetch(self, stmt: str, params: SqlBindParameterSet) -> tuple[list[str], list[tuple]]:
        with self._connect() as con:
            return self._run(con, stmt, params)

    def _connect(self):
        try:
            return connect_to_read(self.path, timeout=0)
        except WarehouseBusyError:
            if self.timeout <= 0:
                raise
            if self.on_wait is not None:
                self.on_wait()
            return connect_to_read(self.path, timeout=self.timeout)


class BigQueryClient(FetchClient):
    """MetricFlow's ``SqlClient`` over google-cloud-bigquery, with MetricFlow's BigQuery
    renderer. The SQL adw has MetricFlow compile carries no bind parameters."""

    def __init__(self, client: bigquery.Client) -> None:
        self.client = client
        self._renderer = BigQuerySqlPlanRenderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return SqlEngine.BIGQUERY

    def fetch(self, stmt: str, params: SqlBindParameterSet) -> tuple[list[str], list[tuple]]:
        from adw_assets.lib.warehouse.bigquery import QUERY_TIMEOUT_SECONDS

        if params.param_dict:
            raise ValueError("bind parameters are not supported on BigQuery here")
        result = self.client.query(stmt).result(timeout=QUERY_TIMEOUT_SECONDS)
        names = [field.name for field in result.schema or ()]
        return names, [tuple(row.values()) for row in result]

    def dry_run(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        from google.cloud import bigquery

        self.client.query(stmt, job_config=bigquery.QueryJobConfig(dry_run=True)).result()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"@{bind_parameter_key}"


class DuckDBConnectionClient(DuckDBClient):
    """MetricFlow's ``SqlClient`` over an open DuckDB connection (a cursor per statement): the
    dashboard's snapshot, attached read-only once."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def fetch(self, stmt: str, params: SqlBindParameterSet) -> tuple[list[str], list[tuple]]:
        return self._run(self.con.cursor(), stmt, params)


@dataclass(frozen=True)
class SemanticLayer:
    """MetricFlow's engine over a dbt target's semantic manifest, and its DuckDB client."""

    engine: MetricFlowEngine
    client: FetchClient

    @classmethod
    def load(cls, target: Path, duckdb_path: Path) -> SemanticLayer:
        """From ``semantic_manifest.json`` in the dbt target folder ``target``."""
        return cls.over(target, DuckDBReadOnlyClient(duckdb_path))

    @classmethod
    def over(cls, target: Path, client: FetchClient) -> SemanticLayer:
        """The semantic manifest in ``target`` over the MetricFlow client ``client``."""
        return cls.from_json((target / SEMANTIC_MANIFEST).read_text(), client)

    @classmethod
    def from_json(cls, manifest_json: str, client: FetchClient) -> SemanticLayer:
        """From the text of a semantic manifest and a client (the dashboard's snapshot)."""
        manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=manifest_json)
        engine = MetricFlowEngine(
            semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=client
        )
        return cls(engine, client)

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        *,
        timeout: float = DEFAULT_LOCK_TIMEOUT,
        on_wait: Callable[[], None] | None = None,
    ) -> SemanticLayer:
        """The warehouse of ``settings`` (DuckDB read-only, or BigQuery) and the semantic
        manifest of its dbt target (:func:`semantic_manifest`)."""
        if settings.warehouse == "bigquery":
            from adw_assets.lib.warehouse import bigquery as bq

            client: FetchClient = BigQueryClient(bq.make_client(bq.bigquery_config(settings)))
        else:
            if not settings.duckdb_path.exists():
                connect_to_read(settings.duckdb_path)  # raises NoWarehouseError: run adw up
            client = DuckDBReadOnlyClient(settings.duckdb_path, timeout, on_wait)
        return cls.over(semantic_manifest(settings), client)

    def request(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str] = (),
        where: Sequence[str] = (),
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> MetricFlowQueryRequest:
        return MetricFlowQueryRequest.create(
            metric_names=list(metrics),
            group_by_names=list(group_by),
            where_constraints=list(where),
            order_by_names=list(order_by),
            limit=limit,
        )

    def explain(self, request: MetricFlowQueryRequest) -> str:
        """The SQL MetricFlow compiles for ``request`` (MetricFlow's errors as it raises
        them: ``InvalidQueryException`` for an unknown metric, dimension or filter)."""
        statement = self.engine.explain(request).sql_statement
        assert not statement.bind_parameter_set.param_dict
        return statement.sql

    def run(self, request: MetricFlowQueryRequest) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of ``request``, as the warehouse returns them (exact
        decimals)."""
        names, rows = self.client.fetch(self.explain(request), NO_PARAMETERS)
        return [n.lower() for n in names], rows

    def sql(self, metrics: list[str], group_by: list[str] = (), where: list[str] = ()) -> str:  # type: ignore[assignment]
        """The SQL MetricFlow compiles for ``metrics`` by ``group_by``."""
        return self.explain(self.request(metrics, group_by, where))

    def query(
        self,
        metrics: list[str],
        group_by: list[str] = (),  # type: ignore[assignment]
        where: list[str] = (),  # type: ignore[assignment]
    ) -> dict[tuple, dict[str, object]]:
        """``metrics`` by ``group_by``: {group-by values: {metric: value}}, as DuckDB returns
        them for the SQL MetricFlow compiles (exact decimals)."""
        names, rows = self.client.fetch(self.sql(metrics, group_by, where), NO_PARAMETERS)
        names = [n.lower() for n in names]
        keys = [names.index(g.lower()) for g in group_by]
        values = {m: names.index(m) for m in metrics}
        return {tuple(r[i] for i in keys): {m: r[i] for m, i in values.items()} for r in rows}


def semantic_manifest(settings: Settings) -> Path:
    """The folder of the semantic manifest of the settings' dbt target and warehouse, under
    ``$ADW_HOME/dbt/semantic/<target>``; ``dbt parse`` writes it there when it is missing or
    stale. Its own, not the shared manifest of ``lib/dbt.ensure_manifest``: the relation names
    MetricFlow's SQL reads (DuckDB's catalog, the file's stem; BigQuery's project and dataset
    prefix) are this warehouse's, which that manifest's fingerprint leaves out."""
    from adw_assets.lib.dbt import fingerprint, run_dbt

    target = settings.home / "dbt" / "semantic" / settings.dbt_target
    target.mkdir(parents=True, exist_ok=True)
    relations = (
        [settings.bq_project, settings.bq_dataset_prefix]
        if settings.warehouse == "bigquery"
        else [settings.duckdb_path.stem]
    )
    wanted = {"fingerprint": fingerprint(settings), "relations": relations}
    stamp = target / "adw_semantic_fingerprint.json"
    with open(target / ".adw_parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one parse at a time across processes
        current = json.loads(stamp.read_text()) if stamp.exists() else None
        if current != wanted or not (target / SEMANTIC_MANIFEST).exists():
            print(f"preparing the semantic manifest (dbt parse, target {settings.dbt_target}) "
                  "...", file=sys.stderr, flush=True)  # fmt: skip
            run_dbt(["parse", "--quiet"], settings=settings, target_path=target)
            stamp.write_text(json.dumps(wanted))
    return target


def cents(value: object) -> Decimal | None:
    """A money (or count) value rounded to the cent, the comparison the equality tests make."""
    return None if value is None else to_cent(value)
