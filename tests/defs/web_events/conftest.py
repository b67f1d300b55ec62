"""A real chain for the web-event models: seeded PostgreSQL -> embedded replicator -> DuckDB ->
dbt (the core marts the web marts join), with the landing zone under the same ADW_HOME."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adw_assets.lib.source.seed import seed_database
from adw_assets.settings import get_settings
from tests.dbt.dbt_chain import Chain, module_database, quiet, settings_for

LOOKBACK_HOURS = "48"  # so "yesterday noon" is always within the lookback, whatever the time


@pytest.fixture(scope="module")
def chain(pg_cluster, tmp_path_factory) -> Iterator[Chain]:
    home = tmp_path_factory.mktemp("web")
    with module_database(pg_cluster) as dsn:
        seed_database(dsn, scale=0.05, seed=5, progress=quiet)
        chain = Chain(
            dsn,
            settings_for(home, ADW_EVENTS_LOOKBACK_HOURS=LOOKBACK_HOURS),
            home / "dbt-target",
        )
        chain.replicate()
        chain.dbt("run", "-s", "+fct_orders", "+dim_addresses", "+dim_customers")
        yield chain


@pytest.fixture
def web(chain, monkeypatch) -> Chain:
    """The chain's ADW_HOME for adw (events) and dbt (the web source reads its landing zone)."""
    monkeypatch.setenv("ADW_HOME", str(chain.settings.home))
    monkeypatch.setenv("ADW_EVENTS_LOOKBACK_HOURS", LOOKBACK_HOURS)
    get_settings.cache_clear()
    return chain
