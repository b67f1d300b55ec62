"""The semantic layer (MetricFlow) on a built DuckDB warehouse: the semantic manifest
dbt wrote (``semantic_manifest.json``) and a read-only DuckDB connection per statement, through
MetricFlow's public engine (``MetricFlowEngine``) and its ``SqlClient`` protocol.

:func:`query_metrics` runs the SQL MetricFlow compiles (``explain``) and keeps DuckDB's exact
decimals (MetricFlow's own result table turns decimals into floats). A connection per statement
(closed after it), so dbt can build between two queries of one test.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

NO_PARAMETERS = SqlBindParameterSet()


class DuckDBReadOnlyClient:
    """MetricFlow's ``SqlClient`` over a DuckDB file opened read-only for each statement."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._renderer = DuckDbSqlPlanRenderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        return self._renderer

    def fetch(self, stmt: str, params: SqlBindParameterSet) -> tuple[list[str], list[tuple]]:
        values = dict(params.param_dict)
        with duckdb.connect(str(self.path), read_only=True) as con:
            cursor = con.execute(stmt, values or None)
            names = [d[0] for d in cursor.description] if cursor.description else []
            return names, cursor.fetchall() if names else []

    def query(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> MetricFlowDataTable:
        names, rows = self.fetch(stmt, sql_bind_parameter_set)
        return MetricFlowDataTable.create_from_rows(column_names=names, rows=rows)

    def execute(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        self.fetch(stmt, sql_bind_parameter_set)

    def dry_run(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        self.fetch(f"explain {stmt}", sql_bind_parameter_set)

    def close(self) -> None:
        pass

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"


class DuckDBConnectionClient(DuckDBReadOnlyClient):
    """MetricFlow's ``SqlClient`` over an open DuckDB connection (a cursor per statement): the
    dashboard's snapshot, attached read-only once."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._renderer = DuckDbSqlPlanRenderer()

    def fetch(self, stmt: str, params: SqlBindParameterSet) -> tuple[list[str], list[tuple]]:
        cursor = self.con.cursor().execute(stmt, dict(params.param_dict) or None)
        names = [d[0] for d in cursor.description] if cursor.description else []
        return names, cursor.fetchall() if names else []


@dataclass(frozen=True)
class SemanticLayer:
    """MetricFlow's engine over a dbt target's semantic manifest, and its DuckDB client."""

    engine: MetricFlowEngine
    client: DuckDBReadOnlyClient

    @classmethod
    def load(cls, target: Path, duckdb_path: Path) -> SemanticLayer:
        """From ``semantic_manifest.json`` in the dbt target folder ``target``."""
        manifest = parse_manifest_from_dbt_generated_manifest(
            manifest_json_string=(target / "semantic_manifest.json").read_text()
        )
        client = DuckDBReadOnlyClient(duckdb_path)
        engine = MetricFlowEngine(
            semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=client
        )
        return cls(engine, client)

    @classmethod
    def from_json(cls, manifest_json: str, client: DuckDBReadOnlyClient) -> SemanticLayer:
        """From the text of a semantic manifest and a client (the dashboard's snapshot)."""
        manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=manifest_json)
        engine = MetricFlowEngine(
            semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=client
        )
        return cls(engine, client)

    def sql(self, metrics: list[str], group_by: list[str] = (), where: list[str] = ()) -> str:  # type: ignore[assignment]
        """The SQL MetricFlow compiles for ``metrics`` by ``group_by``."""
        request = MetricFlowQueryRequest.create(
            metric_names=metrics, group_by_names=list(group_by), where_constraints=list(where)
        )
        statement = self.engine.explain(request).sql_statement
        assert not statement.bind_parameter_set.param_dict
        return statement.sql

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


def cents(value: object) -> Decimal | None:
    """A money (or count) value rounded to the cent, the comparison the equality tests make."""
    if value is None:
        return None
    return round(Decimal(str(value)), 2)
