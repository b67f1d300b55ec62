from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adw_assets.errors import LoadError, SourceError
from adw_assets.lib.source.load import load_directory
from adw_assets.lib.source.seed import seed_database
from tests.lib.source.conftest import (
    MONEY_VIOLATIONS,
    TODAY,
    checksums,
    counts,
    declared_foreign_keys,
    reference_violations,
    scalar,
)

QUIET = {"progress": lambda _: None}
# Row counts of the real files (README of ../shared/adventureworks), for the 12 tables.
REAL_COUNTS = {
    "person.countryregion": 238,
    "person.stateprovince": 181,
    "person.address": 19_614,
    "person.person": 19_972,
    "production.productcategory": 4,
    "production.productsubcategory": 37,
    "production.product": 504,
    "sales.creditcard": 19_118,
    "sales.store": 701,
    "sales.customer": 19_820,
    "sales.salesorderheader": 31_465,
    "sales.salesorderdetail": 121_317,
}


@pytest.fixture
def folder(exported_dir, tmp_path) -> Path:
    """A private, writable copy of the exported CSVs."""
    target = tmp_path / "csv"
    shutil.copytree(exported_dir[0], target)
    return target


def _edit_line(path: Path, number: int, edit) -> str:
    lines = path.read_text().split("\n")
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("\n".join(lines))
    return lines[number - 1]


def _assert_empty(dsn: str) -> None:
    assert set(counts(dsn).values()) == {0}
    assert declared_foreign_keys(dsn) == 12


@pytest.mark.realdata
def test_loads_the_real_adventureworks(source_db, shared_adventureworks):
    got = load_directory(source_db, shared_adventureworks, **QUIET)
    assert got == REAL_COUNTS
    assert counts(source_db) == REAL_COUNTS
    assert not any(reference_violations(source_db).values())
    assert declared_foreign_keys(source_db) == 12
    # the rule the seed mirrors: subtotal = sum of exact line totals rounded to 4 decimals
    assert (
        scalar(
            source_db,
            """
        select count(*) from sales.salesorderheader h join (
            select salesorderid, round(sum(orderqty * unitprice * (1 - unitpricediscount)), 4) s
            from sales.salesorderdetail group by 1) d using (salesorderid)
        where h.subtotal <> d.s or h.totaldue <> h.subtotal + h.taxamt + h.freight""",
        )
        == 0
    )
    # char(n) padding and NULLs are kept as in the files
    assert (
        scalar(
            source_db,
            "select stateprovincecode from person.stateprovince where stateprovinceid = 1",
        )
        == "AB "
    )
    assert (
        scalar(source_db, "select count(*) from person.address where addressline2 is null")
        == 19_252
    )
    next_order = scalar(
        source_db,
        "select nextval(pg_get_serial_sequence('sales.salesorderheader', 'salesorderid'))",
    )
    assert next_order == 75_124  # the largest real id + 1


def test_round_trip_of_a_seed(source_db, exported_dir):
    folder, sums = exported_dir
    got = load_directory(source_db, folder, **QUIET)
    assert checksums(source_db) == sums
    assert got == counts(source_db)
    assert scalar(source_db, MONEY_VIOLATIONS) == 0


def test_columns_are_matched_by_name_and_extra_files_ignored(source_db, folder):
    path = folder / "production.productcategory.csv"
    lines = path.read_text().splitlines()
    reordered = [",".join(reversed(line.split(","))) for line in lines]
    path.write_text("\n".join(reordered) + "\n")
    (folder / "notes.txt").write_text("not a table")
    (folder / "sales.currency.csv").write_text("currencycode,name\nEUR,Euro\n")
    load_directory(source_db, folder, **QUIET)
    assert (
        scalar(source_db, "select name from production.productcategory where productcategoryid = 1")
        == "Bikes"
    )


def test_missing_file(source_db, folder):
    (folder / "sales.store.csv").unlink()
    with pytest.raises(LoadError, match=r"missing sales\.store\.csv"):
        load_directory(source_db, folder, **QUIET)
    _assert_empty(source_db)


def test_bad_number_names_file_line_and_column(source_db, folder):
    path = folder / "sales.salesorderdetail.csv"
    _edit_line(
        path,
        5,
        lambda line: ",".join("many" if i == 3 else v for i, v in enumerate(line.split(","))),
    )
    with pytest.raises(LoadError) as err:
        load_directory(source_db, folder, **QUIET)
    message = str(err.value)
    assert "sales.salesorderdetail.csv: line 5, column orderqty" in message
    assert "'many'" in message and "unchanged" in message
    _assert_empty(source_db)


def test_wrong_column_count(source_db, folder):
    path = folder / "sales.customer.csv"
    _edit_line(path, 3, lambda line: line.rsplit(",", 1)[0])
    with pytest.raises(LoadError, match=r"sales\.customer\.csv: line 3: missing data"):
        load_directory(source_db, folder, **QUIET)
    _assert_empty(source_db)
    _edit_line(path, 3, lambda line: line + ",2020-01-01 00:00:00,extra")
    with pytest.raises(LoadError, match=r"line 3: extra data"):
        load_directory(source_db, folder, **QUIET)
    _assert_empty(source_db)


def test_unknown_and_missing_columns(source_db, folder):
    path = folder / "person.address.csv"
    _edit_line(path, 1, lambda line: line.replace("postalcode", "zipcode"))
    with pytest.raises(LoadError) as err:
        load_directory(source_db, folder, **QUIET)
    assert "person.address.csv: line 1 (header)" in str(err.value)
    assert "unknown column(s) zipcode" in str(err.value)
    assert "missing column(s) postalcode" in str(err.value)
    _assert_empty(source_db)


def test_reference_to_a_missing_row(source_db, folder):
    path = folder / "sales.salesorderdetail.csv"
    _edit_line(
        path,
        2,
        lambda line: ",".join("99999" if i == 4 else v for i, v in enumerate(line.split(","))),
    )
    with pytest.raises(LoadError, match=r"salesorderdetail\.csv: .*\(productid\)=\(99999\)"):
        load_directory(source_db, folder, **QUIET)
    _assert_empty(source_db)


def test_refuses_a_loaded_database_and_replace_keeps_it_on_failure(source_db, folder):
    seed_database(source_db, scale=0.005, seed=3, today=TODAY, **QUIET)
    before = checksums(source_db)
    with pytest.raises(SourceError, match="--replace"):
        load_directory(source_db, folder, **QUIET)
    bad = folder / "production.product.csv"
    _edit_line(bad, 2, lambda line: "x" + line)
    with pytest.raises(LoadError, match=r"production\.product\.csv: line 2"):
        load_directory(source_db, folder, replace=True, **QUIET)
    assert checksums(source_db) == before
    _edit_line(bad, 2, lambda line: line[1:])
    load_directory(source_db, folder, replace=True, **QUIET)
    assert checksums(source_db) != before


def test_invalid_utf8_in_a_data_row_names_its_line(source_db, folder):
    path = folder / "person.address.csv"
    lines = path.read_bytes().split(b"\n")
    lines[6] = lines[6].replace(b",", b",\xff\xfe", 1)  # line 7: a Latin-1 byte, not UTF-8
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(LoadError) as err:
        load_directory(source_db, folder, **QUIET)
    message = str(err.value)
    assert "person.address.csv: line 7" in message and "UTF8" in message
    assert "header" not in message and "unchanged" in message
    _assert_empty(source_db)


def test_invalid_utf8_in_the_header_is_reported_on_line_1(source_db, folder):
    path = folder / "sales.store.csv"
    path.write_bytes(path.read_bytes().replace(b"name", b"n\xe4me", 1))
    with pytest.raises(LoadError, match=r"sales\.store\.csv: line 1: the header is not UTF-8"):
        load_directory(source_db, folder, **QUIET)
    _assert_empty(source_db)
