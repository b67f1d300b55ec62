"""The Airbyte settings (``ADW_AIRBYTE_*``, declared in :mod:`adw_assets.settings`) as one
object, with the API roots, the auth mode and what a sync still needs.

The secrets (``ADW_AIRBYTE_CLIENT_SECRET``, ``ADW_AIRBYTE_PASSWORD``) stay ``SecretStr``: the
Dagster resource reads them through ``dagster.EnvVar`` at run time, and the CLI unwraps them
only when it calls the API itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from adw_assets.errors import ConfigError
from adw_assets.settings import AIRBYTE_DEFAULT_URL as DEFAULT_URL
from adw_assets.settings import Settings, get_settings

CLIENT_SECRET_VAR = "ADW_AIRBYTE_CLIENT_SECRET"
PASSWORD_VAR = "ADW_AIRBYTE_PASSWORD"


def packaged_specs_path() -> Path:
    """The committed cache of the connection's stream specs, shipped in the package."""
    import adw_assets

    return Path(adw_assets.__file__).parent / "defs" / "replication" / "airbyte_specs.json"


@dataclass(frozen=True)
class AirbyteConfig:
    url: str
    url_set: bool
    """``ADW_AIRBYTE_URL`` is set (``url`` is otherwise the default)."""
    workspace_id: str | None
    connection_id: str | None
    client_id: str | None
    client_secret: SecretStr | None
    username: str | None
    password: SecretStr | None
    cloud: bool
    poll_interval: float
    poll_timeout: float | None
    request_timeout: int
    specs_path: Path

    @property
    def rest_api_base_url(self) -> str:
        """Airbyte's public REST API (self-managed: ``<host>/api/public/v1``)."""
        if self.cloud:
            from dagster_airbyte import AirbyteCloudWorkspace

            return AirbyteCloudWorkspace.rest_api_base_url
        return f"{self.url}/api/public/v1"

    @property
    def configuration_api_base_url(self) -> str:
        """Airbyte's configuration API (self-managed: ``<host>/api/v1``)."""
        if self.cloud:
            from dagster_airbyte import AirbyteCloudWorkspace

            return AirbyteCloudWorkspace.configuration_api_base_url
        return f"{self.url}/api/v1"

    @property
    def auth(self) -> str:
        """``client_credentials`` (bearer token), ``basic`` or ``none``."""
        if self.client_id:
            return "client_credentials"
        if self.username:
            return "basic"
        return "none"

    def missing(self) -> list[str]:
        """The variables a sync or a spec refresh needs that are not set."""
        missing = []
        if not self.cloud and not self.url_set:
            missing.append("ADW_AIRBYTE_URL")
        if not self.workspace_id:
            missing.append("ADW_AIRBYTE_WORKSPACE_ID")
        if not self.connection_id:
            missing.append("ADW_AIRBYTE_CONNECTION_ID")
        if self.cloud and not self.client_id:
            missing.append("ADW_AIRBYTE_CLIENT_ID")
        if self.client_id and not self.client_secret:
            missing.append(CLIENT_SECRET_VAR)
        if self.username and not self.password:
            missing.append(PASSWORD_VAR)
        return missing

    def require(self) -> None:
        """Raise :class:`ConfigError` naming every missing variable."""
        missing = self.missing()
        if missing:
            raise ConfigError(
                "Airbyte is not configured: set "
                + ", ".join(missing)
                + " (see docs/airbyte.md). ADW_AIRBYTE_URL is the Airbyte host, e.g. "
                f"{DEFAULT_URL}; the workspace and connection ids are in the Airbyte UI's URL."
            )


def airbyte_config(settings: Settings | None = None) -> AirbyteConfig:
    """The ``ADW_AIRBYTE_*`` settings (``settings.airbyte_<key>`` is ``<key>`` here)."""
    values = (settings or get_settings()).group("airbyte_")
    url, specs = values.pop("url"), values.pop("specs")
    return AirbyteConfig(
        **values,
        url=url or DEFAULT_URL,
        url_set=url is not None,
        specs_path=specs or packaged_specs_path(),
    )
