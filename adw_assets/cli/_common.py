"""Small helpers shared by the CLI modules."""

from __future__ import annotations

import time
from contextlib import contextmanager

import click


@contextmanager
def step(title: str):
    """Print ``title ...`` and, when the block ends, how long it took."""
    click.echo(f"{title} ...", err=True)
    start = time.perf_counter()
    yield
    click.echo(f"{title}: done in {time.perf_counter() - start:.1f} s", err=True)


def echo_table(rows: list[tuple], headers: tuple[str, ...], indent: str = "") -> None:
    """A plain aligned text table on stdout."""
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        click.echo(
            indent
            + "  ".join(
                c.rjust(w) if c[:1].isdigit() or c.startswith(("$", "-$")) else c.ljust(w)
                for c, w in zip(r, widths, strict=True)
            ).rstrip()
        )
        if n == 0:
            click.echo(indent + "  ".join("-" * w for w in widths))


scale_option = click.option(
    "--scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Scale of the synthetic data: 1.0 is about the real AdventureWorks row counts.",
)
seed_option = click.option(
    "--seed",
    "seed_",
    type=int,
    default=42,
    show_default=True,
    help="Random seed of the synthetic data; the same seed gives the same data.",
)


def print_answers() -> None:
    """The five answers, from the dashboard snapshot (what the dashboard shows)."""
    from adw_assets.lib.answers import answers
    from adw_assets.lib.serving import Snapshot, serving_dir

    snapshot = Snapshot(serving_dir())
    snapshot.refresh()
    for n, answer in enumerate(answers(snapshot), 1):
        click.echo(f"\n{n}. {answer.title}")
        echo_table(answer.rows, answer.headers, indent="   ")
        if answer.note:
            click.echo(f"   {answer.note}")
