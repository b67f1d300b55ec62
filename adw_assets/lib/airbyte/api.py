"""Calls to the Airbyte API outside a Dagster run (the ``adw airbyte`` commands), through
dagster-airbyte's ``AirbyteClient`` so auth, retries and URLs are the ones the assets use."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dagster import Failure
from dagster_airbyte.resources import AirbyteClient

from adw_assets.errors import AdwError
from adw_assets.lib.airbyte.cache import make_snapshot
from adw_assets.lib.airbyte.config import AirbyteConfig


class AirbyteError(AdwError):
    """Airbyte is unreachable, refused a request, or a sync job failed."""

    def __init__(
        self, message: str, *, job_id: int | None = None, failures: list[str] | None = None
    ):
        super().__init__(message)
        self.job_id = job_id
        self.failures = failures or []


def make_client(cfg: AirbyteConfig, *, max_retries: int = 1) -> AirbyteClient:
    """A client for the configured Airbyte (``cfg.require()`` first)."""
    auth: dict[str, Any] = {}
    if cfg.auth == "client_credentials" and cfg.client_secret:
        auth = {"client_id": cfg.client_id, "client_secret": cfg.client_secret.get_secret_value()}
    elif cfg.auth == "basic" and cfg.password:
        auth = {"username": cfg.username, "password": cfg.password.get_secret_value()}
    return AirbyteClient(
        rest_api_base_url=cfg.rest_api_base_url,
        configuration_api_base_url=cfg.configuration_api_base_url,
        workspace_id=cfg.workspace_id,
        request_max_retries=max_retries,
        request_retry_delay=0.5,
        request_timeout=cfg.request_timeout,
        poll_interval=cfg.poll_interval,
        poll_timeout=cfg.poll_timeout,
        **auth,
    )


def unreachable(client: AirbyteClient, what: str, exc: Failure) -> AirbyteError:
    return AirbyteError(
        f"Airbyte did not answer when adw asked for {what} at {client.rest_api_base_url}: "
        f"{exc.description} The log above has the HTTP error. Check that Airbyte runs, "
        "ADW_AIRBYTE_URL (or ADW_AIRBYTE_CLOUD), ADW_AIRBYTE_WORKSPACE_ID and the credentials "
        "(ADW_AIRBYTE_CLIENT_ID / ADW_AIRBYTE_CLIENT_SECRET, or ADW_AIRBYTE_USERNAME / "
        "ADW_AIRBYTE_PASSWORD)."
    )


def config_api(client: AirbyteClient, path: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
    """``POST`` to Airbyte's configuration API with the client's auth and retries."""
    # _single_request is dagster-airbyte's one request helper (token refresh, retries); the
    # client has no public method for the configuration-API endpoints other than connections.
    return client._single_request(
        method="POST", url=f"{client.configuration_api_base_url}{path}", data=dict(body)
    )


def fetch_snapshot(client: AirbyteClient, connection_id: str) -> dict[str, Any]:
    """The connection and its destination, as the spec cache keeps them.

    Calls ``GET /workspaces/{id}``, ``GET /connections`` (the connection must be in the
    workspace), ``POST /connections/get`` (configuration API) and ``GET /destinations/{id}``.
    """
    try:
        client.validate_workspace_id()
    except Failure as exc:
        raise unreachable(client, f"workspace {client.workspace_id}", exc) from exc
    try:
        listed = client.get_connections()
        if connection_id not in {c.get("connectionId") for c in listed}:
            known = ", ".join(f"{c.get('name')} ({c.get('connectionId')})" for c in listed)
            raise AirbyteError(
                f"connection {connection_id} is not in Airbyte workspace {client.workspace_id}; "
                f"set ADW_AIRBYTE_CONNECTION_ID to one of: {known or 'none (create it first)'}."
            )
        details = client.get_connection_details(connection_id)
        destination = client.get_destination_details(details["destinationId"])
    except Failure as exc:
        raise unreachable(client, f"connection {connection_id}", exc) from exc
    return make_snapshot(
        details,
        destination,
        refreshed_from=client.rest_api_base_url,
        refreshed_at=datetime.now(UTC),
    )


def recent_jobs(client: AirbyteClient, connection_id: str, limit: int = 5) -> list[Mapping]:
    """The connection's latest jobs (public API ``GET /jobs``), newest first."""
    try:
        response = client._single_request(
            method="GET",
            url=f"{client.rest_api_base_url}/jobs",
            params={"connectionId": connection_id, "limit": limit, "orderBy": "createdAt|DESC"},
        )
    except Failure as exc:
        raise unreachable(client, f"the jobs of connection {connection_id}", exc) from exc
    return list(response.get("data") or [])
