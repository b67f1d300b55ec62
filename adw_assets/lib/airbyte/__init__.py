"""Airbyte, the production replication backend: settings, the cached connection snapshot
(stream specs), the translation to adw's asset keys, and the sync-and-poll loop.

Plain Python on top of dagster-airbyte's API client; the Dagster wiring is in
``adw_assets/defs/replication/airbyte.py``.
"""
