"""Where the folders adw ships beside its package are, in a checkout or installed from a wheel.

In a checkout (and its editable install) the dbt project and the dashboard sit at the
repository's top level, beside ``adw_assets/``: ``dbt/``, ``dashboard/``. The wheel carries
them inside the package, as ``adw_assets/dbt_project`` and ``adw_assets/dashboard`` (setup.py
maps them), and there is no checkout. Everything else finds them here.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PACKAGED = (PACKAGE_DIR / "dbt_project" / "dbt_project.yml").is_file()
"""True when adw runs from an installed wheel (the dbt project inside the package)."""

REPO_ROOT: Path | None = None if PACKAGED else PACKAGE_DIR.parent
"""The checkout adw runs from (``workspace.yaml``, ``compose.yaml``, ``README.md``), if any."""

DBT_PROJECT_DIR = PACKAGE_DIR / "dbt_project" if PACKAGED else PACKAGE_DIR.parent / "dbt"
DASHBOARD_DIR = PACKAGE_DIR / "dashboard" if PACKAGED else PACKAGE_DIR.parent / "dashboard"
