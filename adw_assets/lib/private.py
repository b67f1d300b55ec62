"""Local state readable by its user only.

``ADW_HOME`` holds clear card numbers (the replicated ``sales.creditcard`` and its raw history
in the warehouse), web-event payloads and Dagster's run logs, so nothing adw writes there may
follow a user's umask (022 makes every file world-readable). Every entry point (the ``adw``
command, the Dagster code location, the container entrypoint) sets the umask 077, so each file
and folder adw, dbt, DuckDB or Dagster creates is 0600 / 0700; :func:`private_home` makes
``ADW_HOME`` itself 0700 and, once, takes group and other permissions off what an older adw
left there. The dbt target folder beside the project gets the same treatment
(:func:`private_tree`).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from adw_assets.settings import Settings

UMASK = 0o077
"""No permission for group or others on anything created."""
TIGHTENED = ".adw-private"
"""Marker: the files of an older adw under ``ADW_HOME`` were made private (done once)."""


def private_umask() -> None:
    """Every file this process (and its children) creates: owner only."""
    os.umask(UMASK)


def home_mode() -> int:
    """0700; 0711 as root, where the embedded server runs as the OS user ``pgserver``, which
    must pass through ``ADW_HOME`` to reach its data folder (it can list nothing there)."""
    return 0o711 if os.name == "posix" and os.geteuid() == 0 else 0o700


def private_home(settings: Settings) -> Path:
    """Create ``ADW_HOME`` private, make an existing one private again (the embedded server
    opens it up as root), and once make private what an older adw wrote there."""
    home = settings.home
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    marker = home / TIGHTENED
    if not marker.exists():
        private_tree(home, skip={settings.pgdata})  # initdb made the data folder 0700
        marker.touch(mode=0o600)
    if stat.S_IMODE(home.stat().st_mode) != home_mode():
        home.chmod(home_mode())
    return home


def private_tree(root: Path, skip: set[Path] = frozenset()) -> None:
    """Take group and other permissions off ``root`` and everything under it (not following
    symbolic links; ``skip`` folders are left alone)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) not in skip]
        for name in [*dirs, *files]:
            _owner_only(Path(folder, name))
    _owner_only(root)


def _owner_only(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:  # removed meanwhile (a run finishing)
        return
    if stat.S_ISLNK(mode) or stat.S_ISSOCK(mode) or not mode & 0o077:
        return
    with contextlib.suppress(PermissionError):  # another user's file: not ours to change
        path.chmod(stat.S_IMODE(mode) & ~0o077)
