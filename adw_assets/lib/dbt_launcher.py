"""``adw-dbt``: the dbt command adw's Dagster definitions run (the dbt installed with adw).

dagster-dbt asks its dbt ``--version`` before every build (to tell dbt Core from dbt Fusion);
dbt imports all of itself to answer, 2-4 s of CPU per ``adw build``. This answers from the
installed dbt-core's metadata, which is the version of the dbt it runs, and hands anything else
to that dbt (``exec``: no second Python process). Plain Python, no import of adw or dbt.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path


def main() -> None:
    args = sys.argv[1:]
    if args == ["--version"]:
        print(f"Core:\n  - installed: {metadata.version('dbt-core')}")
        return
    dbt = Path(sys.executable).with_name("dbt")
    os.execv(dbt, [str(dbt), *args])


if __name__ == "__main__":
    main()
