"""Shared pieces of the dashboard pages: data access, number formats, colors, KPI cards.

Pages ask for a chart (:func:`chart`: metrics of the semantic layer, compiled by MetricFlow,
run on the snapshot) and never write SQL; a page that cannot load its data shows what to run
(:func:`guard`), never a stack trace.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from adw_assets.dashboard.live import LIVE_MEASURES, LiveEvents
from adw_assets.errors import AdwError
from adw_assets.lib import charts, semantic
from adw_assets.lib.serving import Snapshot, SnapshotError, read_manifest, serving_dir
from adw_assets.settings import get_settings

log = logging.getLogger("adw.dashboard")

# One palette for the whole dashboard (colour-blind safe, Okabe-Ito based).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
ONLINE, OFFLINE = "#0072B2", "#E69F00"
STATUS_COLORS = {
    "In process": "#56B4E9",
    "Approved": "#0072B2",
    "Backordered": "#E69F00",
    "Rejected": "#D55E00",
    "Shipped": "#009E73",
    "Cancelled": "#999999",
}
ACCENT = "#0072B2"


def color_map(names: Sequence[str]) -> dict[str, str]:
    """The same colour for the same name on every chart (names sorted, palette cycled)."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(sorted(set(map(str, names))))}


# ---------------------------------------------------------------- data


@st.cache_resource
def _snapshot() -> Snapshot:
    return Snapshot(serving_dir())


@st.cache_resource
def _live() -> LiveEvents:
    return LiveEvents(get_settings().events_dir / "landing")


def snapshot() -> Snapshot:
    snap = _snapshot()
    snap.refresh()
    return snap


def chart(name: str, where: Sequence[tuple[str, str, object]] = (), **kwargs) -> pd.DataFrame:
    """Rows of a chart (``lib/semantic.py``): its metrics, read from the snapshot."""
    return charts.chart(snapshot(), name, where, **kwargs)


def live() -> LiveEvents:
    """The landing zone's recent events (new files loaded first)."""
    events = _live()
    events.refresh()
    return events


def snapshot_age() -> str:
    manifest = read_manifest(serving_dir())
    if not manifest:
        return "no snapshot yet: run `adw up`"
    at = datetime.fromisoformat(manifest["exported_at"])
    return f"data as of {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({ago(at)})"


def ago(at: datetime) -> str:
    seconds = max(0, (datetime.now(UTC) - at).total_seconds())
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


@contextmanager
def guard(what: str = "this page") -> Iterator[None]:
    """Show what to run instead of a traceback when data cannot be loaded."""
    try:
        yield
    except SnapshotError as exc:
        st.info(str(exc), icon=":material/hourglass_empty:")
    except AdwError as exc:
        st.warning(str(exc), icon=":material/warning:")
    except Exception as exc:
        log.exception("dashboard: %s failed", what)
        st.warning(
            f"Could not load {what} ({type(exc).__name__}: {str(exc)[:200]}). "
            "Rebuild the marts with `adw build` (or `adw up`), then reload.",
            icon=":material/warning:",
        )


# ---------------------------------------------------------------- formats


def _num(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    return float(value)  # type: ignore[arg-type]


def fmt(value: object, kind: str) -> str:
    """Exact format for tables and tooltips (the semantic model's formats)."""
    if kind == "time":
        return "—" if value is None or value is pd.NaT else ago(pd.Timestamp(value))
    return semantic.format_value(None if _num(value) is None else value, kind)


def compact(value: object, kind: str) -> str:
    """Short format for KPI cards: $109.85M, $12.35K, $1,789.66, 31,465, 27.4%."""
    v = _num(value) if kind != "time" else None
    if kind == "currency" and v is not None:
        for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
            if abs(v) >= size and abs(v) >= 1e4:
                return f"${v / size:,.2f}{suffix}"
    return fmt(value, kind)


def kpis(
    row: pd.Series,
    measures: Sequence[str],
    extra: Sequence[tuple] = (),
    suffix: str = "",
) -> None:
    """A row of KPI cards: one per measure (label and format from the semantic model)."""
    cols = st.columns(len(measures) + len(extra))
    for col, name in zip(cols, measures, strict=False):
        m = semantic.MEASURES.get(name) or LIVE_MEASURES[name]
        value = row.get(name)
        exact = fmt(value, m.fmt)
        helptext = f"{exact}. {m.help}" if m.help else exact
        col.metric(m.label + suffix, compact(value, m.fmt), help=helptext, border=True)
    for col, (label, value, helptext) in zip(cols[len(measures) :], extra, strict=False):
        col.metric(label, value, help=helptext or None, border=True)


def table(df: pd.DataFrame, columns: dict[str, str], formats: dict[str, str]) -> None:
    """A static table (values formatted, headers from ``columns``)."""
    out = pd.DataFrame(
        {label: [fmt(v, formats.get(col, "")) if col in formats else v for v in df[col]]
         for col, label in columns.items()}
    )  # fmt: skip
    st.table(out, hide_index=True)


def label(name: str) -> str:
    return semantic.label(name)


def header(title: str, question: str) -> None:
    st.title(title)
    st.caption(f"{question} · {snapshot_age()}")


PLOTLY_CONFIG = {"displaylogo": False, "displayModeBar": False}


def plot(fig, key: str | None = None, legend_below: bool = False) -> None:
    fig.update_layout(
        margin={"l": 8, "r": 8, "t": 88, "b": 8},
        title={"y": 0.98, "yanchor": "top", "x": 0, "xanchor": "left", "font": {"size": 17}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0, "title": None},
        hoverlabel={"font_size": 13},
        separators=".,",
    )
    if legend_below:
        fig.update_layout(legend={"y": -0.18, "yanchor": "top"}, margin_t=56)
    st.plotly_chart(fig, config=PLOTLY_CONFIG, key=key)
