"""The compose profile `kestra`: the Kestra server that runs kestra_flows/ against the stack.

Kestra's image is not served by any registry reachable here, so the service is checked without
running it: its wiring at the YAML level, its secret-encoding command run by a real shell, and
the whole file by `docker compose config` / `podman compose config` where such a tool exists.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest

from tests.containers.test_config import ROOT, SERVICES, VARIABLE, env_example

KESTRA = SERVICES["kestra"]
FLOWS = sorted((ROOT / "kestra_flows").glob("*.yml"))


def flow_secrets() -> set[str]:
    return {name for p in FLOWS for name in re.findall(r"secret\('([A-Z0-9_]+)'\)", p.read_text())}


def service_env() -> dict[str, str]:
    """The kestra service's environment with compose's ${VAR:-default} resolved from
    .env.example."""
    documented = env_example()

    def resolve(value: str) -> str:
        return VARIABLE.sub(lambda m: documented.get(m.group(1)) or m.group(3) or "", value)

    return {k: resolve(str(v)) for k, v in KESTRA["environment"].items()}


def test_kestra_is_optional_pinned_and_waits_for_the_dagster_webserver():
    assert KESTRA["profiles"] == ["kestra"]  # `docker compose up` alone does not start it
    image = VARIABLE.fullmatch(KESTRA["image"])
    assert image and re.fullmatch(r"kestra/kestra:v\d+\.\d+\.\d+", image.group(3)), image
    assert env_example()[image.group(1)] == image.group(3)
    assert KESTRA["depends_on"] == {"webserver": {"condition": "service_healthy"}}


def test_kestra_loads_the_flows_and_reaches_the_stack_webserver():
    script = KESTRA["command"][0]
    mount = next(v for v in KESTRA["volumes"] if v.startswith("./kestra_flows:"))
    target = mount.split(":")[1]
    assert f"exec /app/kestra server local --flow-path {target}" in script
    url = service_env()["ADW_DAGSTER_GRAPHQL_URL"]
    m = re.fullmatch(r"http://([a-z-]+):(\d+)/graphql", url)
    assert m and m.group(1) == "webserver" and m.group(1) in SERVICES, url
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert f'WEB_PORT="${{DAGSTER_WEBSERVER_PORT:-{m.group(2)}}}"' in entrypoint


def test_kestra_gets_every_secret_the_flows_read_base64_encoded(tmp_path):
    """Run the service's command (compose's $$ unescaped, Kestra's exec replaced by `env`) in
    a real shell: Kestra OSS reads secret('X') from SECRET_X, the base64 of the value."""
    script = KESTRA["command"][0].replace("$$", "$")
    script = re.sub(r"exec /app/kestra .*", "env", script)
    env = service_env()
    done = subprocess.run(
        ["sh", "-c", script], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    secrets = dict(
        line.removeprefix("SECRET_").split("=", 1)
        for line in done.stdout.splitlines()
        if line.startswith("SECRET_")
    )
    assert flow_secrets() and flow_secrets() <= set(secrets), flow_secrets() - set(secrets)
    for name in flow_secrets():
        assert base64.b64decode(secrets[name]).decode() == env[name], name
        assert env[name], f"{name} is empty: Kestra would not find the secret"


def _compose_cli() -> list[str] | None:
    for cli in (
        ["docker", "compose"],
        ["podman", "compose"],
        ["docker-compose"],
        ["podman-compose"],
    ):
        if shutil.which(cli[0]):
            probe = subprocess.run([*cli, "version"], capture_output=True, text=True)
            if probe.returncode == 0:
                return cli
    return None


def test_compose_config_with_the_kestra_profile_is_valid():
    cli = _compose_cli()
    if cli is None:
        pytest.skip(
            "no compose tool here (docker compose, podman compose, docker-compose, "
            "podman-compose): install one to validate compose.yaml"
        )
    done = subprocess.run(
        [
            *cli,
            "--env-file",
            str(ROOT / ".env.example"),
            "-f",
            str(ROOT / "compose.yaml"),
            "--profile",
            "kestra",
            "config",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "kestra/kestra:" in done.stdout and "SECRET_ADW_DAGSTER_TOKEN" in done.stdout
