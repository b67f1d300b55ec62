"""``adw metrics list|query``: the metrics of the semantic layer (dbt's MetricFlow), queried on
the warehouse: DuckDB read-only (a build holding the file is waited for), or BigQuery.

MetricFlow's engine runs in this process (``lib/metrics.py``; ``mf query`` costs a few seconds
of start-up more). Its SQL runs on the warehouse as is, so decimals stay exact: the table shows
money to the cent, ``--csv`` and ``--json`` write the warehouse's exact values.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import textwrap
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import click

from adw_assets.cli._common import echo_table
from adw_assets.errors import AdwError, ConfigError
from adw_assets.lib.warehouse import DEFAULT_LOCK_TIMEOUT

CENT = Decimal("0.01")
LIST_HINT = "`adw metrics list` lists the metrics and their dimensions"


class MetricsError(AdwError):
    """A metric query MetricFlow or the warehouse refused."""


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def _collapse(text: str) -> str:
    return " ".join(text.split())


def explain_mf_error(message: str) -> str:
    """MetricFlow's multi-line query error as one line: the input, what is wrong, its
    suggestions (and, for a filter that does not parse, the parser's own words)."""
    parts = []
    for error in re.split(r"\n\s*Error #\d+:\n", message)[1:] or [message]:
        text = re.search(r"Message:\n(.*?)(?:\n\s*Suggestions:|\n\s*Query Input:|$)", error, re.S)
        what = _collapse(text.group(1) if text else error)
        what = what.split(" Common issues are:")[0].split(" Got exception:")[0]
        cause = re.search(r"^\s*[\w.]+(?:Error|Exception): (.+)$", error, re.M)
        if cause and "Got exception:" in error:
            what += f" ({_collapse(cause.group(1))})"
        given = re.search(r"Object Builder Input:\n\s*(.+?)(?:\n|$)", error) or re.search(
            r"Query Input:\n\n\s*(.+?)(?:\n|$)", error
        )
        if given and given.group(1).startswith("WhereFilter("):
            given = None  # the filter is quoted in the message
        suggestions = re.search(r"Suggestions:\n\s*\[(.*?)\]", error, re.S)
        line = f"{given.group(1).strip()}: {what}" if given else what
        if suggestions:
            try:
                names = [str(n) for n in ast.literal_eval(f"[{suggestions.group(1)}]")]
            except (SyntaxError, ValueError):
                names = [_collapse(suggestions.group(1))]
            line += f" Did you mean: {', '.join(names)}?"
        parts.append(line)
    return "; ".join(parts)


def _display(value: object) -> str:
    """A value as the table shows it: decimals (money) to the cent, floats (ratios) to 4
    places, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value.quantize(CENT, rounding=ROUND_HALF_UP))
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _exact(value: object) -> object:
    """A value as ``--csv``/``--json`` write it: exact (a decimal as its digits)."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _layer(wait: float = DEFAULT_LOCK_TIMEOUT):
    from adw_assets.lib.metrics import SemanticLayer
    from adw_assets.settings import get_settings

    settings = get_settings()

    def waiting() -> None:
        click.echo(
            f"the warehouse {settings.duckdb_path} is being written by another process (a "
            f"build?); waiting up to {wait:g} s for it ...",
            err=True,
        )

    return SemanticLayer.for_settings(settings, timeout=wait, on_wait=waiting)


def _grouped(dimensions: list[str]) -> str:
    """``order__a, order__b, customer__c`` as ``order__{a, b}, customer__c``."""
    by_entity: dict[str, list[str]] = {}
    for name in dimensions:
        entity, _, element = name.rpartition("__")
        by_entity.setdefault(entity, []).append(element)
    return ", ".join(
        f"{entity}__{{{', '.join(elements)}}}" if entity and len(elements) > 1
        else (f"{entity}__{elements[0]}" if entity else elements[0])
        for entity, elements in by_entity.items()
    )  # fmt: skip


@click.group(name="metrics")
def command() -> None:
    """The metrics of the semantic layer (dbt's MetricFlow) on the warehouse."""


@command.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_metrics(as_json: bool) -> None:
    """Every metric: name, type, description and the dimensions it can be grouped by (time
    dimensions take a grain: metric_time__month, order__order_date__year)."""
    metrics = [
        {
            "name": m.name,
            "type": m.type.value.lower(),
            "description": _collapse(m.description or ""),
            "dimensions": [
                d.dunder_name.removesuffix("__day")
                if str(d.type.value).lower() == "time"
                else d.dunder_name
                for d in m.dimensions
            ],
        }
        for m in _layer().engine.list_metrics()
    ]
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
        return
    # the metrics share a few sets of dimensions: the table names the set, printed below it
    sets: dict[tuple[str, ...], str] = {}
    for m in metrics:
        sets.setdefault(tuple(m["dimensions"]), chr(ord("A") + len(sets)))
    echo_table(
        [(m["name"], m["type"], m["description"], sets[tuple(m["dimensions"])]) for m in metrics],
        ("name", "type", "description", "dimensions"),
    )
    click.echo("\ndimensions (time dimensions take a grain: metric_time__month, __year, ...):")
    for dimensions, label in sets.items():
        lines = textwrap.wrap(_grouped(list(dimensions)), 96, break_on_hyphens=False)
        click.echo(f"{label}: " + "\n   ".join(lines))


@command.command(name="query")
@click.option("--metrics", "metrics", required=True, help="Metrics, comma-separated.")
@click.option("--group-by", default="", help="Dimensions, comma-separated (e.g. "
              "product__category_name,metric_time__month).")  # fmt: skip
@click.option("--where", multiple=True, help="A filter, as MetricFlow takes it, e.g. "
              "\"{{ Dimension('product__category_name') }} = 'Bikes'\" (repeatable).")  # fmt: skip
@click.option("--order", default="", help="Metrics or dimensions to order by, comma-separated; "
              "a leading - sorts descending (e.g. -revenue).")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=0), help="At most this many rows.")
@click.option("--explain", is_flag=True, help="Print the SQL MetricFlow compiles; run nothing.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rows to this CSV file (exact values), not a table.")  # fmt: skip
@click.option("--wait", type=click.FloatRange(min=0), default=DEFAULT_LOCK_TIMEOUT,
              show_default=True, help="Seconds to wait for a build that holds the DuckDB "
              "warehouse.")  # fmt: skip
def query(
    metrics: str,
    group_by: str,
    where: tuple[str, ...],
    order: str,
    limit: int | None,
    explain: bool,
    csv_file: Path | None,
    wait: float,
) -> None:
    """METRICS by GROUP-BY, computed by MetricFlow on the warehouse."""
    import duckdb
    from metricflow_semantics.errors.error_classes import InvalidQueryException

    names = _names(metrics)
    if not names:
        raise ConfigError(f"--metrics names no metric; {LIST_HINT}.")
    start = time.perf_counter()
    layer = _layer(wait)
    request = layer.request(names, _names(group_by), where, _names(order), limit)
    try:
        sql = layer.explain(request)
    except InvalidQueryException as exc:
        raise MetricsError(f"{explain_mf_error(str(exc))} ({LIST_HINT})") from None
    if explain:
        click.echo(sql)
        return
    out = _open_csv(csv_file) if csv_file else None
    try:
        columns, rows = layer.run(request)
    except duckdb.CatalogException as exc:
        raise MetricsError(
            f"the warehouse lacks a table MetricFlow reads ({_first_line(exc)}): run `adw build`"
        ) from None
    except duckdb.Error as exc:
        raise MetricsError(
            f"the warehouse refused the query ({_first_line(exc)}): check --where and --order "
            "(`--explain` prints the SQL)"
        ) from None
    except Exception as exc:
        if type(exc).__module__.startswith("google."):  # BigQuery's refusal of the SQL
            raise MetricsError(
                f"BigQuery refused the query ({_first_line(exc)}): check --where and --order "
                "(`--explain` prints the SQL)"
            ) from None
        raise
    if out is not None:
        with out:
            writer = csv.writer(out)
            writer.writerow(columns)
            writer.writerows([_exact(v) for v in row] for row in rows)
        where_to = str(csv_file)
    else:
        echo_table([tuple(_display(v) for v in row) for row in rows], tuple(columns))
        where_to = "above"
    click.echo(f"{len(rows)} rows {where_to} in {time.perf_counter() - start:.2f} s", err=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _open_csv(path: Path):
    """Open ``path`` for the CSV before the query runs: an unwritable one stops at once."""
    try:
        return path.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write --csv {path}: {exc.strerror or exc}; choose a file in a writable folder."
        ) from None
