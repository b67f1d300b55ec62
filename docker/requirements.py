"""Print the dependencies declared in pyproject.toml, one per line, for the image's dependency
layer (installed before the code is copied, so a code change reuses the cached layer).

    python3 docker/requirements.py pyproject.toml [EXTRA ...]

Extras named but not declared are reported on stderr and skipped.
"""

from __future__ import annotations

import sys
import tomllib


def requirements(pyproject: str, extras: list[str]) -> list[str]:
    with open(pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    deps = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra in optional:
            deps.extend(optional[extra])
        else:
            print(f"requirements.py: no extra {extra!r} in {pyproject}; skipped", file=sys.stderr)
    return deps


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1], [e for e in sys.argv[2:] if e])))
