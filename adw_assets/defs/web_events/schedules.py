"""When the dead-letter retention (daily) and the landing-zone compaction (hourly) run: on by
default (nothing else deletes dead letters or compacts the landing zone)."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.web_events.jobs import dead_letter_retention_job, landing_compaction_job

dead_letter_retention_schedule = dg.ScheduleDefinition(
    name="dead_letter_retention_schedule",
    job=dead_letter_retention_job,
    cron_schedule="17 3 * * *",
    execution_timezone="Etc/UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: delete the dead letters older than ADW_EVENTS_DEAD_LETTER_RETENTION_DAYS. "
    "Running by default; Kestra does not own this job.",
)

landing_compaction_schedule = dg.ScheduleDefinition(
    name="landing_compaction_schedule",
    job=landing_compaction_job,
    cron_schedule="11 * * * *",
    execution_timezone="Etc/UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: compact the closed hours of the landing zone (a no-op with BigQuery, "
    "whose events are not in a landing zone). Running by default; Kestra does not own this job.",
)
