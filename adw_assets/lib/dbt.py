"""The dbt project beside the package: where it is, the environment dbt runs with, the manifest.

Plain Python (no Dagster). ``dbt_env`` turns :func:`adw_assets.settings.get_settings` into the
variables ``dbt/profiles.yml`` and the models read; ``ensure_manifest`` runs ``dbt parse`` when
``dbt/target/manifest.json`` is missing or older than the project files (so importing the
Dagster definitions works everywhere: tests, ``adw``, CI, ``dagster definitions validate``);
``run_dbt`` runs a dbt command with that environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from adw_assets.errors import AdwError, ConfigError
from adw_assets.lib import paths
from adw_assets.lib.private import private_tree
from adw_assets.settings import Settings, get_settings

DBT_PROJECT_DIR = paths.DBT_PROJECT_DIR
MANIFEST_FINGERPRINT = "adw_manifest_fingerprint.json"
DEV_CARD_HASH_SALT = "adw-dev-salt-not-secret"
"""Salt of the card-number (and IP address) hash when ``ADW_CARD_HASH_SALT`` is unset, on the
embedded local default only (:func:`card_hash_salt`). Public: hashes made with it are only
pseudonymous."""
CARD_HASH_SALT_HELP = (
    "set a secret one, e.g. export ADW_CARD_HASH_SALT=$(openssl rand -hex 32), kept in your "
    "secret store (every card and IP hash changes with it)"
)
SECRETS_DATASET = "secrets"
"""BigQuery: the salt's dataset is ``<ADW_BQ_DATASET_PREFIX>secrets`` (table ``card_hash_salt``,
one row); grant it to the identity dbt runs as only."""


class DbtError(AdwError):
    """A dbt command failed."""


def project_dir() -> Path:
    if not (DBT_PROJECT_DIR / "dbt_project.yml").exists():
        raise ConfigError(
            f"the dbt project is not at {DBT_PROJECT_DIR}; in a checkout keep dbt/ beside "
            "adw_assets/ (pip install -e .), else reinstall adw (pip install adw-*.whl)."
        )
    return DBT_PROJECT_DIR


def bin_dir() -> Path:
    """The directory of this interpreter's scripts (the venv's ``bin``), where ``dbt`` lives."""
    return Path(sys.executable).parent


def dbt_executable(settings: Settings | None = None) -> str:
    """``ADW_DBT_EXECUTABLE``, else the ``dbt`` of this venv, else the one on PATH."""
    chosen = (settings or get_settings()).dbt_executable
    if chosen is not None:
        if not chosen.is_file():
            raise ConfigError(
                f"ADW_DBT_EXECUTABLE={str(chosen)!r} is not a file; point it at a dbt command, "
                "or unset it to use the dbt installed with adw."
            )
        return str(chosen)
    local = bin_dir() / "dbt"
    if local.exists():
        return str(local)
    found = shutil.which("dbt")
    if not found:
        raise ConfigError("dbt is not installed in this environment; run pip install -e '.[dev]'.")
    return found


def dagster_dbt_executable(settings: Settings | None = None) -> str:
    """The dbt command of the Dagster definitions: ``ADW_DBT_EXECUTABLE`` when set, else
    ``adw-dbt`` beside this interpreter (``lib/dbt_launcher.py``: the same dbt, without the
    2-4 s dagster-dbt's ``dbt --version`` costs on every run), else :func:`dbt_executable`."""
    s = settings or get_settings()
    launcher = bin_dir() / "adw-dbt"
    if s.dbt_executable is None and launcher.exists() and (bin_dir() / "dbt").exists():
        return str(launcher)
    return dbt_executable(s)


def dbt_env(settings: Settings | None = None) -> dict[str, str]:
    """The variables ``dbt/profiles.yml`` and the models read (on top of the current
    environment), from the adw settings; the optional ones only when set."""
    s = settings or get_settings()
    try:
        salt = card_hash_salt(s)
    except ConfigError:  # dbt refuses to run then, with the same message
        salt = ""
    optional = {
        "ADW_DBT_LOOKBACK_MINUTES": s.dbt_lookback_minutes,
        "ADW_BQ_PROJECT": s.bq_project,
        "ADW_BQ_ENDPOINT": s.bq_endpoint,  # the emulator target
    }
    return {
        "ADW_DUCKDB_PATH": str(s.duckdb_path),
        "ADW_RAW_PREFIX": s.raw_prefix,
        "ADW_DBT_TARGET": s.dbt_target,
        # the salt adw decided (the dev one on the local default; "" when refused), for
        # lib/card_hash_plugin.py: dbt never sees it (on BigQuery: store_card_hash_salt)
        "ADW_CARD_HASH_SALT": salt,
        "ADW_EVENTS_DIR": str(s.events_dir),
        "ADW_EVENTS_LOOKBACK_HOURS": repr(s.events_lookback_hours),
        "ADW_BQ_DATASET_PREFIX": s.bq_dataset_prefix,
        "ADW_BQ_LOCATION": s.bq_location,
        "ADW_DBT_MEMORY_LIMIT": s.dbt_memory_limit,
        **{name: str(value) for name, value in optional.items() if value is not None},
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PATH": os.pathsep.join([str(bin_dir()), os.environ.get("PATH", "")]),
    }


def dev_salt_allowed(settings: Settings) -> bool:
    """The development salt is for the embedded local default only: the embedded source
    (``ADW_SOURCE_DSN`` unset; the compose stack sets it), the DuckDB warehouse, dbt target
    ``local``."""
    return settings.embedded and settings.warehouse == "duckdb" and settings.dbt_target == "local"


def card_hash_salt(settings: Settings | None = None) -> str:
    """The salt of the card-number and IP address hashes; raise :class:`ConfigError` (one
    line: what to set) when ``ADW_CARD_HASH_SALT`` is unset, or is the development salt,
    anywhere but the embedded local default."""
    s = settings or get_settings()
    salt = s.card_hash_salt.get_secret_value() if s.card_hash_salt else None
    if dev_salt_allowed(s):
        return salt or DEV_CARD_HASH_SALT
    if salt and salt != DEV_CARD_HASH_SALT:
        return salt
    where = (
        "with an external source (ADW_SOURCE_DSN)"
        if not s.embedded
        else f"on the {s.warehouse} warehouse, dbt target {s.dbt_target}"
    )
    what = "is the public development salt" if salt else "is not set"
    raise ConfigError(
        f"ADW_CARD_HASH_SALT {what}: {where} card numbers and IP addresses need a secret "
        f"salt; {CARD_HASH_SALT_HELP}."
    )


def store_card_hash_salt(settings: Settings | None = None) -> None:
    """Check the salt (:func:`card_hash_salt`) before dbt runs and hand it to dbt's SQL without
    dbt seeing it: on DuckDB the plugin of ``dbt/profiles.yml`` sets it in each connection; on
    BigQuery it is loaded into ``<prefix>secrets.card_hash_salt`` (a load job, no SQL text),
    which ``dbt/macros/card_hash.sql`` reads."""
    s = settings or get_settings()
    salt = card_hash_salt(s)
    if s.warehouse != "bigquery":
        return
    from google.cloud import bigquery

    from adw_assets.lib.warehouse import bigquery as bq

    client = bq.make_client(bq.bigquery_config(s))
    dataset = s.bq_dataset_prefix + SECRETS_DATASET
    bq.ensure_dataset(client, dataset, s.bq_location)
    job = client.load_table_from_json(
        [{"salt": salt}],
        bq.table_id(client.project, dataset, "card_hash_salt"),
        job_config=bigquery.LoadJobConfig(
            schema=[bigquery.SchemaField("salt", "STRING", mode="REQUIRED")],
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        ),
    )
    job.result()


@contextmanager
def dbt_environ(settings: Settings | None = None, extra: dict[str, str] | None = None):
    """Set :func:`dbt_env` (and ``extra``) in ``os.environ`` for the block (dagster-dbt reads
    os.environ)."""
    env = {**dbt_env(settings), **(extra or {})}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _project_files(root: Path) -> list[Path]:
    skip = {"target", "logs", "dbt_packages"}
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not skip.intersection(p.relative_to(root).parts[:1])
    )


def fingerprint(settings: Settings | None = None) -> str:
    """Hash of the project files and of what the manifest depends on (target, raw prefix)."""
    settings = settings or get_settings()
    root = project_dir()
    digest = hashlib.sha256()
    for path in _project_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    for part in (settings.dbt_target, settings.raw_prefix, metadata.version("dbt-core")):
        digest.update(part.encode())
    return digest.hexdigest()


def manifest_path(settings: Settings | None = None) -> Path:
    """Where the manifest of the settings' dbt target is prepared: one per target, so that
    switching between DuckDB and BigQuery does not re-parse the project each time. In a
    checkout under ``dbt/target``; installed from a wheel under ``$ADW_HOME/dbt/target`` (adw
    never writes inside an installed package)."""
    settings = settings or get_settings()
    root = settings.home / "dbt" if paths.PACKAGED else project_dir()
    return root / "target" / settings.dbt_target / "manifest.json"


def ensure_manifest(settings: Settings | None = None, force: bool = False) -> Path:
    """Run ``dbt parse`` if the manifest is missing or stale; return its path."""
    settings = settings or get_settings()
    target = manifest_path(settings).parent
    target.mkdir(parents=True, exist_ok=True)
    private_tree(target.parent)  # dbt/target: manifests and logs, owner only
    stamp = target / MANIFEST_FINGERPRINT
    wanted = fingerprint(settings)
    with open(target / ".adw_parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one parse at a time across processes
        current = json.loads(stamp.read_text()).get("fingerprint") if stamp.exists() else None
        if not force and current == wanted and manifest_path(settings).exists():
            return manifest_path(settings)
        print(f"preparing the dbt manifest (dbt parse, target {settings.dbt_target}) ...",
              file=sys.stderr, flush=True)  # fmt: skip
        run_dbt(["parse", "--quiet"], settings=settings, target_path=target)
        stamp.write_text(json.dumps({"fingerprint": wanted}))
    return manifest_path(settings)


def run_dbt(
    args: list[str],
    *,
    settings: Settings | None = None,
    target_path: Path | None = None,
    capture: bool = True,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run ``dbt <args>`` in the project with :func:`dbt_env`; raise DbtError on failure."""
    settings = settings or get_settings()
    env = {**os.environ, **dbt_env(settings)}
    root = project_dir()
    dbt = dbt_executable(settings)
    command = [dbt, *args, "--project-dir", str(root), "--profiles-dir", str(root)]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
        env["DBT_LOG_PATH"] = str(target_path)
    result = subprocess.run(
        command, cwd=root, env=env, capture_output=capture, text=True, check=False
    )
    if check and result.returncode != 0:
        output = ((result.stdout or "") + (result.stderr or ""))[-4000:]
        hint = ""
        if settings.dbt_target == "prod" and "bigquery" in output.lower():
            hint = " The prod target needs dbt-bigquery: pip install -e '.[bigquery]'."
        raise DbtError(f"dbt {' '.join(args)} failed (exit {result.returncode}).{hint}\n{output}")
    return result


def release_duckdb() -> None:
    """Close the DuckDB handle the in-process dbt adapter keeps (dagster-dbt opens it to fetch
    row counts and column metadata), so this process or another can open the file again.
    dbt-duckdb has no call that does both: close its environment, then its connections."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with contextlib.suppress(Exception):  # env() raises when none was created yet
        DuckDBConnectionManager.env().close()
    DuckDBConnectionManager.close_all_connections()


PARTIAL_PARSE = "partial_parse.msgpack"


def run_target(settings: Settings, name: str) -> Path:
    """A fresh target directory for one dbt invocation, under ``$ADW_HOME/dbt/runs``, primed
    with the partial parse of this home's previous run (dbt re-parses whatever changed)."""
    root = settings.home / "dbt"
    target = root / "runs" / name
    target.mkdir(parents=True, exist_ok=True)
    cached = root / PARTIAL_PARSE
    if cached.exists() and not (target / PARTIAL_PARSE).exists():
        shutil.copyfile(cached, target / PARTIAL_PARSE)
    return target


@contextmanager
def partial_parse_ahead(settings: Settings) -> Iterator[None]:
    """In a home without a partial parse yet (a fresh ``ADW_HOME``), run ``dbt parse`` in the
    background while the block runs (``adw up`` seeds the source meanwhile) and keep its
    partial parse for this home, so the first build parses only what changed, not the whole
    project. dbt checks that file against the profile, the project and the environment, and
    parses everything again if any differs; a failed parse here only leaves that to the build,
    which reports dbt's errors itself."""
    root = settings.home / "dbt"
    if (root / PARTIAL_PARSE).exists():
        yield
        return
    target = run_target(settings, f"parse-{os.getpid()}")

    def parse() -> None:
        with contextlib.suppress(Exception):  # the build parses again and reports dbt's errors
            run_dbt(["parse", "--quiet"], settings=settings, target_path=target, check=False)

    parse = threading.Thread(target=parse, name="adw-dbt-parse", daemon=True)
    parse.start()
    try:
        yield
    finally:
        parse.join()
        finish_run_target(settings, target)


def finish_run_target(settings: Settings, target: Path, keep: int = 10) -> None:
    """Keep the run's partial parse for the next run; delete all but the ``keep`` newest runs
    (each holds a manifest and the compiled SQL, ~10 MB)."""
    root = settings.home / "dbt"
    produced = target / PARTIAL_PARSE
    if produced.exists():
        temporary = root / f".{PARTIAL_PARSE}.{os.getpid()}"
        shutil.copyfile(produced, temporary)
        os.replace(temporary, root / PARTIAL_PARSE)
    runs = sorted((root / "runs").iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)
