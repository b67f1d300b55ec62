"""The source PostgreSQL as a resource: the DSN of the read-only replication role.

The DSN is resolved at run time from the settings (``ADW_REPLICATION_DSN``, else
``ADW_SOURCE_DSN``, else the embedded server, started when needed), so it never appears in run
config or in the definitions.
"""

from __future__ import annotations

import dagster as dg

from adw_assets.lib.source.server import replication_dsn
from adw_assets.settings import get_settings

RESOURCE_KEY = "source"


class SourceResource(dg.ConfigurableResource):
    """The AdventureWorks source database."""

    def replication_dsn(self) -> str:
        """DSN of the read-only role replication and the checks connect as."""
        return replication_dsn(get_settings())
