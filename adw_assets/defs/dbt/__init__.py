"""Domain ``dbt``: the dbt project (``dbt/``) as assets; tests as asset checks."""

import dagster as dg

from adw_assets.defs.dbt.assets import adw_dbt_models
from adw_assets.defs.dbt.resources import dbt_resource

defs = dg.Definitions(assets=[adw_dbt_models], resources={"dbt": dbt_resource})
