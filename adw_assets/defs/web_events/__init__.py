"""Domain ``web_events``."""

import dagster as dg

defs = dg.Definitions()
