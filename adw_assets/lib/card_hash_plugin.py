"""The dbt-duckdb plugin that hands the card-hash salt to DuckDB, never to dbt.

``dbt/profiles.yml`` names this module in the ``local`` output's ``plugins``. dbt-duckdb calls
:meth:`Plugin.configure_connection` on its connection and :meth:`Plugin.configure_cursor` on
each thread's cursor: both bind the salt (``ADW_CARD_HASH_SALT``; unset, the development salt
on the embedded local default, else :func:`adw_assets.lib.dbt.card_hash_salt` refuses to run)
into the session variable
``adw_card_hash_salt`` as a query parameter. The models read it with
``getvariable('adw_card_hash_salt')`` (``dbt/macros/card_hash.sql``), so the compiled SQL,
dbt's logs, manifest and run results, and the warehouse file never hold the salt. Outside a
dbt connection the variable is unset: a staging view read elsewhere shows a null hash.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

SALT_VARIABLE = "adw_card_hash_salt"


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._salt: str | None = None

    def _set(self, conn) -> None:
        if self._salt is None:  # on first use, not at parse time: `dbt parse` needs no salt
            from adw_assets.lib.dbt import card_hash_salt
            from adw_assets.settings import get_settings

            settings = get_settings()  # adw's dbt_env passes the salt it decided
            secret = settings.card_hash_salt
            self._salt = secret.get_secret_value() if secret else card_hash_salt(settings)
        conn.execute(f"set variable {SALT_VARIABLE} = ?", [self._salt])

    def configure_connection(self, conn) -> None:
        self._set(conn)

    def configure_cursor(self, cursor) -> None:
        self._set(cursor)
