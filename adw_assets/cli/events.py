"""``adw events``: not yet built (placeholder registered by the CLI)."""

from __future__ import annotations

import click


@click.command(name="events", hidden=True)
def command() -> None:
    """Not yet available."""
    raise click.UsageError("adw events is not built yet")
