"""Money as the dashboard and `adw` print it: to the cent as the warehouse's SQL rounds it."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import numpy as np
import pytest

from adw_assets.lib.semantic import format_value


@pytest.mark.parametrize(
    "amount", ["1522.425", "-1522.425", "0.005", "2.675", "1234567.891", "0.004", "-0.004", "7"]
)
def test_currency_rounds_to_the_cent_as_the_warehouse_does(amount):
    # DuckDB's round() of the DECIMAL a mart holds; the snapshot may hand the value over as
    # DECIMAL, float or numpy float (1522.425 as a float is 1522.42499...: .2f gives .42)
    ((sql,),) = duckdb.sql(f"select round({amount}::decimal(18, 3), 2)").fetchall()
    expected = f"-${-sql:,.2f}" if sql < 0 else f"${sql:,.2f}"
    for value in (Decimal(amount), float(amount), np.float64(amount)):
        assert format_value(value, "currency") == expected, repr(value)
