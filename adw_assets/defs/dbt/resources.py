"""The dbt project and the dbt CLI resource."""

from __future__ import annotations

from dagster_dbt import DbtCliResource, DbtProject

from adw_assets.lib.dbt import dagster_dbt_executable, project_dir
from adw_assets.settings import Settings

RESOURCE_KEY = "dbt"

dbt_project = DbtProject(project_dir=project_dir(), profiles_dir=project_dir())


def dbt_resource(settings: Settings) -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dagster_dbt_executable(settings))
