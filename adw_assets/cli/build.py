"""``adw build``: not yet built (placeholder registered by the CLI)."""

from __future__ import annotations

import click


@click.command(name="build", hidden=True)
def command() -> None:
    """Not yet available."""
    raise click.UsageError("adw build is not built yet")
