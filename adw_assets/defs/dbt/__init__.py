"""Domain ``dbt``."""

import dagster as dg

defs = dg.Definitions()
