"""The web page's live panel on BigQuery: it reads the local landing zone, which stays empty
when events are streamed into BigQuery, so it says so instead of showing an empty stream."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from adw_assets.lib.paths import DASHBOARD_DIR
from adw_assets.settings import get_settings

WEB_PAGE = DASHBOARD_DIR / "views" / "web.py"


def _run_page() -> AppTest:
    page = AppTest.from_file(str(WEB_PAGE), default_timeout=120)
    page.run()
    assert not page.exception, page.exception
    return page


@pytest.mark.parametrize("warehouse", ["duckdb", "bigquery"])
def test_the_live_panel_says_where_events_go(warehouse, monkeypatch):
    if warehouse == "bigquery":
        monkeypatch.setenv("ADW_WAREHOUSE", "bigquery")
        monkeypatch.setenv("ADW_BQ_PROJECT", "adw-page-test")
        monkeypatch.setenv("ADW_CARD_HASH_SALT", "a-salt-of-the-page-test")
    get_settings.cache_clear()
    notes = [info.value for info in _run_page().info]
    on_bigquery = [n for n in notes if "streams into raw_web.events" in n]
    assert bool(on_bigquery) == (warehouse == "bigquery"), notes
