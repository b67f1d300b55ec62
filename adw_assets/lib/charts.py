"""A chart of ``lib/semantic.py`` as rows: its metrics queried through MetricFlow on the
dashboard's snapshot (``lib/serving.Snapshot``), renamed to the chart's column names.

Filters are ``(dimension, op, value)`` triples turned into MetricFlow ``where`` filters, the
values written as SQL literals (quotes doubled, braces kept out of Jinja's reach). A chart whose
metrics are cut by different group-by items (web traffic by visitor country beside sales by
ship-to country) is one MetricFlow query per group-by list, joined on the chart's dimensions.
No metric is computed here: rows are only renamed, joined, counted, sorted and cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import pandas as pd

from adw_assets.lib import semantic as sm
from adw_assets.lib.serving import Snapshot

Where = Sequence[tuple[str, str, object]]


def literal(value: object) -> str:
    """A value as a SQL literal MetricFlow's ``where`` can hold (never Jinja)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        value = (
            value.date() if value == datetime.combine(value.date(), datetime.min.time()) else value
        )
    if isinstance(value, date | datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        text = value.replace("'", "''")
        for brace in "{}":  # Jinja's markers: spelled as chr() so Jinja never sees them
            text = text.replace(brace, f"' || chr({ord(brace)}) || '")
        return f"'{text}'"
    raise ValueError(f"unsupported filter value {value!r}")


def _ref(group_by: str) -> str:
    if group_by.startswith("metric_time__"):
        grain = group_by.removeprefix("metric_time__")
        return f"{{{{ TimeDimension('metric_time', '{grain}') }}}}"
    return f"{{{{ Dimension('{group_by}') }}}}"


def where_filters(where: Where, roles: dict[str, str] | None = None) -> list[str]:
    """MetricFlow ``where`` filters for ``(dimension, op, value)`` triples."""
    out = []
    for dim, op, value in where:
        if op not in sm.OPS:
            raise ValueError(f"unsupported operator {op!r}")
        ref = _ref((roles or {}).get(dim) or sm.DIMENSIONS[dim].group_by)
        if op == "between":
            low, high = value  # type: ignore[misc]
            out.append(f"{ref} between {literal(low)} and {literal(high)}")
        elif op == "in":
            values = [literal(v) for v in value]  # type: ignore[attr-defined]
            out.append(f"{ref} in ({', '.join(values)})" if values else "1 = 0")
        else:
            out.append(f"{ref} {op} {literal(value)}")
    return out


def metric_frame(
    snap: Snapshot,
    shows: Sequence[sm.Show],
    by: Sequence[str],
    where: Where = (),
) -> pd.DataFrame:
    """Columns ``[*by, *shows]``: the shown metrics by the dimensions ``by``."""
    groups: dict[tuple[str, ...], list[sm.Show]] = {}
    for show in shows:
        key = tuple(show.roles.get(d) or sm.DIMENSIONS[d].group_by for d in by)
        groups.setdefault(key, []).append(show)
    frames = []
    for group_by, members in groups.items():
        roles = members[0].roles
        metrics = list(dict.fromkeys(s.metric for s in members))
        sql = snap.metric_sql(metrics, group_by, where_filters(where, roles))
        raw = snap.query(sql)
        raw.columns = [c.lower() for c in raw.columns]
        frame = pd.DataFrame({d: raw[g] for d, g in zip(by, group_by, strict=True)})
        for show in members:
            frame[show.name] = raw[show.metric]
        frames.append(frame)
    out = frames[0]
    for frame in frames[1:]:
        out = out.merge(frame, on=list(by), how="outer") if by else pd.concat([out, frame], axis=1)
    if len(frames) > 1:  # a country with traffic and no sales (or the reverse): none is zero
        for show in shows:
            if show.fmt in ("int", "currency"):
                out[show.name] = out[show.name].fillna(0)
    return out


def _corr(frame: pd.DataFrame, x: str, y: str) -> float:
    """Pearson's r between two metrics across rows (NaN under two rows or without variance)."""
    if len(frame) < 2:
        return float("nan")
    return float(frame[x].astype(float).corr(frame[y].astype(float)))


def chart(
    snap: Snapshot,
    name: str,
    where: Where = (),
    order_by: Sequence[str] | None = None,
    descending: bool = False,
    limit: int | None = None,
) -> pd.DataFrame:
    """Rows of the chart ``name``: columns ``[*by, *measures]``, ordered by ``order_by``
    (default: the dimensions), ties by the dimensions, nulls last, cut at ``limit``."""
    spec = sm.CHARTS[name]
    by = list(spec.by)
    items = [sm.MEASURES[m] for m in spec.measures]
    shows = [i for i in items if isinstance(i, sm.Show)]
    if shows:
        out = metric_frame(snap, shows, by, where)
    else:
        out = metric_frame(snap, [sm.Show("_rows", "", "orders")], by, where).drop(columns="_rows")
    for item in items:
        if isinstance(item, sm.Count):
            rows = metric_frame(snap, [sm.Show("_m", "", item.metric)], item.of, where)
            rows = rows[rows["_m"].notna()]
            if by:
                counts = rows.groupby(by).size().rename(item.name).reset_index()
                out = out.merge(counts, on=by, how="left")
                out[item.name] = out[item.name].fillna(0).astype(int)
            else:
                out[item.name] = len(rows)
        elif isinstance(item, sm.Correlation):
            pair = [sm.MEASURES[item.x], sm.MEASURES[item.y]]
            rows = metric_frame(snap, pair, [item.over], where)  # type: ignore[arg-type]
            out[item.name] = _corr(rows, item.x, item.y)
        elif isinstance(item, sm.MartColumn):
            key = by[0]
            mart = snap.query(
                f"select {sm.MART_KEYS[key]} as {key}, {item.column} as {item.name} "
                f"from {snap.relation(item.mart)}"
            )
            out = out.merge(mart, on=key, how="outer") if len(out) else mart
    out = out[[*by, *spec.measures]]
    order = list(order_by) if order_by is not None else by
    if order:
        keys = order + [d for d in by if d not in order]
        ascending = [not descending] * len(order) + [True] * (len(keys) - len(order))
        out = out.sort_values(keys, ascending=ascending, na_position="last", kind="stable")
    if limit is not None:
        out = out.head(int(limit))
    return out.reset_index(drop=True)
