"""The ``adw`` command line. Each command group lives in its own module of this package."""

from __future__ import annotations

import logging
import os
import sys
import traceback
import warnings

import click

from adw_assets.errors import AdwError
from adw_assets.lib.private import private_umask
from adw_assets.lib.secrets import redacting_output

# No telemetry, no network: adw runs offline.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

QUIET_WARNINGS = "ignore:XDG_RUNTIME_DIR is not set"
"""Warnings no user can act on, as a ``-W`` filter (also for the Dagster processes adw starts):
pgserver asks platformdirs for a runtime directory on import, which warns when no login session
set XDG_RUNTIME_DIR (root, CI, containers) and then uses the right fallback anyway."""
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="adw", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def cli(verbose: bool) -> None:
    """adw: AdventureWorks analytics, from PostgreSQL to dashboard, on a laptop or in the cloud."""
    private_umask()  # every file adw and its children write is private (not on import: a
    # program that imports adw_assets.cli keeps its own umask)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    from adw_assets.cli import (
        airbyte,
        build,
        dashboard,
        dev,
        events,
        launch,
        metrics,
        replicate,
        source,
        up,
    )

    cli.add_command(source.source)
    cli.add_command(up.up)
    cli.add_command(dev.dev)
    # each module below exposes `command` (a click command or group) named after itself
    for module in (replicate, build, events, airbyte, launch, dashboard, metrics):
        cli.add_command(module.command)


_register()


def main(argv: list[str] | None = None) -> None:
    # everything the command prints goes through the one redaction (lib/secrets.py): a
    # password or the salt never reaches the terminal, a log file or a CI log
    with redacting_output():
        _main(argv)


def _main(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="adw", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AdwError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: its traceback (masked like everything else), then a line
        traceback.print_exc()
        click.secho(f"error: unexpected {type(exc).__name__}: {exc}", fg="red", err=True)
        sys.exit(1)
