"""The 12 AdventureWorks tables adw replicates, in foreign-key (load) order."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

SCHEMAS = ("person", "production", "sales")
CURSOR_FIELD = "modifieddate"
"""The column every replicated table is synced incrementally by (Airbyte's cursor field)."""


@dataclass(frozen=True)
class SourceTable:
    schema: str
    name: str
    primary_key: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


TABLES: tuple[SourceTable, ...] = (
    SourceTable("person", "countryregion", ("countryregioncode",)),
    SourceTable("person", "stateprovince", ("stateprovinceid",)),
    SourceTable("person", "address", ("addressid",)),
    SourceTable("person", "person", ("businessentityid",)),
    SourceTable("production", "productcategory", ("productcategoryid",)),
    SourceTable("production", "productsubcategory", ("productsubcategoryid",)),
    SourceTable("production", "product", ("productid",)),
    SourceTable("sales", "creditcard", ("creditcardid",)),
    SourceTable("sales", "store", ("businessentityid",)),
    SourceTable("sales", "customer", ("customerid",)),
    SourceTable("sales", "salesorderheader", ("salesorderid",)),
    SourceTable("sales", "salesorderdetail", ("salesorderid", "salesorderdetailid")),
)

TABLES_BY_NAME = {t.qualified: t for t in TABLES}


def ddl() -> str:
    """The DDL that creates the three schemas and 12 tables (see ddl.sql)."""
    return resources.files("adw_assets.lib.source").joinpath("ddl.sql").read_text()


def table(qualified: str) -> SourceTable:
    try:
        return TABLES_BY_NAME[qualified]
    except KeyError:
        known = ", ".join(TABLES_BY_NAME)
        raise KeyError(f"unknown source table {qualified!r}; known tables: {known}") from None
