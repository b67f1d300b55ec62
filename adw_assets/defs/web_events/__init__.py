"""Domain ``web_events``: the accepted web events, their checks, the new-batch sensor, the
retention of the dead letters (a job and its daily schedule) and the compaction of the landing
zone (a job and its hourly schedule).

The dbt web models (dbt/models/*/web) are assets of the ``dbt`` domain, in this group; their
source ``web.events`` resolves to the asset defined here.
"""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.web_events.assets import web_events_spec
from adw_assets.defs.web_events.checks import (
    compacted_events_match_their_micro_batches,
    dead_letter_ratio_below_threshold,
)
from adw_assets.defs.web_events.jobs import dead_letter_retention_job, landing_compaction_job
from adw_assets.defs.web_events.schedules import (
    dead_letter_retention_schedule,
    landing_compaction_schedule,
)
from adw_assets.defs.web_events.sensors import web_events_landed_sensor
from adw_assets.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[web_events_spec(settings)],
        asset_checks=[
            dead_letter_ratio_below_threshold,
            compacted_events_match_their_micro_batches,
        ],
        sensors=[web_events_landed_sensor],
        jobs=[dead_letter_retention_job, landing_compaction_job],
        schedules=[dead_letter_retention_schedule, landing_compaction_schedule],
    )
