"""Checks of the web events. event_id unique in fct_web_events is the dbt test
``unique_fct_web_events_event_id`` (an asset check through dagster-dbt)."""

import dagster as dg

from adw_assets.defs.warehouse.resources import WarehouseResource
from adw_assets.defs.web_events.assets import WEB_EVENTS_KEY
from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.status import landing_status

DEAD_LETTER_CHECK = "dead_letter_ratio_below_threshold"


@dg.asset_check(
    asset=WEB_EVENTS_KEY,
    name=DEAD_LETTER_CHECK,
    description="Rejected events / all events received stays at or below "
    "ADW_EVENTS_MAX_DEAD_LETTER_RATIO (default 0.05). Accepted events are counted where the "
    "warehouse keeps them (landing zone files, BigQuery table metadata), rejected ones in the "
    "local dead-letter store; the warehouse itself is not queried.",
)
def dead_letter_ratio_below_threshold(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    cfg = events_config()
    accepted = warehouse.web_events().accepted_events()
    dead = landing_status(cfg)
    total = accepted + dead.dead_letters
    ratio = dead.dead_letters / total if total else 0.0
    return dg.AssetCheckResult(
        passed=ratio <= cfg.max_dead_letter_ratio,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"dead-letter ratio {ratio:.4f} (threshold {cfg.max_dead_letter_ratio})",
        metadata={
            "dead_letter_ratio": ratio,
            "threshold": cfg.max_dead_letter_ratio,
            "accepted_events": accepted,
            "dead_letters": dead.dead_letters,
            "dead_letters_by_reason": dg.MetadataValue.json(dead.dead_by_reason),
        },
    )


COMPACTION_CHECK = "compacted_events_match_their_micro_batches"


def compaction_evaluation() -> dg.AssetCheckEvaluation:
    from adw_assets.lib.events.compact import verify_retained

    results = verify_retained(events_config())
    bad = [r for r in results if r["differing_rows"] or r["micro_batch_events"] != r[
        "compacted_events"]]  # fmt: skip
    return dg.AssetCheckEvaluation(
        asset_key=WEB_EVENTS_KEY,
        check_name=COMPACTION_CHECK,
        passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{len(results)} retained compactions compared, {len(bad)} differ",
        metadata={
            "compactions": len(results),
            "differing": dg.MetadataValue.json(bad),
            "events": sum(r["compacted_events"] for r in results),
        },
    )


@dg.asset_check(
    asset=WEB_EVENTS_KEY,
    name=COMPACTION_CHECK,
    description="Each compaction still retained (ADW_EVENTS_COMPACTED_RETENTION_HOURS) holds "
    "exactly the events of the micro-batches it replaced: same count, and no (event_id, batch) "
    "row missing or extra. landing_compaction_job runs it after each compaction.",
)
def compacted_events_match_their_micro_batches() -> dg.AssetCheckResult:
    evaluation = compaction_evaluation()
    return dg.AssetCheckResult(
        passed=evaluation.passed,
        severity=evaluation.severity,
        description=evaluation.description,
        metadata=evaluation.metadata,
    )
