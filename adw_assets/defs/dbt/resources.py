"""The dbt project and the dbt CLI resource; the manifest is prepared on import if stale."""

from __future__ import annotations

from dagster_dbt import DbtCliResource, DbtProject

from adw_assets.lib.dbt import dbt_executable, ensure_manifest, project_dir

dbt_project = DbtProject(project_dir=project_dir(), profiles_dir=project_dir())
# DbtProject.prepare_if_dev() only acts under `dagster dev`; parse whenever the manifest is
# missing or older than the project (tests, adw, CI, `dagster definitions validate`).
manifest_path = ensure_manifest()

dbt_resource = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
