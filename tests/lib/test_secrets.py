"""adw_assets.lib.secrets: one redaction for every DSN form and every secret setting."""

from __future__ import annotations

import io
import sys

import psycopg
import pytest

from adw_assets.errors import AdwError
from adw_assets.lib import secrets
from adw_assets.settings import get_settings, is_secret, variables


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://u:S3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u:S3%40cr%65t@h/db", "postgresql://u:***@h/db"),  # percent-encoded
        ("postgresql://u@h/db?password=S3cret&sslmode=disable",
         "postgresql://u@h/db?password=***&sslmode=disable"),
        ("host=h port=5 password=S3cret user=u", "host=h port=5 password=*** user=u"),
        ("host=h password='S3 cret' user=u", "host=h password='***' user=u"),
        ("host=h password='it\\'s secret'", "host=h password='***'"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("host=h password=S3cret junk", secrets.UNPARSABLE_DSN),
    ],
)  # fmt: skip
def test_redact_dsn_masks_the_password_in_every_libpq_form(dsn, shown):
    assert secrets.redact_dsn(dsn) == shown


def test_every_secret_setting_is_masked_in_any_text(monkeypatch):
    values = {
        "ADW_SOURCE_DSN": "host=h password='pw one' user=u",
        "ADW_REPLICATION_DSN": "postgresql://r:pw%2Ftwo@h/db",
        "ADW_CARD_HASH_SALT": "salt-three",
        "ADW_DAGSTER_TOKEN": "token-four",
        "ADW_AIRBYTE_CLIENT_SECRET": "client-five",
        "ADW_AIRBYTE_PASSWORD": "airbyte-six",
        "ADW_AIRBYTE_URL": "http://ab:url-seven@airbyte:8000",
        "ADW_OMNI_API_KEY": "omni-nine",
        "ADW_REPLICATION_CDC_DSN": "postgresql://adw_cdc:cdc-eight@h/db",
    }
    # the declarations decide what is secret: a new secret setting is covered here too
    declared = {name for name, field in variables().items() if is_secret(field)}
    assert declared <= set(values), f"give the test a value for {declared - set(values)}"
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PGPASSWORD", "pg-eight")
    get_settings.cache_clear()
    clean = ["pw one", "pw/two", "pw%2Ftwo", "salt-three", "token-four", "client-five",
             "airbyte-six", "url-seven", "pg-eight", "omni-nine"]  # fmt: skip
    text = " | ".join(clean) + " | " + repr(clean)
    masked = secrets.redact(text)
    assert not [c for c in clean if c in masked], masked
    assert masked.count(secrets.MASK) >= len(clean)
    # words around a secret stay: the message still says what happened
    assert secrets.redact("connect to host=h password='pw one' failed") == (
        "connect to host=h password='***' failed"
    )


def test_the_development_salt_is_not_a_secret(monkeypatch):
    monkeypatch.setenv("ADW_CARD_HASH_SALT", "adw-dev-salt-not-secret")
    get_settings.cache_clear()
    assert secrets.redact("adw-dev-salt-not-secret") == "adw-dev-salt-not-secret"


def test_invalid_settings_still_have_their_secrets_masked(monkeypatch):
    monkeypatch.setenv("ADW_SOURCE_DSN", "postgresql://u:hidden-pw@h/db")
    monkeypatch.setenv("ADW_REPLICATION_WORKERS", "many")  # makes the settings invalid
    get_settings.cache_clear()
    assert secrets.redact("x hidden-pw y") == "x *** y"


def test_redacted_errors_strip_the_secret_and_the_chain():
    dsn = "host=127.0.0.1 port=1 password=chain-secret junk"
    with pytest.raises(AdwError) as caught, secrets.redacted_errors(dsn):
        try:
            psycopg.connect(dsn)
        except psycopg.ProgrammingError as exc:
            raise RuntimeError(f"cannot open {dsn}") from exc
    assert "chain-secret" not in str(caught.value)
    assert "RuntimeError: cannot open" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    # an error without a secret passes unchanged, type and all
    with pytest.raises(KeyError), secrets.redacted_errors(dsn):
        raise KeyError("plain")


def test_redacting_output_masks_stdout_and_stderr(monkeypatch):
    monkeypatch.setenv("ADW_DAGSTER_TOKEN", "tok-123456")
    get_settings.cache_clear()
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    with secrets.redacting_output():
        print("token tok-123456")
        print("again tok-123456", file=sys.stderr)
    print("after tok-123456")  # restored: only the block is wrapped
    assert out.getvalue() == "token ***\nafter tok-123456\n"
    assert err.getvalue() == "again ***\n"
