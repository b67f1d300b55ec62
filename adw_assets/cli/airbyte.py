"""``adw airbyte``: not yet built (placeholder registered by the CLI)."""

from __future__ import annotations

import click


@click.command(name="airbyte", hidden=True)
def command() -> None:
    """Not yet available."""
    raise click.UsageError("adw airbyte is not built yet")
