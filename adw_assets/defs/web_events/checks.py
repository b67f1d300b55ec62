"""Checks of the web events. event_id unique in fct_web_events is the dbt test
``unique_fct_web_events_event_id`` (an asset check through dagster-dbt)."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.web_events.assets import WEB_EVENTS_KEY
from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.status import LandingStatus, landing_status

DEAD_LETTER_CHECK = "dead_letter_ratio_below_threshold"


@dg.asset_check(
    asset=WEB_EVENTS_KEY,
    name=DEAD_LETTER_CHECK,
    description="Rejected events / all events received stays at or below "
    "ADW_EVENTS_MAX_DEAD_LETTER_RATIO (default 0.05). Reads the landing zone only.",
)
def dead_letter_ratio_below_threshold() -> dg.AssetCheckResult:
    cfg = events_config()
    status = landing_status(cfg)
    return dead_letter_result(status.events, status, cfg.max_dead_letter_ratio)


def dead_letter_result(
    accepted: int, status: LandingStatus, threshold: float
) -> dg.AssetCheckResult:
    """The check's result from the accepted events (counted where they are stored) and the
    local dead-letter store (``status``), for any warehouse."""
    total = accepted + status.dead_letters
    ratio = status.dead_letters / total if total else 0.0
    return dg.AssetCheckResult(
        passed=ratio <= threshold,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"dead-letter ratio {ratio:.4f} (threshold {threshold})",
        metadata={
            "dead_letter_ratio": ratio,
            "threshold": threshold,
            "accepted_events": accepted,
            "dead_letters": status.dead_letters,
            "dead_letters_by_reason": dg.MetadataValue.json(status.dead_by_reason),
        },
    )
