"""Private files: everything adw writes under ADW_HOME and in the dbt target folder is readable
by its user only, whatever the umask of the shell that started adw.

`adw up` on a fresh ADW_HOME (the embedded PostgreSQL, seeding, web events, replication, dbt,
the dashboard snapshot, Dagster's SQLite storage and compute logs), then a stream with
malformed events (dead letters), all started with umask 022 as a user's shell has it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from adw_assets.lib.dbt import manifest_path
from adw_assets.settings import Settings
from tests.conftest import SHELL_UMASK

ADW = Path(sys.executable).with_name("adw")


def _adw(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(ADW), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        umask=SHELL_UMASK,
    )
    assert done.returncode == 0, f"adw {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def used_home() -> Iterator[Path]:
    """A fresh ADW_HOME after `adw up` and a stream with dead letters, server stopped."""
    home = Path(tempfile.mkdtemp(prefix="adw-modes-")) / "adw"  # adw creates it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "DAGSTER_HOME"))}
    env["ADW_HOME"] = str(home)
    # the dbt target folder as an older adw (or dbt run by hand) under umask 022 left it
    target = manifest_path(Settings.from_env(env)).parent.parent
    target.mkdir(exist_ok=True)
    for path in [target, *target.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o044 | (0o011 if path.is_dir() else 0))
    try:
        _adw(env, "up", "--scale", "0.01", "--events", "300")
        _adw(env, "events", "stream", "-n", "300", "--rate", "0", "--bad-ratio", "0.2", "-q")
    finally:
        subprocess.run([str(ADW), "source", "stop"], env=env, capture_output=True, timeout=120)
    yield home
    shutil.rmtree(home.parent, ignore_errors=True)


def _exposed(root: Path) -> list[str]:
    """Files and folders under ``root`` (itself included) that group or others may read or
    write, as ``mode path`` lines. Sockets are skipped: their folder guards them."""
    found = []
    for folder, _dirs, files in os.walk(root):
        for path in [Path(folder), *(Path(folder, name) for name in files)]:
            mode = path.lstat().st_mode
            if stat.S_ISSOCK(mode) or stat.S_ISLNK(mode):
                continue
            if mode & 0o066:
                found.append(f"{stat.filemode(mode)} {path}")
    return sorted(set(found))


@pytest.mark.slow  # after a whole `adw up` and a stream (the used_home fixture)
def test_nothing_under_adw_home_is_readable_by_others(used_home):
    home_mode = stat.S_IMODE(used_home.stat().st_mode)
    # as root the embedded server runs as the OS user pgserver, which must pass through
    assert home_mode == (0o711 if os.geteuid() == 0 else 0o700), oct(home_mode)
    for what in (
        "warehouse.duckdb",
        "events/landing",
        "events/dead_letter",
        "serving",
        "dbt/runs",
        "dagster/history/runs.db",
        "dagster/storage",
        "postgres/PG_VERSION",
    ):
        assert (used_home / what).exists(), f"{what} missing: the test would prove nothing"
    assert any((used_home / "events" / "dead_letter").iterdir())
    exposed = [line for line in _exposed(used_home) if not line.endswith(str(used_home))]
    assert exposed == [], "\n".join(exposed)


@pytest.mark.slow  # after a whole `adw up` and a stream (the used_home fixture)
def test_the_dbt_target_folder_is_private(used_home):
    target = manifest_path(Settings.from_env({"ADW_HOME": str(used_home)})).parent
    assert (target / "manifest.json").exists()
    exposed = _exposed(target.parent)
    assert exposed == [], "\n".join(exposed)


def test_an_older_home_is_made_private_once(tmp_path):
    """What an older adw left with the shell's umask is made private when a command sets up
    ADW_HOME (`Settings.ensure_dirs`: up, replicate, build, dev, dashboard), once."""
    home = tmp_path / "old"
    (home / "events" / "dead_letter").mkdir(parents=True, mode=0o755)
    old = home / "warehouse.duckdb"
    old.write_bytes(b"")
    old.chmod(0o644)
    (home / "events" / "dead_letter" / "x.jsonl").write_text("{}\n")
    (home / "events" / "dead_letter" / "x.jsonl").chmod(0o664)
    home.chmod(0o755)
    Settings.from_env({"ADW_HOME": str(home)}).ensure_dirs()
    assert [line for line in _exposed(home) if not line.endswith(str(home))] == []
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) in (0o700, 0o711)
    old.chmod(0o644)  # done once: a file the user opens up later is theirs to decide
    Settings.from_env({"ADW_HOME": str(home)}).ensure_dirs()
    assert stat.S_IMODE(old.stat().st_mode) == 0o644


def test_importing_the_cli_leaves_the_importers_umask():
    """Only running a command makes files private: a program (or a test session) that imports
    ``adw_assets.cli`` keeps its umask. Set on import, it leaked 077 into a whole test session
    and a venv created later was unreadable to the embedded server's OS user (initdb exit 127)."""
    code = (
        "import os; os.umask(0o022); import adw_assets.cli; "
        "from click.testing import CliRunner; "
        "before = os.umask(0o022); os.umask(before); "
        "CliRunner().invoke(adw_assets.cli.cli, ['source', '--help']); "
        "print(oct(before), oct(os.umask(0)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0o22", "0o77"]
