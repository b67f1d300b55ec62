"""What goes into the adw wheel; the rest of the project's metadata is in pyproject.toml.

The dbt project and the dashboard stay at the repository's top level (``dbt/``, ``dashboard/``)
and ship inside the package, as ``adw_assets/dbt_project`` and ``adw_assets/dashboard``, so that
``pip install adw-*.whl`` (not editable) runs ``adw up`` anywhere; ``adw_assets.lib.paths`` finds
them in either layout. pyproject.toml alone cannot map folders from outside the package into it
next to a discovered package list: hence this file. Every folder is listed as a package
(setuptools ships files per package); dbt's build output and caches never are.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

SHIPPED = {"adw_assets.dbt_project": "dbt", "adw_assets.dashboard": "dashboard"}
NEVER = {"target", "logs", "dbt_packages", "__pycache__"}


def folders(package: str, root: str) -> list[str]:
    """``package`` and one package per folder below ``root`` (hidden ones are data of theirs)."""
    found = [package]
    for path in sorted(Path(root).rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_dir() and not NEVER & set(parts) and not any(p.startswith(".") for p in parts):
            found.append(".".join([package, *parts]))
    return found


own = find_namespace_packages(include=["adw_assets", "adw_assets.*"], exclude=["*__pycache__"])
shipped = [sub for package, root in SHIPPED.items() for sub in folders(package, root)]

setup(
    packages=own + shipped,
    package_dir=SHIPPED,
    package_data={
        "adw_assets": ["**/*.sql", "**/*.json", "**/*.yaml"],
        "adw_assets.lib.source.data": ["*"],
        "adw_assets.dashboard": [".streamlit/*"],
        **{package: ["*"] for package in shipped},
    },
)
