"""Dagster schedules for users who run adw without Kestra.

Kestra owns these jobs in production (kestra_flows/), so every schedule here is STOPPED by
default; turn one on in the UI (or `dagster schedule start`) only where Kestra does not run.
"""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.orchestration.jobs import elt_job, full_refresh_job, web_events_job

elt_schedule = dg.ScheduleDefinition(
    name="elt_schedule",
    job=elt_job,
    cron_schedule="5 * * * *",
    execution_timezone="Etc/UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Hourly ELT, for deployments without Kestra (Kestra: adw_elt_hourly).",
)

web_events_schedule = dg.ScheduleDefinition(
    name="web_events_schedule",
    job=web_events_job,
    cron_schedule="*/5 * * * *",
    execution_timezone="Etc/UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Web-event models every 5 minutes without Kestra (Kestra: adw_web_events_refresh).",
)

full_refresh_schedule = dg.ScheduleDefinition(
    name="full_refresh_schedule",
    job=full_refresh_job,
    cron_schedule="30 2 * * *",
    execution_timezone="Europe/Paris",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly full refresh, without Kestra (Kestra: adw_full_refresh_nightly).",
)

schedules = [elt_schedule, web_events_schedule, full_refresh_schedule]
