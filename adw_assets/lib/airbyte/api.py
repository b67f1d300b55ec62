"""Airbyte through dagster-airbyte's public API: its workspace resources, the client they give
(auth, URLs, timeouts and the requests the assets use), and the few calls that client has no
method for, made with its public auth headers and adw's retry policy."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import requests
from dagster_airbyte import AirbyteCloudWorkspace, AirbyteWorkspace
from pydantic import SecretStr

from adw_assets.errors import AdwError
from adw_assets.lib.airbyte.cache import make_snapshot
from adw_assets.lib.airbyte.config import CLIENT_SECRET_VAR, PASSWORD_VAR, AirbyteConfig
from adw_assets.lib.retry import retrying

Client = Any
"""dagster-airbyte's ``AirbyteClient``, as ``workspace.get_client()`` returns it (the package
does not export the class)."""

log = dg.get_dagster_logger()


class AirbyteError(AdwError):
    """Airbyte is unreachable, refused a request, or a sync job failed."""

    def __init__(
        self, message: str, *, job_id: int | None = None, failures: list[str] | None = None
    ):
        super().__init__(message)
        self.job_id = job_id
        self.failures = failures or []


def airbyte_workspace(
    cfg: AirbyteConfig, *, secrets_in_env: bool = True, **options: Any
) -> AirbyteWorkspace | AirbyteCloudWorkspace:
    """dagster-airbyte's workspace resource (self-managed or Cloud) for the settings. Its
    secrets are ``dg.EnvVar`` (read when a run starts), or with ``secrets_in_env=False`` the
    values themselves (a CLI command calling Airbyte now)."""
    with warnings.catch_warnings():  # "class ... is in beta": nothing a user can do about it
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _workspace(cfg, secrets_in_env, options)


def _workspace(
    cfg: AirbyteConfig, secrets_in_env: bool, options: dict[str, Any]
) -> AirbyteWorkspace | AirbyteCloudWorkspace:

    def secret(var: str, value: SecretStr | None) -> Any:
        return dg.EnvVar(var) if secrets_in_env else (value and value.get_secret_value())

    options = {
        "workspace_id": cfg.workspace_id or "",
        "poll_interval": cfg.poll_interval,
        "poll_timeout": cfg.poll_timeout,
        "request_timeout": cfg.request_timeout,
        **options,
    }
    if cfg.cloud:
        client_secret = secret(CLIENT_SECRET_VAR, cfg.client_secret) or ""
        return AirbyteCloudWorkspace(
            client_id=cfg.client_id or "", client_secret=client_secret, **options
        )
    auth: dict[str, Any] = {}
    if cfg.auth == "client_credentials":
        client_secret = secret(CLIENT_SECRET_VAR, cfg.client_secret)
        auth = {"client_id": cfg.client_id, "client_secret": client_secret}
    elif cfg.auth == "basic":
        auth = {"username": cfg.username, "password": secret(PASSWORD_VAR, cfg.password)}
    return AirbyteWorkspace(
        rest_api_base_url=cfg.rest_api_base_url,
        configuration_api_base_url=cfg.configuration_api_base_url,
        **auth,
        **options,
    )


def make_client(cfg: AirbyteConfig, *, max_retries: int = 1) -> Client:
    """A client for the configured Airbyte (``cfg.require()`` first)."""
    workspace = airbyte_workspace(
        cfg, secrets_in_env=False, request_max_retries=max_retries, request_retry_delay=0.5
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return workspace.get_client()


def unreachable(client: Client, what: str, exc: dg.Failure) -> AirbyteError:
    return AirbyteError(
        f"Airbyte did not answer when adw asked for {what} at {client.rest_api_base_url}: "
        f"{exc.description} The log above has the HTTP error. Check that Airbyte runs, "
        "ADW_AIRBYTE_URL (or ADW_AIRBYTE_CLOUD), ADW_AIRBYTE_WORKSPACE_ID and the credentials "
        "(ADW_AIRBYTE_CLIENT_ID / ADW_AIRBYTE_CLIENT_SECRET, or ADW_AIRBYTE_USERNAME / "
        "ADW_AIRBYTE_PASSWORD)."
    )


def request(
    client: Client,
    method: str,
    url: str,
    *,
    data: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Mapping[str, Any]:
    """An Airbyte endpoint the client has no method for, with the client's auth (its public
    headers: the bearer token it refreshes, or basic auth), timeout and retry count. A request
    that keeps failing is logged and raised as dagster-airbyte's own requests are: ``Failure``.
    """
    headers = {"accept": "application/json", **client.all_additional_request_headers}
    basic = (client.username, client.password) if client.username and client.password else None

    def once() -> Mapping[str, Any]:
        response = requests.request(
            method, url, json=data, params=params, headers=headers, auth=basic,
            timeout=client.request_timeout,
        )  # fmt: skip
        response.raise_for_status()
        return response.json()

    def logged(exc: BaseException) -> None:
        log.error(f"Request to Airbyte API failed for url {url} with method {method} : {exc}")

    policy = retrying(
        requests.RequestException,
        first_wait=client.request_retry_delay,
        attempts=client.request_max_retries + 1,
        before_sleep=lambda state: logged(state.outcome.exception()),
    )
    try:
        return policy(once)
    except requests.RequestException as exc:
        logged(exc)
        raise dg.Failure(
            f"Max retries ({client.request_max_retries}) exceeded with url: {url}."
        ) from exc


def config_api(client: Client, path: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
    """``POST`` to Airbyte's configuration API (``/jobs/get``, ``/state/get``, ...)."""
    return request(client, "POST", f"{client.configuration_api_base_url}{path}", data=body)


def fetch_snapshot(client: Client, connection_id: str) -> dict[str, Any]:
    """The connection and its destination, as the spec cache keeps them.

    Calls ``GET /workspaces/{id}``, ``GET /connections`` (the connection must be in the
    workspace), ``POST /connections/get`` (configuration API) and ``GET /destinations/{id}``.
    """
    try:
        client.validate_workspace_id()
    except dg.Failure as exc:
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
    except dg.Failure as exc:
        raise unreachable(client, f"connection {connection_id}", exc) from exc
    return make_snapshot(
        details,
        destination,
        refreshed_from=client.rest_api_base_url,
        refreshed_at=datetime.now(UTC),
    )


def recent_jobs(client: Client, connection_id: str, limit: int = 5) -> list[Mapping]:
    """The connection's latest jobs (public API ``GET /jobs``), newest first."""
    try:
        response = request(
            client,
            "GET",
            f"{client.rest_api_base_url}/jobs",
            params={"connectionId": connection_id, "limit": limit, "orderBy": "createdAt|DESC"},
        )
    except dg.Failure as exc:
        raise unreachable(client, f"the jobs of connection {connection_id}", exc) from exc
    return list(response.get("data") or [])
