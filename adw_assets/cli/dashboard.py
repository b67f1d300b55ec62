"""``adw dashboard``: not yet built (placeholder registered by the CLI)."""

from __future__ import annotations

import click


@click.command(name="dashboard", hidden=True)
def command() -> None:
    """Not yet available."""
    raise click.UsageError("adw dashboard is not built yet")
