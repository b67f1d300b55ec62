"""`adw build`'s hint after a failure: "run `adw replicate` first" only when dbt says a
replicated table is missing, not for any other missing dataset (web events, issue 20)."""

from __future__ import annotations

import pytest

from adw_assets.cli.build import _names_missing_replicated_table


@pytest.mark.parametrize(
    ("message", "replicate"),
    [
        ('Catalog Error: Table with name "raw_sales.salesorderheader" does not exist!', True),
        ("Not found: Dataset adw-x:raw_person was not found in location US", True),
        ("Not found: Table adw-x:raw_sales.customer was not found in location US", True),
        # the web-events dataset is not replicated: `adw replicate` would not create it
        ("Not found: Dataset adw-x:raw_web was not found in location US", False),
        ("Division by zero in rpt_sales_by_geography", False),
    ],
)
def test_the_replicate_hint_names_only_missing_replicated_tables(message, replicate):
    assert _names_missing_replicated_table(message) is replicate
