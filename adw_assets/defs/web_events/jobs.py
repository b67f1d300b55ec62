"""The retention of the dead letters: a job that deletes the expired dead-letter files."""

import dagster as dg

from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.dead_letters import expire_dead_letters

RETENTION_JOB = "dead_letter_retention_job"


@dg.op(
    description="Delete the dead-letter files of the days older than "
    "ADW_EVENTS_DEAD_LETTER_RETENTION_DAYS (default 7), whole files only. Dead letters are "
    "local files ($ADW_HOME/events/dead_letter) with either warehouse."
)
def expire_dead_letter_files(context: dg.OpExecutionContext) -> dg.Output[None]:
    cfg = events_config()
    expired = expire_dead_letters(cfg)
    context.log.info(
        f"deleted {len(expired.files)} dead-letter files of {len(expired.days)} days older than "
        f"{cfg.dead_letter_retention_days} days; {expired.kept_days} days kept"
    )
    return dg.Output(
        None,
        metadata={
            "deleted_files": len(expired.files),
            "deleted_days": dg.MetadataValue.json(expired.days),
            "kept_days": expired.kept_days,
            "retention_days": cfg.dead_letter_retention_days,
        },
    )


@dg.job(
    name=RETENTION_JOB,
    description="Enforce the retention of the web-event dead letters "
    "(ADW_EVENTS_DEAD_LETTER_RETENTION_DAYS). Owner: dead_letter_retention_schedule.",
)
def dead_letter_retention_job() -> None:
    expire_dead_letter_files()
