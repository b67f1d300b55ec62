"""The lock files in requirements/: every environment the project creates installs from one.

    python .ci/lock.py            # `make lock`: write them from pyproject.toml
    python .ci/lock.py --check    # CI: fail when pyproject.toml and a lock disagree

requirements/<lock>.txt   the environment                   from pyproject.toml
dev                       .venv (`make install`)            dependencies, extra dev, build-system
app                       the image (Dockerfile)            dependencies, build-system
app-bigquery              the image, ADW_IMAGE_EXTRAS=bigquery   the same and extra bigquery
bigquery-emulator         .venv-bq (.ci/bigquery-env.sh)    group bigquery-emulator
bench                     .venv-bench (bench/replication.py)     group bench

uv pip compile resolves for every platform, from Python 3.11, with hashes, and only from what
PyPI held at ``EXCLUDE_NEWER``; it keeps the versions already pinned in a lock unless a
requirement changed. So the same pyproject.toml always gives the same locks. To take newer
releases, move ``EXCLUDE_NEWER`` forward and run ``make lock`` (a pinned version stays until a
requirement excludes it: delete requirements/ first to re-resolve everything). ``--check``
resolves into a copy of each lock and compares. The build-system requirements (setuptools) are
locked with the app, so the package itself installs without build isolation.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK_DIR = ROOT / "requirements"
EXCLUDE_NEWER = "2026-12-06T00:00:00Z"
RESOLUTION = ["--universal", "--python-version", "3.11", "--generate-hashes",
              "--exclude-newer", EXCLUDE_NEWER]  # fmt: skip
# lock name -> (extras, dependency group, with the project's dependencies and build-system)
LOCKS: dict[str, tuple[list[str], str | None]] = {
    "dev": (["dev"], None),
    "app": ([], None),
    "app-bigquery": (["bigquery"], None),
    "bigquery-emulator": ([], "bigquery-emulator"),
    "bench": ([], "bench"),
}


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        sys.exit("uv is not installed: run `make install` (uv is in the dev extra).")
    return found


def compile_lock(name: str, output: Path) -> None:
    extras, group = LOCKS[name]
    command = [uv(), "pip", "compile", "--quiet", "--custom-compile-command", "make lock"]
    command += [*RESOLUTION, "--output-file", str(output)]
    stdin = None
    if group is None:
        build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
        command += ["pyproject.toml", "-"]  # `-`: the build-system requirements, on stdin
        stdin = "\n".join(build) + "\n"
        for extra in extras:
            command += ["--extra", extra]
    else:
        command += ["--group", group]
    result = subprocess.run(command, cwd=ROOT, input=stdin, text=True, capture_output=True)
    if result.returncode != 0:
        sys.exit(f"uv pip compile ({name}) failed:\n{result.stderr.strip()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    LOCK_DIR.mkdir(exist_ok=True)
    stale = []
    for name in LOCKS:
        lock = LOCK_DIR / f"{name}.txt"
        if not args.check:
            compile_lock(name, lock)
            print(f"wrote {lock.relative_to(ROOT)}")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / lock.name
            if lock.exists():
                shutil.copyfile(lock, fresh)  # the pinned versions are uv's preferences
            compile_lock(name, fresh)
            before = lock.read_text().splitlines() if lock.exists() else []
            after = fresh.read_text().splitlines()
        if before != after:
            diff = difflib.unified_diff(before, after, str(lock), "resolved", n=0, lineterm="")
            stale.append("\n".join(list(diff)[:40]))
    if stale:
        print("\n".join(stale), file=sys.stderr)
        print(
            "the locks in requirements/ do not match pyproject.toml: run `make lock` and commit "
            "requirements/",
            file=sys.stderr,
        )
        return 1
    if args.check:
        print(f"{len(LOCKS)} locks match pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
