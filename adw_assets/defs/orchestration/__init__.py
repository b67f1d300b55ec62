"""Domain ``orchestration``."""

import dagster as dg

defs = dg.Definitions()
