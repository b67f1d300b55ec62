"""``adw replicate``: not yet built (placeholder registered by the CLI)."""

from __future__ import annotations

import click


@click.command(name="replicate", hidden=True)
def command() -> None:
    """Not yet available."""
    raise click.UsageError("adw replicate is not built yet")
