"""The retention of the dead letters (a job that deletes the expired dead-letter files) and the
compaction of the landing zone (a job whose op verifies what it did)."""

import dagster as dg

from adw_assets.defs.web_events.checks import compaction_evaluation
from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.dead_letters import expire_dead_letters

RETENTION_JOB = "dead_letter_retention_job"
COMPACTION_JOB = "landing_compaction_job"


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


@dg.op(
    pool="warehouse",  # never while a dbt build Dagster runs reads the landing zone
    description="Compact each closed hour of the web-event landing zone into one Parquet file "
    "(atomic directory exchange), then delete the replaced micro-batches older than "
    "ADW_EVENTS_COMPACTED_RETENTION_HOURS; fails when a compaction's events differ.",
)
def compact_landing_zone(context: dg.OpExecutionContext) -> dg.Output[None]:
    from adw_assets.lib.events.compact import compact

    summary = compact(events_config(), progress=context.log.info)
    context.log.info(summary.line())
    evaluation = compaction_evaluation()
    context.log_event(evaluation)
    if not evaluation.passed:
        raise dg.Failure(description=f"compacted events differ: {evaluation.description}")
    return dg.Output(None, metadata=summary.as_dict())


@dg.job(
    name=COMPACTION_JOB,
    description="Compact the web-event landing zone (closed hours -> one file each) and apply "
    "the retention of the replaced micro-batches. Owner: landing_compaction_schedule.",
)
def landing_compaction_job() -> None:
    compact_landing_zone()
