"""The Airbyte settings, read through :func:`adw_assets.settings.get_settings`.

Secrets (``ADW_AIRBYTE_CLIENT_SECRET``, ``ADW_AIRBYTE_PASSWORD``) are never copied into this
object: the Dagster resource reads them through ``dagster.EnvVar`` at run time, and the CLI
asks :meth:`AirbyteConfig.secret` when it calls the API itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adw_assets.errors import ConfigError
from adw_assets.settings import Settings, get_settings

DEFAULT_URL = "http://localhost:8000"
"""Where ``abctl local install`` serves Airbyte (self-managed)."""

CLIENT_SECRET_VAR = "ADW_AIRBYTE_CLIENT_SECRET"
PASSWORD_VAR = "ADW_AIRBYTE_PASSWORD"

_API_SUFFIXES = ("/api/public/v1", "/api/v1", "/api")


def packaged_specs_path() -> Path:
    """The committed cache of the connection's stream specs, shipped in the package."""
    import adw_assets

    return Path(adw_assets.__file__).parent / "defs" / "replication" / "airbyte_specs.json"


@dataclass(frozen=True)
class AirbyteConfig:
    url: str
    workspace_id: str | None
    connection_id: str | None
    client_id: str | None
    username: str | None
    cloud: bool
    poll_interval: float
    poll_timeout: float | None
    request_timeout: int
    specs_path: Path
    _settings: Settings

    @property
    def rest_api_base_url(self) -> str:
        """Airbyte's public REST API (self-managed: ``<host>/api/public/v1``)."""
        if self.cloud:
            from dagster_airbyte.resources import AIRBYTE_CLOUD_REST_API_BASE_URL

            return AIRBYTE_CLOUD_REST_API_BASE_URL
        return f"{self.url}/api/public/v1"

    @property
    def configuration_api_base_url(self) -> str:
        """Airbyte's configuration API (self-managed: ``<host>/api/v1``)."""
        if self.cloud:
            from dagster_airbyte.resources import AIRBYTE_CLOUD_CONFIGURATION_API_BASE_URL

            return AIRBYTE_CLOUD_CONFIGURATION_API_BASE_URL
        return f"{self.url}/api/v1"

    @property
    def auth(self) -> str:
        """``client_credentials`` (bearer token), ``basic`` or ``none``."""
        if self.client_id:
            return "client_credentials"
        if self.username:
            return "basic"
        return "none"

    def secret(self, name: str) -> str | None:
        return self._settings.get(name) or None

    def missing(self) -> list[str]:
        """The variables a sync or a spec refresh needs that are not set."""
        missing = []
        if not self.cloud and not self._settings.get("ADW_AIRBYTE_URL"):
            missing.append("ADW_AIRBYTE_URL")
        if not self.workspace_id:
            missing.append("ADW_AIRBYTE_WORKSPACE_ID")
        if not self.connection_id:
            missing.append("ADW_AIRBYTE_CONNECTION_ID")
        if self.cloud and not self.client_id:
            missing.append("ADW_AIRBYTE_CLIENT_ID")
        if self.client_id and not self.secret(CLIENT_SECRET_VAR):
            missing.append(CLIENT_SECRET_VAR)
        if self.username and not self.secret(PASSWORD_VAR):
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


def _bool(settings: Settings, name: str, default: bool) -> bool:
    raw = (settings.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not true or false.")


def _float(settings: Settings, name: str, default: float | None) -> float | None:
    raw = (settings.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds.") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw} must be above 0 seconds.")
    return value


def normalize_url(url: str) -> str:
    """``http://host:8000/api/public/v1/`` -> ``http://host:8000``: the Airbyte host only."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"ADW_AIRBYTE_URL={url!r} is not an http(s) URL; set it to the Airbyte host, "
            f"e.g. {DEFAULT_URL}."
        )
    for suffix in _API_SUFFIXES:
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


def airbyte_config(settings: Settings | None = None) -> AirbyteConfig:
    settings = settings or get_settings()
    specs = settings.get("ADW_AIRBYTE_SPECS")
    return AirbyteConfig(
        url=normalize_url(settings.get("ADW_AIRBYTE_URL") or DEFAULT_URL),
        workspace_id=settings.get("ADW_AIRBYTE_WORKSPACE_ID") or None,
        connection_id=settings.get("ADW_AIRBYTE_CONNECTION_ID") or None,
        client_id=settings.get("ADW_AIRBYTE_CLIENT_ID") or None,
        username=settings.get("ADW_AIRBYTE_USERNAME") or None,
        cloud=_bool(settings, "ADW_AIRBYTE_CLOUD", False),
        poll_interval=_float(settings, "ADW_AIRBYTE_POLL_INTERVAL", 10.0),
        poll_timeout=_float(settings, "ADW_AIRBYTE_POLL_TIMEOUT", None),
        request_timeout=int(_float(settings, "ADW_AIRBYTE_REQUEST_TIMEOUT", 15.0)),
        specs_path=Path(specs).expanduser().resolve() if specs else packaged_specs_path(),
        _settings=settings,
    )
