"""Domain ``orchestration``: jobs, and schedules for deployments without Kestra."""

import dagster as dg

from adw_assets.defs.orchestration.jobs import jobs
from adw_assets.defs.orchestration.schedules import schedules

defs = dg.Definitions(jobs=jobs, schedules=schedules)
