"""Domain ``web_events``: the landing zone asset, its checks and the new-batch sensor.

The dbt web models (dbt/models/*/web) are assets of the ``dbt`` domain; their source
``web.events`` resolves to the landing-zone asset defined here.
"""

import dagster as dg

from adw_assets.defs.web_events.assets import web_events_spec
from adw_assets.defs.web_events.checks import dead_letter_ratio_below_threshold
from adw_assets.defs.web_events.sensors import web_events_landed_sensor
from adw_assets.settings import get_settings

if get_settings().warehouse == "bigquery":  # issue 7 hook: web/events is a BigQuery table
    from adw_assets.defs.web_events.bigquery import bigquery_web_events_defs

    defs = bigquery_web_events_defs()
else:
    defs = dg.Definitions(
        assets=[web_events_spec()],
        asset_checks=[dead_letter_ratio_below_threshold],
        sensors=[web_events_landed_sensor],
    )
