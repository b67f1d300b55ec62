"""When the dead-letter retention runs: daily, on by default (nothing else deletes them)."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.web_events.jobs import dead_letter_retention_job

dead_letter_retention_schedule = dg.ScheduleDefinition(
    name="dead_letter_retention_schedule",
    job=dead_letter_retention_job,
    cron_schedule="17 3 * * *",
    execution_timezone="Etc/UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: delete the dead letters older than ADW_EVENTS_DEAD_LETTER_RETENTION_DAYS. "
    "Running by default; Kestra does not own this job.",
)
