"""Airbyte settings: URLs, auth mode, what is missing, bad values."""

from __future__ import annotations

import pytest

from adw_assets.errors import ConfigError
from adw_assets.lib.airbyte.config import airbyte_config
from adw_assets.settings import get_settings


def _config(monkeypatch, **env: str):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return airbyte_config()


@pytest.mark.parametrize(
    "url",
    [
        "http://airbyte.internal:8000",
        "http://airbyte.internal:8000/",
        "http://airbyte.internal:8000/api/public/v1",
        "http://airbyte.internal:8000/api/v1/",
        "http://airbyte.internal:8000/api",
    ],
)
def test_any_airbyte_url_form_gives_both_api_roots(monkeypatch, url):
    cfg = _config(monkeypatch, ADW_AIRBYTE_URL=url)

    assert cfg.rest_api_base_url == "http://airbyte.internal:8000/api/public/v1"
    assert cfg.configuration_api_base_url == "http://airbyte.internal:8000/api/v1"


def test_cloud_uses_airbytes_own_urls(monkeypatch):
    cfg = _config(monkeypatch, ADW_AIRBYTE_CLOUD="yes", ADW_AIRBYTE_URL="http://ignored:1")

    assert cfg.rest_api_base_url == "https://api.airbyte.com/v1"
    assert cfg.configuration_api_base_url == "https://cloud.airbyte.com/api/v1"


def test_nothing_set_names_every_missing_variable(monkeypatch):
    cfg = _config(monkeypatch)

    assert cfg.missing() == [
        "ADW_AIRBYTE_URL",
        "ADW_AIRBYTE_WORKSPACE_ID",
        "ADW_AIRBYTE_CONNECTION_ID",
    ]
    with pytest.raises(ConfigError, match="ADW_AIRBYTE_URL, ADW_AIRBYTE_WORKSPACE_ID"):
        cfg.require()


def test_client_id_without_secret_is_missing_the_secret(monkeypatch):
    cfg = _config(
        monkeypatch,
        ADW_AIRBYTE_URL="http://localhost:8000",
        ADW_AIRBYTE_WORKSPACE_ID="w",
        ADW_AIRBYTE_CONNECTION_ID="c",
        ADW_AIRBYTE_CLIENT_ID="id",
    )

    assert cfg.auth == "client_credentials"
    assert cfg.missing() == ["ADW_AIRBYTE_CLIENT_SECRET"]


def test_basic_auth_and_no_auth(monkeypatch):
    assert _config(monkeypatch).auth == "none"
    cfg = _config(monkeypatch, ADW_AIRBYTE_USERNAME="airbyte", ADW_AIRBYTE_PASSWORD="pw")
    assert cfg.auth == "basic"
    assert cfg.password.get_secret_value() == "pw"
    assert "pw" not in repr(cfg)


def test_cloud_needs_client_credentials(monkeypatch):
    cfg = _config(
        monkeypatch,
        ADW_AIRBYTE_CLOUD="true",
        ADW_AIRBYTE_WORKSPACE_ID="w",
        ADW_AIRBYTE_CONNECTION_ID="c",
    )

    assert cfg.missing() == ["ADW_AIRBYTE_CLIENT_ID"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ADW_AIRBYTE_CLOUD", "maybe", "not true or false"),
        ("ADW_AIRBYTE_POLL_INTERVAL", "soon", "not a number"),
        ("ADW_AIRBYTE_POLL_TIMEOUT", "0", "must be above 0"),
        ("ADW_AIRBYTE_URL", "airbyte:8000", "not an http"),
    ],
)
def test_bad_values_say_which_variable(monkeypatch, name, value, message):
    with pytest.raises(ConfigError, match=f"{name}.*{message}"):
        _config(monkeypatch, **{name: value})


def test_an_api_url_keeps_its_path_prefix(monkeypatch):
    cfg = _config(monkeypatch, ADW_AIRBYTE_URL="https://example.com/airbyte/api/v1")
    assert cfg.url == "https://example.com/airbyte"
