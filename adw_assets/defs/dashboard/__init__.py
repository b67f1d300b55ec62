"""Domain ``dashboard``: the snapshot of the marts that the local dashboard reads."""

import dagster as dg

from adw_assets.defs.dashboard.assets import dashboard_snapshot

defs = dg.Definitions(assets=[dashboard_snapshot])
