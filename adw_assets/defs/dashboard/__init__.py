"""Domain ``dashboard``: what the local dashboard reads."""

import dagster as dg

defs = dg.Definitions()
