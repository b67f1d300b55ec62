"""Domain ``replication``."""

import dagster as dg

defs = dg.Definitions()
