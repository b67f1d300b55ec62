"""Domain ``orchestration``: jobs, and schedules for deployments without Kestra."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.orchestration.jobs import jobs
from adw_assets.defs.orchestration.schedules import schedules
from adw_assets.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(jobs=jobs, schedules=schedules)
